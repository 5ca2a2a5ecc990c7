//! The classic group coordinator: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and the
//! offsets, with the transitions of Apache Kafka's `GroupMetadataManager` (classic part).
//!
//! The point of it is what librdkafka's mock cluster does differently: a rebalance here
//! completes as soon as every known member has rejoined (the mock waits
//! `session.timeout.ms − 1 s` whatever happens); a commit from the current generation is
//! accepted while a rebalance is being prepared (the mock refuses it); static members keep
//! their partitions across a restart and a duplicate `group.instance.id` is fenced (the
//! mock ignores `group.instance.id` in the classic protocol).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::classic::{
    Committed, Group, GroupState, InitialDelay, Member, Rebalance, UNKNOWN_GROUP_STATE,
};
use super::events::{self, GroupEvent, Happened};
use super::messages::error::*;
use super::messages::*;

/// What the coordinator answers now, or once the group gets there.
pub enum Reply<T> {
    /// The answer.
    Now(T),
    /// The answer, when the rebalance completes.
    Later(oneshot::Receiver<T>),
}

/// The broker settings the coordinator follows (Kafka's names and defaults, except where
/// the embedded broker chooses otherwise).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `group.initial.rebalance.delay.ms` (Kafka: 3000).
    pub initial_rebalance_delay: Duration,
    /// `group.min.session.timeout.ms` (Kafka: 6000).
    pub min_session_timeout: Duration,
    /// `group.max.session.timeout.ms` (Kafka: 1800000).
    pub max_session_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            initial_rebalance_delay: Duration::from_millis(3000),
            min_session_timeout: Duration::from_millis(6000),
            max_session_timeout: Duration::from_millis(1_800_000),
        }
    }
}

/// Every classic group on the broker.
pub struct Groups {
    /// The broker's settings.
    pub settings: Settings,
    groups: BTreeMap<String, Group>,
    next_id: u64,
    /// Events of groups that are gone (deleted), not yet published.
    outbox: Vec<GroupEvent>,
}

impl Groups {
    /// No groups yet.
    pub fn new(settings: Settings) -> Groups {
        Groups {
            settings,
            groups: BTreeMap::new(),
            next_id: seed(),
            outbox: Vec::new(),
        }
    }

    /// What happened to the groups since the last call, in order within each group.
    pub fn take_events(&mut self) -> Vec<GroupEvent> {
        let at_millis = events::now_millis();
        let mut taken = Vec::new();
        for group in self.groups.values_mut() {
            taken.extend(group.outbox.drain(..).map(|what| GroupEvent {
                group: group.id.clone(),
                at_millis,
                what,
            }));
        }
        taken.append(&mut self.outbox);
        taken
    }

