//! The coordinator's transitions, driven request by request with a clock the tests move.
//! Each test names the Kafka behaviour it pins down.

use std::time::{Duration, Instant};

use super::coordinator::{Groups, Reply, Settings};
use super::events::Happened;
use super::messages::error::*;
use super::messages::*;

const SESSION_MS: i32 = 10_000;
const REBALANCE_MS: i32 = 30_000;

fn groups(initial_delay_ms: u64) -> Groups {
    Groups::new(Settings {
        initial_rebalance_delay: Duration::from_millis(initial_delay_ms),
        ..Settings::default()
    })
}

fn client(name: &str) -> Client {
    Client {
        id: name.to_string(),
        host: "/127.0.0.1".to_string(),
    }
}

fn join_request(member_id: &str, instance: Option<&str>, metadata: &[u8]) -> JoinRequest {
    JoinRequest {
        group_id: "g".into(),
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: REBALANCE_MS,
        member_id: member_id.into(),
        instance_id: instance.map(str::to_string),
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), metadata.to_vec())],
        require_known_member_id: true,
        supports_skip_assignment: false,
        reason: None,
    }
}

fn now_answer<T>(reply: Reply<T>) -> T {
    match reply {
        Reply::Now(answer) => answer,
        Reply::Later(_) => panic!("expected an answer now"),
    }
}

fn later<T>(reply: Reply<T>) -> tokio::sync::oneshot::Receiver<T> {
    match reply {
        Reply::Later(receiver) => receiver,
        Reply::Now(_) => panic!("expected the answer to wait for the rebalance"),
    }
}

fn ready<T>(receiver: &mut tokio::sync::oneshot::Receiver<T>) -> Option<T> {
    receiver.try_recv().ok()
}

/// A dynamic member's first join: MEMBER_ID_REQUIRED with an id, then a join with it.
fn join_dynamic(
    groups: &mut Groups,
    name: &str,
    now: Instant,
) -> (String, tokio::sync::oneshot::Receiver<JoinResponse>) {
    let first =
        now_answer(groups.join(join_request("", None, name.as_bytes()), &client(name), now));
    assert_eq!(first.error, MEMBER_ID_REQUIRED);
    assert!(
        first.member_id.starts_with(&format!("{name}-")),
        "{}",
        first.member_id
    );
    let id = first.member_id;
    let receiver = later(groups.join(join_request(&id, None, name.as_bytes()), &client(name), now));
    (id, receiver)
}

fn sync(
    groups: &mut Groups,
    id: &str,
    generation: i32,
    assignments: Vec<(String, Vec<u8>)>,
    now: Instant,
) -> Reply<SyncResponse> {
    groups.sync(
        SyncRequest {
            group_id: "g".into(),
            generation,
            member_id: id.into(),
            instance_id: None,
            protocol_type: None,
            protocol_name: None,
            assignments,
        },
        now,
    )
}

fn heartbeat(
    groups: &mut Groups,
    id: &str,
    instance: Option<&str>,
    generation: i32,
    now: Instant,
) -> i16 {
    groups.heartbeat(
        HeartbeatRequest {
            group_id: "g".into(),
            generation,
            member_id: id.into(),
            instance_id: instance.map(str::to_string),
        },
        now,
    )
}

fn commit(groups: &mut Groups, id: &str, generation: i32, offset: i64) -> i16 {
    let response = groups.commit(CommitRequest {
        group_id: "g".into(),
        generation,
        member_id: id.into(),
        instance_id: None,
        topics: vec![(
            "t".into(),
            vec![PartitionCommit {
                partition: 0,
                offset,
                leader_epoch: -1,
                metadata: None,
            }],
        )],
    });
    response[0].1[0].1
}

