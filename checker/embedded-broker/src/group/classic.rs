//! One classic consumer group: its members and the state it is in.
//!
//! Named and shaped after Apache Kafka's `ClassicGroup` and `ClassicGroupMember`
//! (`group-coordinator/src/main/java/org/apache/kafka/coordinator/group/classic/`), so the
//! two can be read side by side. The transitions live in `coordinator.rs`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::events::Happened;
use super::messages::{JoinResponse, JoinedMember, SyncResponse};

/// The states of Kafka's `ClassicGroupState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members; offsets may still be kept.
    Empty,
    /// Waiting for every known member to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment (SyncGroup).
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
}

/// The state Kafka reports for a group it does not know. Kafka's `Dead` is a deleted group;
/// here a deleted group is simply gone, so no group is ever in that state.
pub const UNKNOWN_GROUP_STATE: &str = "Dead";

impl GroupState {
    /// The name Kafka reports in DescribeGroups and ListGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The next offset to read.
    pub offset: i64,
    /// The leader epoch the client saw, or -1.
    pub leader_epoch: i32,
    /// The client's metadata string.
    pub metadata: Option<String>,
}

/// One member of a classic group.
pub struct Member {
    /// `client.id-<uuid>`, as Kafka makes them.
    pub id: String,
    /// `group.instance.id`: set for a static member.
    pub instance_id: Option<String>,
    /// The client's `client.id`.
    pub client_id: String,
    /// Where the client connects from, as Kafka prints it (`/127.0.0.1`).
    pub client_host: String,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `max.poll.interval.ms` for Java clients, the rebalance timeout of JoinGroup v1+.
    pub rebalance_timeout: Duration,
    /// The assignors it supports, in its order of preference, with their metadata.
    pub protocols: Vec<(String, Vec<u8>)>,
    /// What the leader assigned it in the last completed rebalance.
    pub assignment: Vec<u8>,
    /// Set while its JoinGroup waits for the rebalance to complete.
    pub join_waiter: Option<oneshot::Sender<JoinResponse>>,
    /// Set while its SyncGroup waits for the leader's assignment.
    pub sync_waiter: Option<oneshot::Sender<SyncResponse>>,
    /// When it is considered dead unless heard from.
    pub heartbeat_deadline: Instant,
    /// Joined, but not yet through a completed rebalance.
    pub is_new: bool,
    /// When it first joined (a new member waiting to join too long is dropped).
    pub joined_at: Instant,
}

/// How long a new member may wait in a join before it is dropped (Kafka's
/// `NEW_MEMBER_JOIN_TIMEOUT_MS`).
pub const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

impl Member {
    /// Whether it waits for its JoinGroup answer.
    pub fn is_awaiting_join(&self) -> bool {
        self.join_waiter.is_some()
    }

    /// Whether it joined with exactly these protocols (names and metadata).
    pub fn matches(&self, protocols: &[(String, Vec<u8>)]) -> bool {
        self.protocols == protocols
    }

    /// Its metadata for `protocol`.
    pub fn metadata(&self, protocol: &str) -> Vec<u8> {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, metadata)| metadata.clone())
            .unwrap_or_default()
    }

    /// Kafka's `shouldKeepAlive`: a member blocked in a join or a sync is not expired.
    pub fn should_keep_alive(&self, now: Instant) -> bool {
        if self.is_awaiting_join() {
            !self.is_new || self.joined_at + NEW_MEMBER_JOIN_TIMEOUT > now
        } else {
            self.sync_waiter.is_some()
        }
    }
}

/// The initial-delay phase of the first rebalance of an empty group
/// (`group.initial.rebalance.delay.ms`, Kafka's `InitialDelayedJoin`).
#[derive(Debug, Clone, Copy)]
pub struct InitialDelay {
    /// How much of the rebalance timeout is left to extend the delay with.
    pub remaining: Duration,
}

/// One classic group.
pub struct Group {
    /// `group.id`.
    pub id: String,
    /// Where it is in the rebalance protocol.
    pub state: GroupState,
    /// Bumped by every completed rebalance.
    pub generation: i32,
    /// The protocol type its members share (`consumer`).
    pub protocol_type: Option<String>,
    /// The assignor chosen in the last completed rebalance.
    pub protocol_name: Option<String>,
    /// The member that computes the assignment.
    pub leader: Option<String>,
    /// Members in the order they joined (Kafka keeps a `LinkedHashMap`).
    pub members: Vec<Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED and not yet used, with their deadline.
    pub pending_members: HashMap<String, Instant>,
    /// When the join phase ends even if not every member has rejoined.
    pub join_deadline: Option<Instant>,
    /// Set while the first rebalance waits `group.initial.rebalance.delay.ms`.
    pub initial_delay: Option<InitialDelay>,
    /// A member joined during the current initial delay.
    pub new_member_added: bool,
    /// Members that got their JoinGroup answer but have not synced yet.
    pub pending_sync: HashSet<String>,
    /// When members that have not synced are removed.
    pub sync_deadline: Option<Instant>,
    /// Committed offsets by (topic, partition).
    pub offsets: BTreeMap<(String, i32), Committed>,
    /// The rebalance under way, while it lasts.
    pub rebalancing: Option<Rebalance>,
    /// Its last [`HISTORY`] completed rebalances, oldest first.
    pub history: Vec<Rebalance>,
    /// What happened to it since the coordinator last published its events.
    pub outbox: Vec<Happened>,
}

/// How many completed rebalances a group remembers.
pub const HISTORY: usize = 64;

