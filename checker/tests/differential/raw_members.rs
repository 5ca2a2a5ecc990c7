//! Probes whose members are raw protocol clients (`wire/mod.rs`), for moments no client
//! library lets a test choose: a commit while the group waits for its leader's
//! assignment, a commit from an old generation, a member that stops heartbeating but keeps
//! its connection, a JoinGroup at one chosen version.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    DescribeGroupsRequest, DescribeGroupsResponse, FindCoordinatorRequest, GroupId,
    HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, ListGroupsRequest, OffsetCommitRequest,
    SyncGroupRequest, TopicName,
};

use super::{on_both, SETTLE};
use crate::wire::{text, Connection};

/// The session timeout of every raw member: the brokers' minimum.
const SESSION: Duration = Duration::from_secs(6);

/// An error code by its name in Kafka's protocol, `none` for 0.
fn name(code: i16) -> String {
    match code.err() {
        None if code == 0 => "none".to_string(),
        None => format!("error {code}"),
        Some(error) => format!("{error:?}"),
    }
}

/// Waits until the broker coordinates `group` (Kafka first creates `__consumer_offsets`).
async fn coordinator_ready(bootstrap: &str, group: &str) {
    let mut connection = Connection::open(bootstrap).await;
    let deadline = Instant::now() + SETTLE;
    loop {
        // v3: the newest that both brokers read (librdkafka's mock stops there).
        let request = FindCoordinatorRequest::default().with_key(text(group));
        let answer = connection.send(&request, 3).await;
        if answer.error_code == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "no coordinator: {answer:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The consumer protocol's subscription to `topic` (ConsumerProtocolSubscription v0).
fn subscription(topic: &str) -> Bytes {
    let mut out = BytesMut::new();
    out.put_i16(0);
    out.put_i32(1);
    out.put_i16(topic.len() as i16);
    out.put_slice(topic.as_bytes());
    out.put_i32(-1); // no user data
    out.freeze()
}

/// The consumer protocol's assignment of `partitions` of `topic` (v0).
fn assignment(topic: &str, partitions: &[i32]) -> Bytes {
    let mut out = BytesMut::new();
    out.put_i16(0);
    out.put_i32(1);
    out.put_i16(topic.len() as i16);
    out.put_slice(topic.as_bytes());
    out.put_i32(partitions.len() as i32);
    for partition in partitions {
        out.put_i32(*partition);
    }
    out.put_i32(-1);
    out.freeze()
}

/// A group member that speaks the classic protocol request by request.
struct RawMember {
    connection: Connection,
    group: String,
    topic: String,
    instance: Option<String>,
    id: String,
    generation: i32,
}

impl RawMember {
    async fn connect(bootstrap: &str, group: &str, topic: &str, instance: Option<&str>) -> Self {
        RawMember {
            connection: Connection::open(bootstrap).await,
            group: group.to_string(),
            topic: topic.to_string(),
            instance: instance.map(str::to_string),
            id: String::new(),
            generation: -1,
        }
    }

    /// One JoinGroup at `version`, as the member is now (the answer may wait for the
    /// whole rebalance); remembers the id and generation it is given.
    async fn join_once(&mut self, version: i16) -> JoinGroupResponse {
        let request = JoinGroupRequest::default()
            .with_group_id(GroupId(text(&self.group)))
            .with_session_timeout_ms(SESSION.as_millis() as i32)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(text(&self.id))
            .with_group_instance_id(self.instance.as_deref().map(text))
            .with_protocol_type(text("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(text("range"))
                .with_metadata(subscription(&self.topic))]);
        let answer = self.connection.send(&request, version).await;
        if !answer.member_id.is_empty() {
            self.id = answer.member_id.to_string();
        }
        if answer.error_code == 0 {
            self.generation = answer.generation_id;
        }
        answer
    }

    /// Joins at v9: a dynamic member is first given its id (MEMBER_ID_REQUIRED).
    async fn join(&mut self) -> JoinGroupResponse {
        let first = self.join_once(9).await;
        if name(first.error_code) != "MemberIdRequired" {
            return first;
        }
        self.join_once(9).await
    }

    /// SyncGroup; the leader gives every member its `assignments`.
    async fn sync(&mut self, assignments: &[(String, Vec<i32>)]) -> String {
        let request = SyncGroupRequest::default()
            .with_group_id(GroupId(text(&self.group)))
            .with_generation_id(self.generation)
            .with_member_id(text(&self.id))
            .with_group_instance_id(self.instance.as_deref().map(text))
            .with_protocol_type(Some(text("consumer")))
            .with_protocol_name(Some(text("range")))
            .with_assignments(
                assignments
                    .iter()
                    .map(|(member, partitions)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(text(member))
                            .with_assignment(assignment(&self.topic, partitions))
                    })
                    .collect(),
            );
        name(self.connection.send(&request, 5).await.error_code)
    }

    async fn heartbeat(&mut self) -> String {
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(text(&self.group)))
            .with_generation_id(self.generation)
            .with_member_id(text(&self.id))
            .with_group_instance_id(self.instance.as_deref().map(text));
        name(self.connection.send(&request, 4).await.error_code)
    }

    /// Commits offset 1 of partition 0 as of `generation`: the partition's error.
    async fn commit(&mut self, generation: i32) -> String {
        let request = OffsetCommitRequest::default()
            .with_group_id(GroupId(text(&self.group)))
            .with_generation_id_or_member_epoch(generation)
            .with_member_id(text(&self.id))
            .with_group_instance_id(self.instance.as_deref().map(text))
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(TopicName(text(&self.topic)))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(1)])]);
        let answer = self.connection.send(&request, 9).await;
        name(answer.topics[0].partitions[0].error_code)
    }
}