/// Two dynamic members, joined in the first generation and synced: (a, b, generation).
/// `groups` must have an initial delay of at most a second (two delays pass), or the first
/// member to join would get a generation of its own.
fn stable_pair(groups: &mut Groups, now: Instant) -> (String, String, i32) {
    let (a, mut join_a) = join_dynamic(groups, "a", now);
    let (b, mut join_b) = join_dynamic(groups, "b", now);
    // b joined during the initial delay, which is therefore extended once.
    groups.tick(now + Duration::from_secs(1));
    groups.tick(now + Duration::from_secs(2));
    let answer_a = ready(&mut join_a).expect("a joined");
    let answer_b = ready(&mut join_b).expect("b joined");
    assert_eq!(answer_a.generation, answer_b.generation);
    let (leader, follower) = if answer_a.leader == a {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let generation = answer_a.generation;
    let mut follower_sync = later(sync(groups, follower, generation, vec![], now));
    let leader_sync = sync(
        groups,
        leader,
        generation,
        vec![(a.clone(), b"A".to_vec()), (b.clone(), b"B".to_vec())],
        now,
    );
    let mut leader_sync = later(leader_sync);
    assert_eq!(ready(&mut leader_sync).expect("leader synced").error, 0);
    assert_eq!(ready(&mut follower_sync).expect("follower synced").error, 0);
    assert_eq!(groups.describe("g").state, "Stable");
    (a, b, generation)
}

#[test]
fn a_clean_leave_completes_the_rebalance_as_soon_as_the_others_rejoin() {
    // Kafka: a rebalance completes once every known member has rejoined
    // (GroupMetadataManager: tryCompleteJoin / hasAllMembersJoined), with no wait for the
    // session timeout. librdkafka's mock waits session.timeout.ms - 1 s here.
    let mut groups = groups(1000);
    let start = Instant::now();
    let (a, b, generation) = stable_pair(&mut groups, start);
    let leave = groups.leave(
        LeaveRequest {
            group_id: "g".into(),
            members: vec![(b.clone(), None, None)],
        },
        start,
    );
    assert_eq!(leave.members[0].2, 0);
    assert_eq!(groups.describe("g").state, "PreparingRebalance");
    // The survivor learns of it from its next heartbeat, and rejoins.
    assert_eq!(
        heartbeat(&mut groups, &a, None, generation, start),
        REBALANCE_IN_PROGRESS
    );
    let mut rejoin = later(groups.join(join_request(&a, None, b"a"), &client("a"), start));
    let answer = ready(&mut rejoin).expect("the join completed at once, with no timer");
    assert_eq!(
        (answer.error, answer.generation, answer.leader.as_str()),
        (0, generation + 1, a.as_str())
    );
    assert_eq!(answer.members.len(), 1);
    assert_eq!(groups.describe("g").state, "CompletingRebalance");
}

#[test]
fn the_initial_delay_waits_for_more_members_and_grows_while_they_come() {
    // Kafka's InitialDelayedJoin: group.initial.rebalance.delay.ms after the first join,
    // extended by the same delay whenever a new member arrived in the last one.
    let mut groups = groups(1000);
    let start = Instant::now();
    let (_, mut join_a) = join_dynamic(&mut groups, "a", start);
    groups.tick(start + Duration::from_millis(500));
    let (_, mut join_b) = join_dynamic(&mut groups, "b", start + Duration::from_millis(600));
    groups.tick(start + Duration::from_millis(1000));
    assert!(
        ready(&mut join_a).is_none(),
        "b arrived during the delay: it is extended"
    );
    groups.tick(start + Duration::from_millis(1999));
    assert!(ready(&mut join_a).is_none());
    groups.tick(start + Duration::from_millis(2000));
    let (a, b) = (
        ready(&mut join_a).expect("a"),
        ready(&mut join_b).expect("b"),
    );
    assert_eq!((a.generation, b.generation), (1, 1));
    assert_eq!(
        [a.members.len(), b.members.len()].iter().sum::<usize>(),
        2,
        "one leader sees both"
    );
}

#[test]
fn commits_of_the_current_generation_are_accepted_while_a_rebalance_is_prepared() {
    // ClassicGroup.validateOffsetCommit: only CompletingRebalance refuses a commit of the
    // current generation (REBALANCE_IN_PROGRESS). The mock refuses it while joining too.
    let mut groups = groups(1000);
    let start = Instant::now();
    let (a, b, generation) = stable_pair(&mut groups, start);
    assert_eq!(commit(&mut groups, &a, generation, 5), 0);
    let (_c, _join_c) = join_dynamic(&mut groups, "c", start);
    assert_eq!(groups.describe("g").state, "PreparingRebalance");
    assert_eq!(
        commit(&mut groups, &b, generation, 7),
        0,
        "accepted while preparing"
    );
    assert_eq!(
        commit(&mut groups, &b, generation - 1, 8),
        ILLEGAL_GENERATION
    );
    assert_eq!(
        commit(&mut groups, "stranger", generation, 9),
        UNKNOWN_MEMBER_ID
    );
    let fetched = groups.fetch(&FetchRequest {
        group_id: "g".into(),
        topics: None,
    });
    assert_eq!(fetched[0].1[0].offset, 7);
    // Once everyone has rejoined, the group waits for the leader's assignment, and a commit
    // is refused until the member has its partitions.
    let _ra = groups.join(join_request(&a, None, b"a"), &client("a"), start);
    let _rb = groups.join(join_request(&b, None, b"b"), &client("b"), start);
    assert_eq!(groups.describe("g").state, "CompletingRebalance");
    assert_eq!(
        commit(&mut groups, &a, generation + 1, 10),
        REBALANCE_IN_PROGRESS
    );
}

#[test]
fn an_admin_commit_needs_an_empty_group() {
    let mut groups = groups(1000);
    let start = Instant::now();
    assert_eq!(
        commit(&mut groups, "", -1, 3),
        0,
        "a group nobody joined takes offsets"
    );
    let (_a, _b, _) = stable_pair(&mut groups, start);
    assert_eq!(
        commit(&mut groups, "", -1, 4),
        UNKNOWN_MEMBER_ID,
        "refused while members are active"
    );
    assert_eq!(groups.delete(vec!["g".into()])[0].1, NON_EMPTY_GROUP);
}

#[test]
fn a_member_that_stops_heartbeating_is_removed_after_its_session_timeout() {
    let mut groups = groups(1000);
    let start = Instant::now();
    let (a, b, generation) = stable_pair(&mut groups, start);
    let session = Duration::from_millis(SESSION_MS as u64);
    for second in 1..=12 {
        let now = start + Duration::from_secs(second);
        // Only a heartbeats; b crashed.
        let error = heartbeat(&mut groups, &a, None, generation, now);
        groups.tick(now);
        if now < start + session {
            assert_eq!(error, 0, "at {second} s");
            assert_eq!(groups.describe("g").members.len(), 2);
        }
    }
    let group = groups.describe("g");
    assert_eq!(
        group.state, "PreparingRebalance",
        "b expired; a must rejoin"
    );
    assert!(group.members.iter().all(|m| m.member_id != b));
    // a rejoins and syncs: the rebalance is logged as one the expired session started.
    let now = start + Duration::from_secs(12);
    later(groups.join(join_request(&a, None, b"a"), &client("a"), now));
    later(sync(&mut groups, &a, generation + 1, vec![], now));
    let last = groups.rebalances().pop().unwrap();
    assert_eq!(last.expired_session, Some(session));
}

#[test]
fn a_static_member_restarting_keeps_its_partitions_without_a_rebalance() {
    // KIP-345: a known group.instance.id rejoining a stable group with the same
    // subscription gets the current generation back; the old member id is fenced.
    let mut groups = groups(0);
    let start = Instant::now();
    let mut first = later(groups.join(join_request("", Some("i-1"), b"s"), &client("s"), start));
    let answer = ready(&mut first).expect("a lone member joins at once");
    let old_id = answer.member_id.clone();
    let generation = answer.generation;
    let mut synced = later(sync(
        &mut groups,
        &old_id,
        generation,
        vec![(old_id.clone(), b"P0".to_vec())],
        start,
    ));
    assert_eq!(ready(&mut synced).unwrap().assignment, b"P0");
    // Restart: a new process, no member id, the same instance id.
    let again = now_answer(groups.join(join_request("", Some("i-1"), b"s"), &client("s"), start));
    assert_eq!(again.error, 0);
    assert_eq!(
        again.generation, generation,
        "no new generation: no rebalance"
    );
    assert_ne!(again.member_id, old_id);
    // Before JoinGroup v9 the answer names the old id as leader, with no members, so the
    // returning leader does not assign (updateStaticMemberThenRebalanceOrCompleteJoin).
    assert_eq!(
        (again.leader.as_str(), again.members.len()),
        (old_id.as_str(), 0)
    );
    assert!(!again.skip_assignment);
    assert_eq!(groups.describe("g").state, "Stable");
    let resynced = now_answer(sync(
        &mut groups,
        &again.member_id,
        generation,
        vec![],
        start,
    ));
    assert_eq!(resynced.assignment, b"P0", "it keeps its partitions");
    // The old incarnation, if still alive, is fenced.
    assert_eq!(
        heartbeat(&mut groups, &old_id, Some("i-1"), generation, start),
        FENCED_INSTANCE_ID
    );
    assert_eq!(
        heartbeat(
            &mut groups,
            &again.member_id,
            Some("i-1"),
            generation,
            start
        ),
        0
    );
    // From v9 it is named leader, given the members, and told to skip the assignment.
    let mut request = join_request("", Some("i-1"), b"s");
    request.supports_skip_assignment = true;
    let v9 = now_answer(groups.join(request, &client("s"), start));
    assert_eq!(v9.generation, generation);
    assert_eq!(v9.leader, v9.member_id);
    assert_eq!(v9.members.len(), 1);
    assert!(v9.skip_assignment);
}

#[test]
fn describe_and_list_show_members_and_assignments() {
    let mut groups = groups(1000);
    let start = Instant::now();
    let (a, b, _) = stable_pair(&mut groups, start);
    let described = groups.describe("g");
    assert_eq!(
        (described.state.as_str(), described.protocol.as_str()),
        ("Stable", "range")
    );
    let mut assignments: Vec<(String, Vec<u8>)> = described
        .members
        .iter()
        .map(|m| (m.member_id.clone(), m.assignment.clone()))
        .collect();
    assignments.sort();
    let mut expected = vec![(a, b"A".to_vec()), (b, b"B".to_vec())];
    expected.sort();
    assert_eq!(assignments, expected);
    assert_eq!(
        groups.list(),
        vec![ListedGroup {
            group_id: "g".into(),
            protocol_type: "consumer".into(),
            state: "Stable".into(),
        }]
    );
    assert_eq!(groups.describe("nobody").state, "Dead");
}

#[test]
fn session_timeouts_outside_the_brokers_bounds_are_refused() {
    let mut groups = groups(0);
    let mut request = join_request("", None, b"x");
    request.session_timeout_ms = 1000;
    let answer = now_answer(groups.join(request, &client("x"), Instant::now()));
    assert_eq!(answer.error, INVALID_SESSION_TIMEOUT);
}

#[test]
fn a_member_with_no_common_assignor_is_refused() {
    let mut groups = groups(1000);
    let start = Instant::now();
    stable_pair(&mut groups, start);
    let mut request = join_request("", None, b"x");
    request.protocols = vec![("roundrobin".into(), vec![])];
    let answer = now_answer(groups.join(request, &client("x"), start));
    assert_eq!(answer.error, INCONSISTENT_GROUP_PROTOCOL);
}

#[test]
fn each_rebalance_is_logged_with_its_initial_delay() {
    // What the benchmark reads: the first rebalance of a group waited on the initial delay
    // (twice 1 s here, because b arrived during the first), a rebalance after a leave waited
    // on nobody's timer.
    let mut groups = groups(1000);
    let start = Instant::now();
    let (a, b, generation) = stable_pair(&mut groups, start);
    let first = groups.rebalances();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].initial_delay, Duration::from_secs(2));
    assert_eq!((first[0].began, first[0].ended), (start, start));

    let left = start + Duration::from_secs(5);
    groups.leave(
        LeaveRequest {
            group_id: "g".into(),
            members: vec![(b, None, None)],
        },
        left,
    );
    assert_eq!(groups.rebalances().len(), 1, "still under way");
    let rejoined = left + Duration::from_millis(300);
    heartbeat(&mut groups, &a, None, generation, rejoined);
    later(groups.join(join_request(&a, None, b"a"), &client("a"), rejoined));
    let synced = rejoined + Duration::from_millis(10);
    later(sync(&mut groups, &a, generation + 1, vec![], synced));
    let second = groups.rebalances()[1].clone();
    assert_eq!((second.began, second.ended), (left, synced));
    assert_eq!(second.initial_delay, Duration::ZERO);
    assert_eq!(second.expired_session, None);
}