/// One completed rebalance of a group, from the first membership change to the moment the
/// group was Stable (or Empty) again: what a consumer waits for between losing its old
/// assignment and getting its new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebalance {
    /// The group.
    pub group: String,
    /// When the group left Stable or Empty.
    pub began: Instant,
    /// When it was Stable (or Empty) again.
    pub ended: Instant,
    /// The part spent on `group.initial.rebalance.delay.ms`, a broker timer; the rest is
    /// the members' own time to rejoin and sync.
    pub initial_delay: Duration,
    /// Set when a member's expired session started it: that member's `session.timeout.ms`,
    /// which the group waited before the rebalance could begin.
    pub expired_session: Option<Duration>,
}

impl Group {
    /// A new, empty group.
    pub fn new(id: &str) -> Group {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: Vec::new(),
            pending_members: HashMap::new(),
            join_deadline: None,
            initial_delay: None,
            new_member_added: false,
            pending_sync: HashSet::new(),
            sync_deadline: None,
            offsets: BTreeMap::new(),
            rebalancing: None,
            history: Vec::new(),
            outbox: Vec::new(),
        }
    }

    /// Notes an event, for the coordinator to publish.
    pub fn note(&mut self, what: Happened) {
        self.outbox.push(what);
    }

    /// Moves to `state`, noting the change.
    pub fn set_state(&mut self, state: GroupState) {
        if self.state != state {
            self.state = state;
            self.note(Happened::State {
                state: state.name().to_string(),
            });
        }
    }

    /// Notes that a rebalance has begun (a later call while it lasts changes nothing), and
    /// how much initial delay it has been given.
    pub fn note_rebalance(&mut self, now: Instant, initial_delay: Duration) {
        if self.rebalancing.is_none() {
            self.rebalancing = Some(Rebalance {
                group: self.id.clone(),
                began: now,
                ended: now,
                initial_delay: Duration::ZERO,
                expired_session: None,
            });
        }
        if let Some(rebalance) = &mut self.rebalancing {
            rebalance.initial_delay += initial_delay;
        }
    }

    /// Notes that a member's session of `timeout` expired: the rebalance it starts waited
    /// that long.
    pub fn note_expired_session(&mut self, now: Instant, timeout: Duration) {
        self.note_rebalance(now, Duration::ZERO);
        if let Some(rebalance) = &mut self.rebalancing {
            rebalance.expired_session = Some(timeout);
        }
    }

    /// Notes that the rebalance under way, if any, has ended.
    pub fn note_settled(&mut self, now: Instant) {
        if let Some(mut rebalance) = self.rebalancing.take() {
            if self.history.len() == HISTORY {
                self.history.remove(0);
            }
            rebalance.ended = now;
            self.history.push(rebalance);
        }
    }

    /// The member with this id.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The member with this id, to change.
    pub fn member_mut(&mut self, id: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    /// Whether a member has this id.
    pub fn has_member(&self, id: &str) -> bool {
        self.member(id).is_some()
    }

    /// The member id a static member holds now.
    pub fn static_member_id(&self, instance_id: &str) -> Option<String> {
        self.members
            .iter()
            .find(|m| m.instance_id.as_deref() == Some(instance_id))
            .map(|m| m.id.clone())
    }

    /// Kafka's `isStaticMemberFenced`: the instance id is held by another member id.
    pub fn is_static_member_fenced(&self, instance_id: &str, member_id: &str) -> bool {
        self.static_member_id(instance_id)
            .is_some_and(|existing| existing != member_id)
    }

    /// Whether `member_id` leads the group.
    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    /// Kafka's `hasAllMembersJoined`.
    pub fn has_all_members_joined(&self) -> bool {
        self.members.iter().all(Member::is_awaiting_join) && self.pending_members.is_empty()
    }

    /// The longest rebalance timeout among the members (how long a join phase may last).
    pub fn rebalance_timeout(&self) -> Duration {
        self.members
            .iter()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default()
    }

    /// Kafka's `supportsProtocols`: a joining member must share the protocol type and at
    /// least one assignor with every current member.
    pub fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Vec<u8>)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(name, _)| {
                self.members
                    .iter()
                    .all(|m| m.protocols.iter().any(|(own, _)| own == name))
            })
    }

    /// Kafka's `selectProtocol`: among the assignors every member supports, each member
    /// votes for the first one in its own order; the most votes win (ties go to the vote
    /// cast first).
    pub fn select_protocol(&self) -> Option<String> {
        let candidates: Vec<&str> = self
            .members
            .first()?
            .protocols
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| {
                self.members
                    .iter()
                    .all(|m| m.protocols.iter().any(|(own, _)| own == name))
            })
            .collect();
        let mut votes: Vec<(&str, usize)> = Vec::new();
        for member in &self.members {
            let Some(vote) = member
                .protocols
                .iter()
                .map(|(name, _)| name.as_str())
                .find(|name| candidates.contains(name))
            else {
                continue;
            };
            match votes.iter_mut().find(|(name, _)| *name == vote) {
                Some((_, count)) => *count += 1,
                None => votes.push((vote, 1)),
            }
        }
        let best = votes.iter().map(|(_, count)| *count).max()?;
        votes
            .into_iter()
            .find(|(_, count)| *count == best)
            .map(|(name, _)| name.to_string())
    }

    /// The JoinGroup answer of the current generation for `member_id`: the leader gets
    /// every member's metadata, the others an empty list.
    pub fn join_response(&self, member_id: &str) -> JoinResponse {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let members = if self.is_leader(member_id) {
            self.members
                .iter()
                .map(|m| JoinedMember {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    metadata: m.metadata(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResponse {
            error: 0,
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            skip_assignment: false,
            member_id: member_id.to_string(),
            members,
        }
    }
}