/// DescribeGroups v5 of `group`, on a connection of its own.
async fn describe(bootstrap: &str, group: &str) -> DescribeGroupsResponse {
    let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(text(group))]);
    Connection::open(bootstrap).await.send(&request, 5).await
}

/// Waits until `group` is in `state`.
async fn wait_for_state(bootstrap: &str, group: &str, state: &str) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let answer = describe(bootstrap, group).await;
        if answer.groups[0].group_state.as_str() == state {
            return;
        }
        assert!(Instant::now() < deadline, "never {state}: {answer:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A first member that has joined and synced alone: a Stable group of one, generation 1.
async fn lone_leader(bootstrap: &str, group: &str, topic: &str) -> RawMember {
    coordinator_ready(bootstrap, group).await;
    let mut leader = RawMember::connect(bootstrap, group, topic, None).await;
    let joined = leader.join().await;
    assert_eq!(name(joined.error_code), "none", "{joined:?}");
    let me = leader.id.clone();
    assert_eq!(leader.sync(&[(me, vec![0])]).await, "none");
    leader
}

/// A Stable group `group` of two on topic `group` (2 partitions): the leader, which owns
/// partition 0, and a second member, which owns partition 1.
async fn stable_pair(bootstrap: &str, group: &str) -> (RawMember, RawMember) {
    let mut leader = lone_leader(bootstrap, group, group).await;
    let mut second = RawMember::connect(bootstrap, group, group, None).await;
    let second_join = tokio::spawn(async move {
        let answer = second.join().await;
        (second, answer)
    });
    wait_for_state(bootstrap, group, "PreparingRebalance").await;
    leader.join_once(9).await;
    let (mut second, _) = second_join.await.unwrap();
    let plan = [(leader.id.clone(), vec![0]), (second.id.clone(), vec![1])];
    assert_eq!(leader.sync(&plan).await, "none");
    assert_eq!(second.sync(&[]).await, "none");
    (leader, second)
}

#[tokio::test(flavor = "multi_thread")]
async fn commits_during_a_rebalance_are_judged_by_state_and_generation() {
    // ClassicGroup.validateOffsetCommit: a member's commit of the current generation is
    // accepted while the group is PreparingRebalance, refused with REBALANCE_IN_PROGRESS
    // while it is CompletingRebalance (the leader has not yet given the assignment), and a
    // commit of an older generation is ILLEGAL_GENERATION in any state.
    let expected: Vec<(&str, String)> = [
        ("commit, PreparingRebalance, its generation", "none"),
        ("heartbeat, PreparingRebalance", "RebalanceInProgress"),
        (
            "commit, CompletingRebalance, the new generation",
            "RebalanceInProgress",
        ),
        (
            "commit, CompletingRebalance, the old generation",
            "IllegalGeneration",
        ),
        ("sync of the leader", "none"),
        ("commit, Stable, the old generation", "IllegalGeneration"),
        ("commit, Stable, the new generation", "none"),
    ]
    .into_iter()
    .map(|(step, answer)| (step, answer.to_string()))
    .collect();
    on_both("rebalance-commits", expected, |broker, tag| async move {
        broker.create_topic(&tag, 2).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        let mut seen = Vec::new();
        let mut leader = lone_leader(&bootstrap, &tag, &tag).await;
        let old = leader.generation;

        // A second member's join starts a rebalance that waits for the leader to rejoin.
        let mut second = RawMember::connect(&bootstrap, &tag, &tag, None).await;
        let second_join = tokio::spawn(async move {
            let answer = second.join().await;
            (second, answer)
        });
        wait_for_state(&bootstrap, &tag, "PreparingRebalance").await;
        seen.push((
            "commit, PreparingRebalance, its generation",
            leader.commit(old).await,
        ));
        seen.push(("heartbeat, PreparingRebalance", leader.heartbeat().await));

        // The leader rejoins: the join completes for both, and the group waits for the
        // leader's assignment.
        let rejoined = leader.join_once(9).await;
        assert_eq!(name(rejoined.error_code), "none", "{rejoined:?}");
        let (second, second_answer) = second_join.await.unwrap();
        assert_eq!(second_answer.generation_id, leader.generation);
        assert_eq!(
            rejoined.leader.as_str(),
            leader.id,
            "the old leader leads again"
        );
        wait_for_state(&bootstrap, &tag, "CompletingRebalance").await;
        let new = leader.generation;
        seen.push((
            "commit, CompletingRebalance, the new generation",
            leader.commit(new).await,
        ));
        seen.push((
            "commit, CompletingRebalance, the old generation",
            leader.commit(old).await,
        ));
        let plan = [(leader.id.clone(), vec![0]), (second.id.clone(), vec![1])];
        seen.push(("sync of the leader", leader.sync(&plan).await));
        seen.push((
            "commit, Stable, the old generation",
            leader.commit(old).await,
        ));
        seen.push((
            "commit, Stable, the new generation",
            leader.commit(new).await,
        ));
        seen
    })
    .await;
}

/// What a static member's restart shows.
#[derive(Debug, PartialEq, Clone)]
struct Restart {
    join: String,
    same_generation: bool,
    leader_is: &'static str,
    members_given: usize,
    skip_assignment: bool,
    old_heartbeat: String,
    old_commit: String,
    new_heartbeat: String,
    members_described: usize,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_static_restart_keeps_the_generation_and_fences_the_old_member() {
    // KIP-345: a group.instance.id that joins again with a new process (no member id) in a
    // stable group gets the current generation back (no rebalance); the old member id is
    // fenced with FENCED_INSTANCE_ID. How the returning leader is told not to assign
    // depends on the JoinGroup version (updateStaticMemberThenRebalanceOrCompleteJoin):
    // before v9 the old id is named leader and no members are given; from v9 (KIP-814) it
    // is named leader, given the members, and told to skip the assignment.
    let restart = |leader_is, members_given, skip_assignment| Restart {
        join: "none".into(),
        same_generation: true,
        leader_is,
        members_given,
        skip_assignment,
        old_heartbeat: "FencedInstanceId".into(),
        old_commit: "FencedInstanceId".into(),
        new_heartbeat: "none".into(),
        members_described: 1,
    };
    let expected = vec![restart("old id", 0, false), restart("new id", 1, true)];
    on_both("static-restart", expected, |broker, tag| async move {
        broker.create_topic(&tag, 2).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        let mut seen = Vec::new();
        for (round, version) in [5i16, 9].into_iter().enumerate() {
            let group = format!("{tag}-{round}");
            coordinator_ready(&bootstrap, &group).await;
            let mut first = RawMember::connect(&bootstrap, &group, &tag, Some("i-1")).await;
            let joined = first.join_once(version).await;
            assert_eq!(name(joined.error_code), "none", "{joined:?}");
            let me = first.id.clone();
            assert_eq!(first.sync(&[(me, vec![0, 1])]).await, "none");

            let mut again = RawMember::connect(&bootstrap, &group, &tag, Some("i-1")).await;
            let rejoined = again.join_once(version).await;
            let leader_is = if rejoined.leader.as_str() == first.id {
                "old id"
            } else if rejoined.leader.as_str() == again.id {
                "new id"
            } else {
                "someone else"
            };
            seen.push(Restart {
                join: name(rejoined.error_code),
                same_generation: rejoined.generation_id == first.generation,
                leader_is,
                members_given: rejoined.members.len(),
                skip_assignment: rejoined.skip_assignment,
                old_heartbeat: first.heartbeat().await,
                old_commit: first.commit(first.generation).await,
                new_heartbeat: again.heartbeat().await,
                members_described: describe(&bootstrap, &group).await.groups[0].members.len(),
            });
        }
        seen
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_that_stops_heartbeating_is_expired_after_its_session_timeout() {
    // A member that stays connected but stops heartbeating is removed when its session
    // timeout (6 s) runs out from its last heartbeat; the survivor hears of the rebalance
    // at its next heartbeat and rejoins alone. The test's bound: between 6 s and 8 s after
    // the last heartbeat, with the survivor heartbeating every 200 ms.
    let expected = ("RebalanceInProgress".to_string(), Ok(()), 1usize);
    on_both("session-expiry", expected, |broker, tag| async move {
        broker.create_topic(&tag, 2).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        let (mut survivor, mut silent) = stable_pair(&bootstrap, &tag).await;
        assert_eq!(silent.heartbeat().await, "none");
        let last_heartbeat = Instant::now();
        let deadline = last_heartbeat + SETTLE;
        let heard = loop {
            let answer = survivor.heartbeat().await;
            if answer != "none" || Instant::now() > deadline {
                break answer;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let when = super::within(
            last_heartbeat.elapsed(),
            SESSION,
            SESSION + Duration::from_secs(2),
        );
        let rejoined = survivor.join_once(9).await;
        (heard, when, rejoined.members.len())
    })
    .await;
}

/// A group as ListGroups and DescribeGroups show it, member ids left out.
#[derive(Debug, PartialEq, Clone)]
struct Listed {
    listed: Vec<(String, String, String, String)>,
    listed_stable: usize,
    listed_empty: usize,
    listed_consumer_type: usize,
    described: (String, String, String, String),
    members: Vec<(bool, String, String, Vec<u8>)>,
    unknown_v5: (String, String),
    unknown_v6: (String, String, Option<String>),
}

#[tokio::test(flavor = "multi_thread")]
async fn list_and_describe_groups_answer_field_by_field() {
    // ListGroups v5 (state and type, with filters) and DescribeGroups v5 of a stable
    // classic group of two; DescribeGroups of an unknown group: Dead with no error at v5,
    // GROUP_ID_NOT_FOUND with a message at v6 (measured on Kafka 4.3.1).
    let expected = |tag: &str| Listed {
        listed: vec![(
            tag.to_string(),
            "consumer".into(),
            "Stable".into(),
            "classic".into(),
        )],
        listed_stable: 1,
        listed_empty: 0,
        listed_consumer_type: 0,
        described: (
            "none".into(),
            "Stable".into(),
            "consumer".into(),
            "range".into(),
        ),
        members: vec![
            (
                true,
                checker::broker::wire::CLIENT_ID.into(),
                "/127.0.0.1".into(),
                assignment(tag, &[0]).to_vec(),
            ),
            (
                true,
                checker::broker::wire::CLIENT_ID.into(),
                "/127.0.0.1".into(),
                assignment(tag, &[1]).to_vec(),
            ),
        ],
        unknown_v5: ("none".into(), "Dead".into()),
        unknown_v6: (
            "GroupIdNotFound".into(),
            "Dead".into(),
            Some(format!("Group {tag}-unknown not found.")),
        ),
    };
    // The expected value names the run's own group, so each run checks its own and
    // on_both compares the verdicts: Ok, or what differed.
    on_both("list-describe", Ok(()), |broker, tag| async move {
        broker.create_topic(&tag, 2).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        let (first, second) = stable_pair(&bootstrap, &tag).await;

        let mut admin = Connection::open(&bootstrap).await;
        let list = |states: &[&str], types: &[&str]| {
            ListGroupsRequest::default()
                .with_states_filter(states.iter().map(|s| text(s)).collect())
                .with_types_filter(types.iter().map(|t| text(t)).collect())
        };
        let ours = |answer: kafka_protocol::messages::ListGroupsResponse| -> Vec<_> {
            answer
                .groups
                .into_iter()
                .filter(|g| g.group_id.as_str() == tag)
                .map(|g| {
                    (
                        g.group_id.to_string(),
                        g.protocol_type.to_string(),
                        g.group_state.to_string(),
                        g.group_type.to_string(),
                    )
                })
                .collect()
        };
        let listed = ours(admin.send(&list(&[], &[]), 5).await);
        let listed_stable = ours(admin.send(&list(&["STABLE"], &[]), 5).await).len();
        let listed_empty = ours(admin.send(&list(&["Empty"], &[]), 5).await).len();
        let listed_consumer_type = ours(admin.send(&list(&[], &["consumer"]), 5).await).len();

        let described = describe(&bootstrap, &tag).await.groups.remove(0);
        let mut members: Vec<(bool, String, String, Vec<u8>)> = described
            .members
            .iter()
            .map(|m| {
                (
                    [&first.id, &second.id].contains(&&m.member_id.to_string()),
                    m.client_id.to_string(),
                    m.client_host.to_string(),
                    m.member_assignment.to_vec(),
                )
            })
            .collect();
        members.sort_by(|a, b| a.3.cmp(&b.3));
        let unknown = format!("{tag}-unknown");
        let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(text(&unknown))]);
        let v5 = admin.send(&request, 5).await.groups.remove(0);
        let v6 = admin.send(&request, 6).await.groups.remove(0);
        let seen = Listed {
            listed,
            listed_stable,
            listed_empty,
            listed_consumer_type,
            described: (
                name(described.error_code),
                described.group_state.to_string(),
                described.protocol_type.to_string(),
                described.protocol_data.to_string(),
            ),
            members,
            unknown_v5: (name(v5.error_code), v5.group_state.to_string()),
            unknown_v6: (
                name(v6.error_code),
                v6.group_state.to_string(),
                v6.error_message.map(|m| m.to_string()),
            ),
        };
        let wanted = expected(&tag);
        if seen == wanted {
            Ok(())
        } else {
            Err(format!("saw {seen:#?}\nwanted {wanted:#?}"))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_initial_delay_grows_while_members_keep_arriving() {
    // Both brokers run with group.initial.rebalance.delay.ms = 300. A member that joins an
    // empty group waits the delay; a second member that arrives within it extends the
    // wait by another delay (GroupMetadataManager.tryCompleteInitialRebalanceElseSchedule:
    // each expiry with a new member schedules one more, up to the rebalance timeout). So
    // the first member's join is answered no sooner than 2 x 300 ms after it was sent, in
    // one generation with both members; the test's upper bound is 3 s on a busy machine.
    let expected = (Ok(()), 2usize, true);
    on_both("initial-delay-grows", expected, |broker, tag| async move {
        broker.create_topic(&tag, 2).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        coordinator_ready(&bootstrap, &tag).await;
        let mut first = RawMember::connect(&bootstrap, &tag, &tag, None).await;
        let mut second = RawMember::connect(&bootstrap, &tag, &tag, None).await;
        // Each is given its member id first, so that one join each is timed.
        first.join_once(9).await;
        second.join_once(9).await;
        let sent = Instant::now();
        let first_join = tokio::spawn(async move {
            let answer = first.join_once(9).await;
            (sent.elapsed(), answer)
        });
        wait_for_state(&bootstrap, &tag, "PreparingRebalance").await;
        let second_answer = second.join_once(9).await;
        let (waited, first_answer) = first_join.await.unwrap();
        let bound = super::within(waited, Duration::from_millis(600), Duration::from_secs(3));
        let members = first_answer.members.len().max(second_answer.members.len());
        let one_generation = first_answer.generation_id == second_answer.generation_id;
        (bound, members, one_generation)
    })
    .await;
}