#[test]
fn a_heartbeat_at_a_dead_members_deadline_hears_of_the_rebalance() {
    // Kafka expires a session by a timer at its deadline
    // (GroupMetadataManager.scheduleClassicGroupMemberHeartbeat), so a survivor whose
    // heartbeat arrives then is told REBALANCE_IN_PROGRESS. Here the timers are checked every
    // 20 ms; a heartbeat inside that window must still see the expiry, or the survivor hears
    // of the rebalance one heartbeat later. Measured with lab 6 (both members synced
    // together, so the survivor's heartbeats fall on the dead member's deadline): the
    // handover after SIGKILL took 6.5 s here and 5.2 s on Kafka 4.3.1.
    let mut groups = groups(1000);
    let start = Instant::now();
    let (a, b, generation) = stable_pair(&mut groups, start);
    let session = Duration::from_millis(SESSION_MS as u64);
    // Only a heartbeats, once a second; b crashed after its sync. No timer tick runs.
    for second in 1..10 {
        let now = start + Duration::from_secs(second);
        assert_eq!(
            heartbeat(&mut groups, &a, None, generation, now),
            0,
            "at {second} s"
        );
    }
    let error = heartbeat(&mut groups, &a, None, generation, start + session);
    assert_eq!(
        error, REBALANCE_IN_PROGRESS,
        "b's session ran out at this very time"
    );
    assert!(groups
        .describe("g")
        .members
        .iter()
        .all(|m| m.member_id != b));
}