    /// A new member id, `client.id-<uuid>` as Kafka makes them.
    fn new_member_id(&mut self, client_id: &str) -> String {
        // splitmix64: ids only need to be unique and unguessable enough for a lab.
        let mut next = || {
            self.next_id = self.next_id.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.next_id;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let (a, b) = (next(), next());
        format!(
            "{client_id}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    /// JoinGroup.
    pub fn join(
        &mut self,
        request: JoinRequest,
        client: &Client,
        now: Instant,
    ) -> Reply<JoinResponse> {
        self.tick(now);
        let fail = |error| Reply::Now(JoinResponse::error(error, &request.member_id));
        if request.group_id.is_empty() {
            return fail(INVALID_GROUP_ID);
        }
        let session = Duration::from_millis(request.session_timeout_ms.max(0) as u64);
        if request.session_timeout_ms < 0
            || session < self.settings.min_session_timeout
            || session > self.settings.max_session_timeout
        {
            return fail(INVALID_SESSION_TIMEOUT);
        }
        let unknown_member = request.member_id.is_empty();
        if !self.groups.contains_key(&request.group_id) {
            if !unknown_member {
                return fail(UNKNOWN_MEMBER_ID);
            }
            self.groups
                .insert(request.group_id.clone(), Group::new(&request.group_id));
        }
        let new_id = unknown_member.then(|| self.new_member_id(&client.id));
        let settings = self.settings;
        let group = self
            .groups
            .get_mut(&request.group_id)
            .expect("just ensured");
        if !group.supports_protocols(&request.protocol_type, &request.protocols) {
            return fail(INCONSISTENT_GROUP_PROTOCOL);
        }
        match new_id {
            Some(new_id) => join_unknown_member(group, request, new_id, client, now, &settings),
            None => join_known_member(group, request, client, now, &settings),
        }
    }

    /// SyncGroup.
    pub fn sync(&mut self, request: SyncRequest, now: Instant) -> Reply<SyncResponse> {
        self.tick(now);
        let fail = |error| Reply::Now(SyncResponse::error(error));
        let Some(group) = self.groups.get_mut(&request.group_id) else {
            return fail(UNKNOWN_MEMBER_ID);
        };
        if let Err(error) =
            validate_member(group, &request.member_id, request.instance_id.as_deref())
        {
            return fail(error);
        }
        if request.generation != group.generation {
            return fail(ILLEGAL_GENERATION);
        }
        // A member that names a protocol must name the group's (SyncGroup v5+).
        let inconsistent = |asked: &Option<String>, group: &Option<String>| {
            asked
                .as_ref()
                .is_some_and(|asked| Some(asked) != group.as_ref())
        };
        if inconsistent(&request.protocol_type, &group.protocol_type)
            || inconsistent(&request.protocol_name, &group.protocol_name)
        {
            return fail(INCONSISTENT_GROUP_PROTOCOL);
        }
        let protocol_type = group.protocol_type.clone();
        let protocol_name = group.protocol_name.clone();
        match group.state {
            GroupState::Empty => fail(UNKNOWN_MEMBER_ID),
            GroupState::PreparingRebalance => fail(REBALANCE_IN_PROGRESS),
            GroupState::CompletingRebalance => {
                let (sender, receiver) = oneshot::channel();
                group.pending_sync.remove(&request.member_id);
                let member = group.member_mut(&request.member_id).expect("validated");
                member.sync_waiter = Some(sender);
                member.heartbeat_deadline = now + member.session_timeout;
                if group.is_leader(&request.member_id) {
                    let assignments: BTreeMap<String, Vec<u8>> =
                        request.assignments.into_iter().collect();
                    for member in &mut group.members {
                        member.assignment =
                            assignments.get(&member.id).cloned().unwrap_or_default();
                    }
                    group.note(Happened::Assigned {
                        generation: group.generation,
                        assignments: group
                            .members
                            .iter()
                            .map(|m| (m.id.clone(), m.assignment.clone()))
                            .collect(),
                    });
                    group.set_state(GroupState::Stable);
                    group.note_settled(now);
                    for member in &mut group.members {
                        if let Some(waiter) = member.sync_waiter.take() {
                            let _ = waiter.send(SyncResponse {
                                error: 0,
                                protocol_type: protocol_type.clone(),
                                protocol_name: protocol_name.clone(),
                                assignment: member.assignment.clone(),
                            });
                        }
                    }
                    if group.pending_sync.is_empty() {
                        group.sync_deadline = None;
                    }
                }
                Reply::Later(receiver)
            }
            GroupState::Stable => {
                // A member that syncs again in a stable group gets what it was given.
                group.pending_sync.remove(&request.member_id);
                if group.pending_sync.is_empty() {
                    group.sync_deadline = None;
                }
                let member = group.member_mut(&request.member_id).expect("validated");
                member.heartbeat_deadline = now + member.session_timeout;
                Reply::Now(SyncResponse {
                    error: 0,
                    protocol_type,
                    protocol_name,
                    assignment: member.assignment.clone(),
                })
            }
        }
    }

    /// Heartbeat: its error code.
    pub fn heartbeat(&mut self, request: HeartbeatRequest, now: Instant) -> i16 {
        self.tick(now);
        let Some(group) = self.groups.get_mut(&request.group_id) else {
            return UNKNOWN_MEMBER_ID;
        };
        if let Err(error) =
            validate_member(group, &request.member_id, request.instance_id.as_deref())
        {
            return error;
        }
        if request.generation != group.generation {
            return ILLEGAL_GENERATION;
        }
        let state = group.state;
        let member = group.member_mut(&request.member_id).expect("validated");
        match state {
            GroupState::Empty => UNKNOWN_MEMBER_ID,
            GroupState::PreparingRebalance => {
                // The member learns of the rebalance from this answer and rejoins.
                member.heartbeat_deadline = now + member.session_timeout;
                REBALANCE_IN_PROGRESS
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                member.heartbeat_deadline = now + member.session_timeout;
                0
            }
        }
    }

    /// LeaveGroup.
    pub fn leave(&mut self, request: LeaveRequest, now: Instant) -> LeaveResponse {
        self.tick(now);
        let settings = self.settings;
        let Some(group) = self.groups.get_mut(&request.group_id) else {
            return LeaveResponse {
                error: UNKNOWN_MEMBER_ID,
                members: Vec::new(),
            };
        };
        let mut results = Vec::new();
        for (member_id, instance_id, reason) in request.members {
            let target = match &instance_id {
                Some(instance) => match group.static_member_id(instance) {
                    None => Err(UNKNOWN_MEMBER_ID),
                    Some(holder) if !member_id.is_empty() && holder != member_id => {
                        Err(FENCED_INSTANCE_ID)
                    }
                    Some(holder) => Ok(holder),
                },
                None => Ok(member_id.clone()),
            };
            let error = match target {
                Err(error) => error,
                Ok(id) if group.pending_members.remove(&id).is_some() => {
                    try_complete_join(group, now);
                    0
                }
                Ok(id) if !group.has_member(&id) => UNKNOWN_MEMBER_ID,
                Ok(id) => {
                    group.note(Happened::Left {
                        member: id.clone(),
                        reason,
                    });
                    let why = format!("explicit `LeaveGroup` request for ({id}) members.");
                    remove_member_and_update_group(group, &id, why, now, &settings);
                    0
                }
            };
            results.push((member_id, instance_id, error));
        }
        LeaveResponse {
            error: 0,
            members: results,
        }
    }

    /// OffsetCommit.
    pub fn commit(&mut self, request: CommitRequest) -> CommitResponse {
        let error = self.validate_commit(&request);
        // A refused commit stores nothing: every partition gets the error.
        let mut store = self
            .groups
            .get_mut(&request.group_id)
            .filter(|_| error == 0);
        let mut response = Vec::new();
        for (topic, partitions) in request.topics {
            let mut results = Vec::new();
            for p in partitions {
                if let Some(group) = store.as_deref_mut() {
                    group.offsets.insert(
                        (topic.clone(), p.partition),
                        Committed {
                            offset: p.offset,
                            leader_epoch: p.leader_epoch,
                            metadata: p.metadata,
                        },
                    );
                }
                results.push((p.partition, error));
            }
            response.push((topic, results));
        }
        response
    }

    /// Kafka's `ClassicGroup.validateOffsetCommit`, creating the group of a client that
    /// commits outside group management.
    fn validate_commit(&mut self, request: &CommitRequest) -> i16 {
        if request.group_id.is_empty() {
            return INVALID_GROUP_ID;
        }
        if !self.groups.contains_key(&request.group_id) {
            if request.generation >= 0 {
                return ILLEGAL_GENERATION;
            }
            self.groups
                .insert(request.group_id.clone(), Group::new(&request.group_id));
        }
        let group = &self.groups[&request.group_id];
        if request.generation < 0 && group.state == GroupState::Empty {
            return 0;
        }
        if request.generation >= 0 || !request.member_id.is_empty() || request.instance_id.is_some()
        {
            if let Err(error) =
                validate_member(group, &request.member_id, request.instance_id.as_deref())
            {
                return error;
            }
            if request.generation != group.generation {
                return ILLEGAL_GENERATION;
            }
        } else if group.state != GroupState::Empty {
            return UNKNOWN_MEMBER_ID;
        }
        if group.state == GroupState::CompletingRebalance {
            // Kafka: the member has its new generation but not its assignment yet.
            return REBALANCE_IN_PROGRESS;
        }
        0
    }

    /// OffsetFetch.
    pub fn fetch(&self, request: &FetchRequest) -> FetchResponse {
        let group = self.groups.get(&request.group_id);
        let committed = |topic: &str, partition: i32| {
            let found = group.and_then(|g| g.offsets.get(&(topic.to_string(), partition)));
            FetchedOffset {
                partition,
                offset: found.map_or(-1, |c| c.offset),
                leader_epoch: found.map_or(-1, |c| c.leader_epoch),
                metadata: Some(found.and_then(|c| c.metadata.clone()).unwrap_or_default()),
            }
        };
        match &request.topics {
            Some(topics) => topics
                .iter()
                .map(|(topic, partitions)| {
                    (
                        topic.clone(),
                        partitions.iter().map(|p| committed(topic, *p)).collect(),
                    )
                })
                .collect(),
            None => {
                let mut all: Vec<(String, Vec<FetchedOffset>)> = Vec::new();
                for (topic, partition) in group.iter().flat_map(|g| g.offsets.keys()) {
                    let offset = committed(topic, *partition);
                    match all.last_mut() {
                        Some((last, list)) if last == topic => list.push(offset),
                        _ => all.push((topic.clone(), vec![offset])),
                    }
                }
                all
            }
        }
    }

    /// DescribeGroups for one group (an unknown one is `Dead`, as Kafka reports it).
    pub fn describe(&self, group_id: &str) -> GroupDescription {
        let Some(group) = self.groups.get(group_id) else {
            return GroupDescription {
                error: 0,
                group_id: group_id.to_string(),
                state: UNKNOWN_GROUP_STATE.to_string(),
                protocol_type: String::new(),
                protocol: String::new(),
                members: Vec::new(),
            };
        };
        // Kafka shows metadata, assignments and the assignor only for a stable group.
        let stable = group.state == GroupState::Stable;
        let protocol = if stable {
            group.protocol_name.clone().unwrap_or_default()
        } else {
            String::new()
        };
        GroupDescription {
            error: 0,
            group_id: group.id.clone(),
            state: group.state.name().to_string(),
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            members: group
                .members
                .iter()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Vec::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
            protocol,
        }
    }

    /// ListGroups: every group, with its protocol type and state.
    pub fn list(&self) -> Vec<ListedGroup> {
        self.groups
            .values()
            .map(|g| ListedGroup {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state.name().to_string(),
            })
            .collect()
    }

    /// Every group's remembered rebalances, in the order they began.
    pub fn rebalances(&self) -> Vec<Rebalance> {
        let mut all: Vec<Rebalance> = self
            .groups
            .values()
            .flat_map(|g| g.history.iter().cloned())
            .collect();
        all.sort_by_key(|r| r.began);
        all
    }

    /// DeleteGroups: only an empty group can go (with its offsets).
    pub fn delete(&mut self, group_ids: Vec<String>) -> Vec<(String, i16)> {
        group_ids
            .into_iter()
            .map(|id| {
                let error = match self.groups.get(&id).map(|g| g.state) {
                    None => GROUP_ID_NOT_FOUND,
                    Some(GroupState::Empty) => {
                        self.groups.remove(&id);
                        self.outbox.push(GroupEvent {
                            group: id.clone(),
                            at_millis: events::now_millis(),
                            what: Happened::Deleted,
                        });
                        0
                    }
                    Some(_) => NON_EMPTY_GROUP,
                };
                (id, error)
            })
            .collect()
    }

    /// Runs every timer that is due: the end of a join phase, expired sessions, members
    /// that never synced, member ids that were never used.
    ///
    /// The timer task calls it every 20 ms, and each group request calls it first with its
    /// own time: Kafka's timers fire at their deadline, so a request that arrives at or past
    /// one must see its effect, not wait for the next tick.
    pub fn tick(&mut self, now: Instant) {
        let settings = self.settings;
        for group in self.groups.values_mut() {
            expire_pending_members(group, now);
            expire_sessions(group, now, &settings);
            expire_pending_sync(group, now, &settings);
            if group.state == GroupState::PreparingRebalance
                && group.join_deadline.is_some_and(|deadline| deadline <= now)
            {
                on_join_deadline(group, now, &settings);
            }
        }
    }
}

/// A starting point for member ids that differs from run to run.
fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// Kafka's `validateMember`: a static member's id must be the one holding its instance id.
fn validate_member(group: &Group, member_id: &str, instance_id: Option<&str>) -> Result<(), i16> {
    if let Some(instance) = instance_id {
        match group.static_member_id(instance) {
            None => return Err(UNKNOWN_MEMBER_ID),
            Some(holder) if holder != member_id => return Err(FENCED_INSTANCE_ID),
            Some(_) => {}
        }
    }
    if !group.has_member(member_id) {
        return Err(UNKNOWN_MEMBER_ID);
    }
    Ok(())
}

fn new_member(
    request: &JoinRequest,
    id: String,
    client: &Client,
    now: Instant,
    waiter: oneshot::Sender<JoinResponse>,
) -> Member {
    let session_timeout = Duration::from_millis(request.session_timeout_ms as u64);
    Member {
        id,
        instance_id: request.instance_id.clone(),
        client_id: client.id.clone(),
        client_host: client.host.clone(),
        session_timeout,
        rebalance_timeout: Duration::from_millis(request.rebalance_timeout_ms.max(0) as u64),
        protocols: request.protocols.clone(),
        assignment: Vec::new(),
        join_waiter: Some(waiter),
        sync_waiter: None,
        heartbeat_deadline: now + session_timeout,
        is_new: true,
        joined_at: now,
    }
}

/// A JoinGroup without a member id.
fn join_unknown_member(
    group: &mut Group,
    request: JoinRequest,
    new_id: String,
    client: &Client,
    now: Instant,
    settings: &Settings,
) -> Reply<JoinResponse> {
    if let Some(instance) = request.instance_id.clone() {
        if let Some(old_id) = group.static_member_id(&instance) {
            return rejoin_static_member(group, request, &old_id, new_id, now, settings);
        }
        // A new static member joins at once: no MEMBER_ID_REQUIRED round trip (KIP-345).
        return add_member_and_rebalance(group, &request, new_id, client, now, settings);
    }
    if request.require_known_member_id {
        // KIP-394: hand out an id; the member joins again with it.
        let deadline = now + Duration::from_millis(request.session_timeout_ms as u64);
        group.pending_members.insert(new_id.clone(), deadline);
        return Reply::Now(JoinResponse::error(MEMBER_ID_REQUIRED, &new_id));
    }
    add_member_and_rebalance(group, &request, new_id, client, now, settings)
}

/// A static member restarts: it takes over its old member id's place (fencing the old
/// one). In a stable group with unchanged subscriptions this costs no rebalance: it gets
/// the current generation back, and its SyncGroup returns the partitions it had.
fn rejoin_static_member(
    group: &mut Group,
    request: JoinRequest,
    old_id: &str,
    new_id: String,
    now: Instant,
    settings: &Settings,
) -> Reply<JoinResponse> {
    let was_leader = group.is_leader(old_id);
    let reason = request.client_reason().to_string();
    let member = group.member_mut(old_id).expect("static member");
    if let Some(waiter) = member.join_waiter.take() {
        let _ = waiter.send(JoinResponse::error(FENCED_INSTANCE_ID, old_id));
    }
    if let Some(waiter) = member.sync_waiter.take() {
        let _ = waiter.send(SyncResponse::error(FENCED_INSTANCE_ID));
    }
    member.id = new_id.clone();
    let instance_id = member.instance_id.clone().unwrap_or_default();
    let unchanged = member.matches(&request.protocols);
    member.session_timeout = Duration::from_millis(request.session_timeout_ms as u64);
    member.rebalance_timeout = Duration::from_millis(request.rebalance_timeout_ms.max(0) as u64);
    member.heartbeat_deadline = now + member.session_timeout;
    if was_leader {
        group.leader = Some(new_id.clone());
    }
    if group.pending_sync.remove(old_id) {
        group.pending_sync.insert(new_id.clone());
    }
    group.note(Happened::Replaced {
        old_member: old_id.to_string(),
        member: new_id.clone(),
        instance_id: instance_id.clone(),
    });
    if group.state == GroupState::Stable && unchanged {
        // No rebalance (GroupMetadataManager.updateStaticMemberThenRebalanceOrCompleteJoin).
        // From v9 a returning leader gets the members and is told to skip the assignment;
        // before, the answer names the old member id as leader, so nobody assigns anew.
        let mut answer = group.join_response(&new_id);
        if request.supports_skip_assignment {
            answer.skip_assignment = was_leader;
        } else {
            answer.members.clear();
            if was_leader {
                answer.leader = old_id.to_string();
            }
        }
        return Reply::Now(answer);
    }
    let (sender, receiver) = oneshot::channel();
    let member = group.member_mut(&new_id).expect("renamed");
    member.protocols = request.protocols;
    member.join_waiter = Some(sender);
    let why = format!(
        "Updating metadata for static member {new_id} with instance id {instance_id}; \
         client reason: {reason}"
    );
    maybe_prepare_rebalance_or_complete_join(group, why, now, settings);
    Reply::Later(receiver)
}

/// A JoinGroup with a member id.
fn join_known_member(
    group: &mut Group,
    request: JoinRequest,
    client: &Client,
    now: Instant,
    settings: &Settings,
) -> Reply<JoinResponse> {
    let fail = |error| Reply::Now(JoinResponse::error(error, &request.member_id));
    let member_id = request.member_id.clone();
    if let Some(instance) = &request.instance_id {
        if group.is_static_member_fenced(instance, &member_id) {
            return fail(FENCED_INSTANCE_ID);
        }
    }
    if group.pending_members.remove(&member_id).is_some() {
        return add_member_and_rebalance(group, &request, member_id, client, now, settings);
    }
    if !group.has_member(&member_id) {
        return fail(UNKNOWN_MEMBER_ID);
    }
    match group.state {
        GroupState::Empty => fail(UNKNOWN_MEMBER_ID),
        GroupState::PreparingRebalance => {
            let receiver = update_member(group, &request, now);
            try_complete_join(group, now);
            Reply::Later(receiver)
        }
        GroupState::CompletingRebalance => {
            if group
                .member(&member_id)
                .expect("known")
                .matches(&request.protocols)
            {
                // It lost the answer it was sent: send it again.
                Reply::Now(group.join_response(&member_id))
            } else {
                let receiver = update_member(group, &request, now);
                let why = format!(
                    "Updating metadata for member {member_id} during CompletingRebalance; \
                     client reason: {}",
                    request.client_reason()
                );
                prepare_rebalance(group, why, now, settings);
                Reply::Later(receiver)
            }
        }
        GroupState::Stable => {
            let member = group.member(&member_id).expect("known");
            if group.is_leader(&member_id) || !member.matches(&request.protocols) {
                // The leader rejoining, or a changed subscription, starts a rebalance.
                let reason = request.client_reason();
                let why = if group.is_leader(&member_id) {
                    format!("Leader {member_id} re-joining group during Stable; client reason: {reason}")
                } else {
                    format!("Updating metadata for member {member_id} during Stable; client reason: {reason}")
                };
                let receiver = update_member(group, &request, now);
                prepare_rebalance(group, why, now, settings);
                Reply::Later(receiver)
            } else {
                let member = group.member_mut(&member_id).expect("known");
                member.heartbeat_deadline = now + member.session_timeout;
                Reply::Now(group.join_response(&member_id))
            }
        }
    }
}

/// Records a known member's new join and returns where its answer will come.
fn update_member(
    group: &mut Group,
    request: &JoinRequest,
    now: Instant,
) -> oneshot::Receiver<JoinResponse> {
    let (sender, receiver) = oneshot::channel();
    let member = group.member_mut(&request.member_id).expect("known member");
    member.protocols = request.protocols.clone();
    member.session_timeout = Duration::from_millis(request.session_timeout_ms as u64);
    member.rebalance_timeout = Duration::from_millis(request.rebalance_timeout_ms.max(0) as u64);
    member.heartbeat_deadline = now + member.session_timeout;
    if let Some(old) = member.join_waiter.replace(sender) {
        // A second JoinGroup replaces the first; Kafka answers the first with an error.
        let _ = old.send(JoinResponse::error(UNKNOWN_MEMBER_ID, &request.member_id));
    }
    receiver
}

fn add_member_and_rebalance(
    group: &mut Group,
    request: &JoinRequest,
    id: String,
    client: &Client,
    now: Instant,
    settings: &Settings,
) -> Reply<JoinResponse> {
    let (sender, receiver) = oneshot::channel();
    if group.members.is_empty() {
        group.protocol_type = Some(request.protocol_type.clone());
    }
    group.note(Happened::Joined {
        member: id.clone(),
        client_id: client.id.clone(),
        instance_id: request.instance_id.clone(),
    });
    let why = format!(
        "Adding new member {id} with group instance id {}; client reason: {}",
        request.instance_id.as_deref().unwrap_or("null"),
        request.client_reason()
    );
    group
        .members
        .push(new_member(request, id, client, now, sender));
    if group.state == GroupState::PreparingRebalance && group.initial_delay.is_some() {
        group.new_member_added = true;
    }
    maybe_prepare_rebalance_or_complete_join(group, why, now, settings);
    Reply::Later(receiver)
}

fn maybe_prepare_rebalance_or_complete_join(
    group: &mut Group,
    why: String,
    now: Instant,
    settings: &Settings,
) {
    match group.state {
        GroupState::Empty | GroupState::Stable | GroupState::CompletingRebalance => {
            prepare_rebalance(group, why, now, settings)
        }
        GroupState::PreparingRebalance => try_complete_join(group, now),
    }
}

/// Kafka's `prepareRebalance`: the group waits for its members to rejoin. An empty group
/// first waits `group.initial.rebalance.delay.ms` for more members; any other rebalance
/// completes as soon as everyone has rejoined, or at the rebalance timeout. `why` is the
/// reason Kafka logs.
fn prepare_rebalance(group: &mut Group, why: String, now: Instant, settings: &Settings) {
    group.note(Happened::RebalanceBegan { reason: why });
    if group.state == GroupState::CompletingRebalance {
        // The assignment being waited for is stale: members must rejoin.
        for member in &mut group.members {
            member.assignment.clear();
            if let Some(waiter) = member.sync_waiter.take() {
                let _ = waiter.send(SyncResponse::error(REBALANCE_IN_PROGRESS));
            }
        }
    }
    let initial_rebalance_delay = settings.initial_rebalance_delay;
    let initial = group.state == GroupState::Empty && !initial_rebalance_delay.is_zero();
    group.pending_sync.clear();
    group.sync_deadline = None;
    group.set_state(GroupState::PreparingRebalance);
    if initial {
        let delay = initial_rebalance_delay;
        group.note_rebalance(now, delay);
        group.initial_delay = Some(InitialDelay {
            remaining: group.rebalance_timeout().saturating_sub(delay),
        });
        group.new_member_added = false;
        group.join_deadline = Some(now + delay);
    } else {
        group.note_rebalance(now, Duration::ZERO);
        group.initial_delay = None;
        group.join_deadline = Some(now + group.rebalance_timeout());
        try_complete_join(group, now);
    }
}

/// Completes the join phase if every known member has rejoined.
fn try_complete_join(group: &mut Group, now: Instant) {
    if group.state == GroupState::PreparingRebalance
        && group.initial_delay.is_none()
        && group.has_all_members_joined()
    {
        complete_join(group, now);
    }
}

/// The join phase's timer: the initial delay grows while members keep arriving (up to the
/// rebalance timeout); otherwise the join completes with whoever has rejoined.
fn on_join_deadline(group: &mut Group, now: Instant, settings: &Settings) {
    if let Some(InitialDelay { remaining }) = group.initial_delay {
        if group.new_member_added && !remaining.is_zero() {
            let delay = settings.initial_rebalance_delay.min(remaining);
            group.note_rebalance(now, delay);
            group.new_member_added = false;
            group.initial_delay = Some(InitialDelay {
                remaining: remaining.saturating_sub(delay),
            });
            group.join_deadline = Some(now + delay);
            return;
        }
        group.initial_delay = None;
    }
    complete_join(group, now);
}

/// Kafka's `completeClassicGroupJoin`: drops dynamic members that did not rejoin, starts
/// the next generation, and answers every waiting JoinGroup (the leader gets the members).
fn complete_join(group: &mut Group, now: Instant) {
    let gone: Vec<(String, Duration)> = group
        .members
        .iter()
        .filter(|m| !m.is_awaiting_join() && m.instance_id.is_none())
        .map(|m| (m.id.clone(), m.rebalance_timeout))
        .collect();
    for (id, rebalance_timeout) in gone {
        group.note(Happened::NotRejoined {
            member: id.clone(),
            rebalance_timeout,
        });
        remove_member(group, &id);
    }
    group.join_deadline = None;
    group.initial_delay = None;
    if group.members.is_empty() {
        group.generation += 1;
        group.protocol_name = None;
        group.note(Happened::Emptied {
            generation: group.generation,
        });
        group.set_state(GroupState::Empty);
        group.note_settled(now);
        return;
    }
    // The leader must be a member that rejoined.
    let leader_rejoined = group
        .leader
        .as_deref()
        .and_then(|id| group.member(id))
        .is_some_and(Member::is_awaiting_join);
    if !leader_rejoined {
        group.leader = group
            .members
            .iter()
            .find(|m| m.is_awaiting_join())
            .map(|m| m.id.clone());
    }
    if group.leader.is_none() {
        // Only static members that have not rejoined are left: wait for them again.
        group.join_deadline = Some(now + group.rebalance_timeout());
        return;
    }
    group.generation += 1;
    group.protocol_name = group.select_protocol();
    group.note(Happened::GenerationFormed {
        generation: group.generation,
        leader: group.leader.clone().unwrap_or_default(),
        members: group.members.iter().map(|m| m.id.clone()).collect(),
        protocol: group.protocol_name.clone(),
    });
    group.set_state(GroupState::CompletingRebalance);
    let answers: Vec<(String, JoinResponse)> = group
        .members
        .iter()
        .filter(|m| m.is_awaiting_join())
        .map(|m| (m.id.clone(), group.join_response(&m.id)))
        .collect();
    for (id, answer) in answers {
        let member = group.member_mut(&id).expect("member");
        member.is_new = false;
        member.heartbeat_deadline = now + member.session_timeout;
        if let Some(waiter) = member.join_waiter.take() {
            let _ = waiter.send(answer);
        }
    }
    group.pending_sync = group.members.iter().map(|m| m.id.clone()).collect();
    group.sync_deadline = Some(now + group.rebalance_timeout());
}

/// Takes a member out of the group, answering whatever it waits for with
/// UNKNOWN_MEMBER_ID.
fn remove_member(group: &mut Group, id: &str) {
    let Some(index) = group.members.iter().position(|m| m.id == id) else {
        return;
    };
    let mut member = group.members.remove(index);
    if let Some(waiter) = member.join_waiter.take() {
        let _ = waiter.send(JoinResponse::error(UNKNOWN_MEMBER_ID, id));
    }
    if let Some(waiter) = member.sync_waiter.take() {
        let _ = waiter.send(SyncResponse::error(UNKNOWN_MEMBER_ID));
    }
    group.pending_sync.remove(id);
    if group.is_leader(id) {
        group.leader = group.members.first().map(|m| m.id.clone());
    }
}

/// A member left or died: the others must rebalance.
fn remove_member_and_update_group(
    group: &mut Group,
    id: &str,
    why: String,
    now: Instant,
    settings: &Settings,
) {
    remove_member(group, id);
    match group.state {
        GroupState::Stable | GroupState::CompletingRebalance => {
            // A group that had members: no initial delay (that is for an Empty group).
            prepare_rebalance(group, why, now, settings)
        }
        GroupState::PreparingRebalance => try_complete_join(group, now),
        GroupState::Empty => {}
    }
}

fn expire_pending_members(group: &mut Group, now: Instant) {
    let before = group.pending_members.len();
    group.pending_members.retain(|_, deadline| *deadline > now);
    if group.pending_members.len() != before {
        try_complete_join(group, now);
    }
}

/// Kafka's heartbeat expiration: a member not heard from within its session timeout is
/// dead, unless it is blocked in a join or sync the coordinator has not answered yet.
fn expire_sessions(group: &mut Group, now: Instant, settings: &Settings) {
    let expired: Vec<(String, Duration)> = group
        .members
        .iter()
        .filter(|m| m.heartbeat_deadline <= now && !m.should_keep_alive(now))
        .map(|m| (m.id.clone(), m.session_timeout))
        .collect();
    for (id, timeout) in expired {
        group.note_expired_session(now, timeout);
        group.note(Happened::SessionExpired {
            member: id.clone(),
            session_timeout: timeout,
        });
        let why = format!("removing member {id} on heartbeat expiration.");
        remove_member_and_update_group(group, &id, why, now, settings);
    }
}

/// Members that got their JoinGroup answer but never synced within the rebalance timeout
/// are removed, and the group rebalances without them.
fn expire_pending_sync(group: &mut Group, now: Instant, settings: &Settings) {
    if !matches!(
        group.state,
        GroupState::CompletingRebalance | GroupState::Stable
    ) || group.sync_deadline.is_none_or(|deadline| deadline > now)
    {
        return;
    }
    group.sync_deadline = None;
    let missing: Vec<String> = group.pending_sync.drain().collect();
    if missing.is_empty() {
        return;
    }
    for id in &missing {
        group.note(Happened::NotSynced { member: id.clone() });
        remove_member(group, id);
    }
    let why = format!(
        "Removing [{}] on pending sync request expiration",
        missing.join(", ")
    );
    prepare_rebalance(group, why, now, settings);
}