#[test]
fn a_sync_naming_another_protocol_is_inconsistent_and_one_naming_the_groups_is_told_it() {
    // Kafka (GroupMetadataManager.validateSyncGroup): a SyncGroup v5+ that names a protocol
    // type or assignor other than the group's gets INCONSISTENT_GROUP_PROTOCOL; an answer
    // that is not an error names the group's.
    let mut groups = groups(1000);
    let now = Instant::now();
    let (a, _b, generation) = stable_pair(&mut groups, now);
    let request = |protocol_type: &str, protocol_name: &str| SyncRequest {
        group_id: "g".into(),
        generation,
        member_id: a.clone(),
        instance_id: None,
        protocol_type: Some(protocol_type.into()),
        protocol_name: Some(protocol_name.into()),
        assignments: Vec::new(),
    };
    let wrong = now_answer(groups.sync(request("consumer", "roundrobin"), now));
    assert_eq!(wrong.error, INCONSISTENT_GROUP_PROTOCOL);
    let wrong = now_answer(groups.sync(request("connect", "range"), now));
    assert_eq!(wrong.error, INCONSISTENT_GROUP_PROTOCOL);
    let right = now_answer(groups.sync(request("consumer", "range"), now));
    assert_eq!(right.error, 0);
    assert_eq!(right.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(right.protocol_name.as_deref(), Some("range"));
    assert_eq!(right.assignment, b"A".to_vec());
}

/// The events the coordinator has noted since the last call, without their times.
fn events(groups: &mut Groups) -> Vec<Happened> {
    groups
        .take_events()
        .into_iter()
        .inspect(|e| assert_eq!(e.group, "g"))
        .map(|e| e.what)
        .collect()
}

#[test]
fn a_crash_is_told_as_it_happens_expiry_first_then_the_rebalance_it_caused() {
    // The group view's live timeline: what Kafka logs for a crashed member
    // ("removing member … on heartbeat expiration", then the new generation), in order.
    let mut groups = groups(1000);
    let start = Instant::now();
    let (a, b, generation) = stable_pair(&mut groups, start);
    let formed = events(&mut groups);
    assert!(matches!(&formed[0], Happened::Joined { member, .. } if *member == a));
    // Kafka 4.3.1's log for a librdkafka member, which gives no reason: "Preparing to
    // rebalance group … (reason: Adding new member rdkafka-… with group instance id null;
    // client reason: not provided)".
    assert_eq!(
        formed[1],
        Happened::RebalanceBegan {
            reason: format!(
                "Adding new member {a} with group instance id null; client reason: not provided"
            )
        }
    );
    assert!(formed.contains(&Happened::Assigned {
        generation,
        assignments: vec![(a.clone(), b"A".to_vec()), (b.clone(), b"B".to_vec())],
    }));
    assert_eq!(
        formed.last(),
        Some(&Happened::State {
            state: "Stable".into()
        })
    );

    let session = Duration::from_millis(SESSION_MS as u64);
    let before = start + session - Duration::from_millis(1);
    heartbeat(&mut groups, &a, None, generation, before);
    assert!(
        events(&mut groups).is_empty(),
        "a heartbeat changes nothing"
    );
    groups.tick(start + session);
    assert_eq!(
        events(&mut groups),
        vec![
            Happened::SessionExpired {
                member: b.clone(),
                session_timeout: session
            },
            Happened::RebalanceBegan {
                reason: format!("removing member {b} on heartbeat expiration.")
            },
            Happened::State {
                state: "PreparingRebalance".into()
            },
        ]
    );
    let now = start + session + Duration::from_millis(100);
    later(groups.join(join_request(&a, None, b"a"), &client("a"), now));
    later(sync(
        &mut groups,
        &a,
        generation + 1,
        vec![(a.clone(), b"AB".to_vec())],
        now,
    ));
    assert_eq!(
        events(&mut groups),
        vec![
            Happened::GenerationFormed {
                generation: generation + 1,
                leader: a.clone(),
                members: vec![a.clone()],
                protocol: Some("range".into()),
            },
            Happened::State {
                state: "CompletingRebalance".into()
            },
            Happened::Assigned {
                generation: generation + 1,
                assignments: vec![(a.clone(), b"AB".to_vec())],
            },
            Happened::State {
                state: "Stable".into()
            },
        ]
    );
}

#[test]
fn a_member_that_does_not_rejoin_within_its_rebalance_timeout_is_told_dropped() {
    // Kafka's completeClassicGroupJoin drops dynamic members that did not rejoin by the
    // rebalance timeout (the consumer's max.poll.interval.ms): a member stuck in its
    // processing loop, still heartbeating from librdkafka's thread.
    let mut groups = groups(1000);
    let start = Instant::now();
    let (a, b, generation) = stable_pair(&mut groups, start);
    events(&mut groups);
    let now = start + Duration::from_secs(1);
    groups.leave(
        LeaveRequest {
            group_id: "g".into(),
            members: vec![(a.clone(), None, Some("the consumer is being closed".into()))],
        },
        now,
    );
    assert!(matches!(
        &events(&mut groups)[0],
        Happened::Left { member, reason: Some(reason) } if *member == a && reason == "the consumer is being closed"
    ));
    // b heartbeats (so its session lives) but never rejoins.
    let rebalance = Duration::from_millis(REBALANCE_MS as u64);
    for second in 1..=30 {
        heartbeat(
            &mut groups,
            &b,
            None,
            generation,
            now + Duration::from_secs(second),
        );
    }
    groups.tick(now + rebalance);
    let dropped = events(&mut groups);
    assert_eq!(
        dropped[0],
        Happened::NotRejoined {
            member: b.clone(),
            rebalance_timeout: rebalance
        }
    );
    assert!(dropped.contains(&Happened::State {
        state: "Empty".into()
    }));
}
