//! The same group behaviour on both brokers: each probe runs once on the embedded broker and
//! once on Apache Kafka (the local backend, see `kafka/mod.rs`), and what a client observes
//! must be the same on both: error codes, group states, members, assignments, offsets.
//!
//! Each probe also states what Kafka does, so that it fails on the embedded broker alone
//! where Kafka is not installed (then the Kafka half is skipped, loudly, unless
//! `REQUIRE_KAFKA=1`). `book/src/brokers.md` cites these probes in its differences table.

#[path = "differential/deleted_records.rs"]
mod deleted_records;
#[path = "differential/differences.rs"]
mod differences;
mod kafka;
#[path = "differential/raw_members.rs"]
mod raw_members;
mod skip;
mod wire;

use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checker::broker::records::Outgoing;
use checker::broker::{client_config, Broker, BrokerChoice};
use checker::consumer_group;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// How long a probe waits for a group to settle, on a busy machine.
const SETTLE: Duration = Duration::from_secs(30);

/// Runs `probe` on a fresh embedded broker and on Apache Kafka, and checks that both
/// observe `expected`. Each run gets its own topic and group names (`tag`).
async fn on_both<T, F, P>(tag: &str, expected: T, probe: P)
where
    T: PartialEq + Debug + Clone,
    P: Fn(Broker, String) -> F,
    F: Future<Output = T>,
{
    on_each(tag, expected.clone(), expected, probe).await;
}

/// Runs `probe` on a fresh embedded broker and on Apache Kafka, and checks that each
/// observes what it is said to: `embedded` and `apache_kafka`.
async fn on_each<T, F, P>(tag: &str, embedded: T, apache_kafka: T, probe: P)
where
    T: PartialEq + Debug,
    P: Fn(Broker, String) -> F,
    F: Future<Output = T>,
{
    let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
    let seen = probe(broker, format!("{tag}-embedded")).await;
    assert_eq!(seen, embedded, "what the embedded broker showed");
    if let Some(broker) = kafka::broker().await {
        let seen = probe(broker, kafka_tag(tag)).await;
        assert_eq!(seen, apache_kafka, "what Apache Kafka showed");
    }
}

/// The names of a probe's run on the shared Kafka: its tag and a nonce, so that a run
/// again in the same test binary meets no group of an earlier one.
fn kafka_tag(tag: &str) -> String {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{tag}-kafka-{nonce}")
}

/// A consumer of `group`, with the course's fast timers and `extra` settings.
fn member(bootstrap: &str, group: &str, extra: &[(&str, &str)]) -> BaseConsumer {
    let mut config: ClientConfig = client_config(bootstrap);
    config
        .set("group.id", group)
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .set("enable.auto.commit", "false")
        .set("partition.assignment.strategy", "range");
    for (key, value) in extra {
        config.set(*key, *value);
    }
    config.create().unwrap()
}

/// Polls `consumers` until each owns some partition; returns how many each owns.
fn settle(consumers: &[&BaseConsumer]) -> Vec<usize> {
    let deadline = Instant::now() + SETTLE;
    loop {
        for consumer in consumers {
            let _ = consumer.poll(Duration::from_millis(20));
        }
        let owned: Vec<usize> = consumers
            .iter()
            .map(|c| c.assignment().map_or(0, |a| a.count()))
            .collect();
        if owned.iter().all(|n| *n > 0) {
            return owned;
        }
        assert!(
            Instant::now() < deadline,
            "the group never settled: {owned:?}"
        );
    }
}

/// The first error a consumer's poll returns within `within`, as its code's name.
fn first_error(consumer: &BaseConsumer, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(Err(error)) = consumer.poll(Duration::from_millis(50)) {
            return Some(match error.rdkafka_error_code() {
                Some(code) => format!("{code:?}"),
                None => error.to_string(),
            });
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_timeout_outside_the_bounds_is_refused() {
    // group.min.session.timeout.ms is 6000 and the max 1800000 on both brokers:
    // GroupCoordinatorService.joinGroup answers INVALID_SESSION_TIMEOUT.
    let expected = vec![Some("InvalidSessionTimeout".to_string()); 2];
    on_both("session-bounds", expected, |broker, tag| async move {
        broker.create_topic(&tag, 1).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        tokio::task::spawn_blocking(move || {
            [("3000", "1000"), ("1800001", "3000")]
                .into_iter()
                .map(|(session, heartbeat)| {
                    let consumer = member(
                        &bootstrap,
                        &format!("{tag}-{session}"),
                        &[
                            ("session.timeout.ms", session),
                            ("heartbeat.interval.ms", heartbeat),
                            // librdkafka's own rule: the poll interval is no shorter.
                            ("max.poll.interval.ms", "1800001"),
                        ],
                    );
                    consumer.subscribe(&[&tag]).unwrap();
                    first_error(&consumer, SETTLE)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_from_outside_a_group_with_members_is_refused() {
    // A commit without a member id or generation (what admin tools send) is refused with
    // UNKNOWN_MEMBER_ID while the group has members, and accepted once it is Empty
    // (ClassicGroup.validateOffsetCommit).
    let expected = ("UnknownMemberId".to_string(), "accepted".to_string());
    on_both("outside-commit", expected, |broker, tag| async move {
        broker.create_topic(&tag, 2).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        tokio::task::spawn_blocking(move || {
            let inside = member(&bootstrap, &tag, &[]);
            inside.subscribe(&[&tag]).unwrap();
            settle(&[&inside]);
            let outside = member(&bootstrap, &tag, &[]);
            let mut offsets = TopicPartitionList::new();
            offsets
                .add_partition_offset(&tag, 0, Offset::Offset(0))
                .unwrap();
            let commit = |outside: &BaseConsumer| match outside.commit(&offsets, CommitMode::Sync) {
                Ok(()) => "accepted".to_string(),
                Err(KafkaError::ConsumerCommit(code)) => format!("{code:?}"),
                Err(other) => other.to_string(),
            };
            let while_member = commit(&outside);
            drop(inside); // closes: leaves the group, which is then Empty
            let deadline = Instant::now() + SETTLE;
            let after = loop {
                let answer = commit(&outside);
                if answer == "accepted" || Instant::now() > deadline {
                    break answer;
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            (while_member, after)
        })
        .await
        .unwrap()
    })
    .await;
}

/// What DescribeGroups says of a group, without its member ids.
#[derive(Debug, PartialEq, Clone)]
struct Described {
    state: String,
    assignor: String,
    owned: Vec<usize>,
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_and_delete_groups_answer_alike() {
    // Two range members of a 3-partition topic: Stable, range, 2 + 1. DeleteGroups refuses
    // a group with members (NON_EMPTY_GROUP) and deletes an empty one.
    let expected = (
        Described {
            state: "Stable".into(),
            assignor: "range".into(),
            owned: vec![1, 2],
        },
        "NonEmptyGroup".to_string(),
        "deleted".to_string(),
    );
    on_both("describe-delete", expected, |broker, tag| async move {
        broker.create_topic(&tag, 3).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        // The admin's futures are awaited from the blocking thread on this runtime.
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let first = member(&bootstrap, &tag, &[]);
            let second = member(&bootstrap, &tag, &[]);
            first.subscribe(&[&tag]).unwrap();
            second.subscribe(&[&tag]).unwrap();
            settle(&[&first, &second]);
            let report =
                consumer_group::describe(&bootstrap, &tag, std::slice::from_ref(&tag)).unwrap();
            let mut owned: Vec<usize> = report.members.iter().map(|m| m.owned.len()).collect();
            owned.sort();
            let described = Described {
                state: report.state,
                assignor: report.assignor,
                owned,
            };
            let admin: rdkafka::admin::AdminClient<_> = client_config(&bootstrap).create().unwrap();
            let delete = || {
                let options = rdkafka::admin::AdminOptions::new();
                let results = handle
                    .block_on(admin.delete_groups(&[tag.as_str()], &options))
                    .unwrap();
                match &results[0] {
                    Ok(_) => "deleted".to_string(),
                    Err((_, code)) => format!("{code:?}"),
                }
            };
            let with_members = delete();
            // Both leave; once the group is Empty it can go.
            drop((first, second));
            let deadline = Instant::now() + SETTLE;
            let empty = loop {
                let answer = delete();
                if answer == "deleted" || Instant::now() > deadline {
                    break answer;
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            (described, with_members, empty)
        })
        .await
        .unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn list_offsets_by_timestamp_finds_the_first_record_at_or_after() {
    // Records stamped t, t+1 s, t+2 s on partition 0, none on partition 1. The broker gives
    // the first offset stamped at or after each time, and -1 (End) where none is that late.
    let expected = vec![
        Offset::Offset(0),
        Offset::Offset(1),
        Offset::Offset(2),
        Offset::End,
        Offset::End,
    ];
    on_both("by-time", expected, |broker, tag| async move {
        broker.create_topic(&tag, 2).await.unwrap();
        let start = std::time::SystemTime::now() - Duration::from_secs(3600);
        let millis = move |after: u64| {
            (start + Duration::from_millis(after))
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64
        };
        let records: Vec<Outgoing> = [0, 1000, 2000]
            .into_iter()
            .map(|after| Outgoing {
                timestamp: Some(millis(after)),
                ..Outgoing::to_partition(0, format!("r{after}"))
            })
            .collect();
        broker.produce(&tag, &records).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        tokio::task::spawn_blocking(move || {
            let consumer = member(&bootstrap, &tag, &[]);
            let mut found = Vec::new();
            for (partition, after) in [(0, 0), (0, 500), (0, 2000), (0, 2001), (1, 0)] {
                let mut query = TopicPartitionList::new();
                query
                    .add_partition_offset(&tag, partition, Offset::Offset(millis(after)))
                    .unwrap();
                let answer = consumer
                    .offsets_for_times(query, Duration::from_secs(10))
                    .unwrap();
                found.push(answer.elements()[0].offset());
            }
            found
        })
        .await
        .unwrap()
    })
    .await;
}

/// Whether `elapsed` lies within `low..=high`, as a word the two brokers can agree on.
fn within(elapsed: Duration, low: Duration, high: Duration) -> Result<(), String> {
    if (low..=high).contains(&elapsed) {
        Ok(())
    } else {
        Err(format!("{elapsed:?} is outside {low:?}..={high:?}"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_rebalance_waits_the_initial_delay() {
    // Both brokers run with group.initial.rebalance.delay.ms = 300: a new group's first
    // member is assigned no sooner than that after it joins
    // (GroupMetadataManager.tryCompleteInitialRebalanceElseSchedule), and, the test's
    // bound, within 3 s more on a busy machine.
    on_both("initial-delay", Ok(()), |broker, tag| async move {
        broker.create_topic(&tag, 1).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        tokio::task::spawn_blocking(move || {
            let consumer = member(&bootstrap, &tag, &[]);
            // Connected and its coordinator found first, so that only the join is timed.
            consumer.fetch_metadata(Some(&tag), SETTLE).unwrap();
            let started = Instant::now();
            consumer.subscribe(&[&tag]).unwrap();
            settle(&[&consumer]);
            within(
                started.elapsed(),
                Duration::from_millis(300),
                Duration::from_millis(3300),
            )
        })
        .await
        .unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_leave_hands_over_within_a_heartbeat() {
    // A member that closes sends LeaveGroup; the coordinator rebalances at once, and the
    // survivor hears of it at its next heartbeat (500 ms): it owns everything within that,
    // plus the rejoin; the test's bound is 3 s in all. No session timeout (6 s) is waited.
    on_both("clean-leave", Ok(()), |broker, tag| async move {
        broker.create_topic(&tag, 3).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        tokio::task::spawn_blocking(move || {
            let survivor = member(&bootstrap, &tag, &[]);
            let leaver = member(&bootstrap, &tag, &[]);
            survivor.subscribe(&[&tag]).unwrap();
            leaver.subscribe(&[&tag]).unwrap();
            settle(&[&survivor, &leaver]);
            let left = Instant::now();
            drop(leaver);
            let deadline = left + SETTLE;
            while survivor.assignment().map_or(0, |a| a.count()) < 3 {
                let _ = survivor.poll(Duration::from_millis(20));
                assert!(
                    Instant::now() < deadline,
                    "the survivor never got everything"
                );
            }
            within(left.elapsed(), Duration::ZERO, Duration::from_secs(3))
        })
        .await
        .unwrap()
    })
    .await;
}

/// A member whose revoke callback commits, and notes the group's state around the commit.
struct CommitOnRevoke {
    bootstrap: String,
    group: String,
    topic: String,
    seen: Seen,
}

/// The group's state before a commit, the commit's outcome, and the state after it.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

impl rdkafka::ClientContext for CommitOnRevoke {}

impl rdkafka::consumer::ConsumerContext for CommitOnRevoke {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(revoked) = rebalance else {
            return;
        };
        if revoked.count() == 0 {
            return;
        }
        let state = || {
            consumer_group::describe(
                &self.bootstrap,
                &self.group,
                std::slice::from_ref(&self.topic),
            )
            .map_or_else(|e| e.to_string(), |report| report.state)
        };
        let before = state();
        let mut offsets = TopicPartitionList::new();
        for element in revoked.elements() {
            offsets
                .add_partition_offset(element.topic(), element.partition(), Offset::Offset(1))
                .unwrap();
        }
        let commit = match consumer.commit(&offsets, CommitMode::Sync) {
            Ok(()) => "accepted".to_string(),
            Err(error) => error.to_string(),
        };
        let after = state();
        self.seen.lock().unwrap().push((before, commit, after));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_commit_on_revoke_at_close_reaches_a_stable_group() {
    // Chapter 6: a member that closes runs its revoke callback, and the callback's commit,
    // before librdkafka sends LeaveGroup (rd_kafka_consumer_close: the rebalance callback
    // is served first, rd_kafka_cgrp_leave after it). So the commit reaches a group that
    // is still Stable, and the group is Stable after it too.
    let expected = vec![(
        "Stable".to_string(),
        "accepted".to_string(),
        "Stable".to_string(),
    )];
    on_both("commit-on-revoke", expected, |broker, tag| async move {
        broker.create_topic(&tag, 2).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        tokio::task::spawn_blocking(move || {
            let stays = member(&bootstrap, &tag, &[]);
            let mut config = client_config(&bootstrap);
            config
                .set("group.id", &tag)
                .set("session.timeout.ms", "6000")
                .set("heartbeat.interval.ms", "500")
                .set("enable.auto.commit", "false")
                .set("partition.assignment.strategy", "range");
            let seen = Seen::default();
            let context = CommitOnRevoke {
                bootstrap: bootstrap.clone(),
                group: tag.clone(),
                topic: tag.clone(),
                seen: seen.clone(),
            };
            let closes: BaseConsumer<CommitOnRevoke> = config.create_with_context(context).unwrap();
            stays.subscribe(&[&tag]).unwrap();
            closes.subscribe(&[&tag]).unwrap();
            let deadline = Instant::now() + SETTLE;
            while stays.assignment().map_or(0, |a| a.count()) == 0
                || closes.assignment().map_or(0, |a| a.count()) == 0
            {
                let _ = stays.poll(Duration::from_millis(20));
                let _ = closes.poll(Duration::from_millis(20));
                assert!(Instant::now() < deadline, "the group never settled");
            }
            // Only the close is judged: a revoke while the group formed (on a busy machine
            // the two may not join in one generation) met a group preparing a rebalance.
            seen.lock().unwrap().clear();
            // Dropping closes: librdkafka serves the revoke callback, then leaves.
            drop(closes);
            let seen = seen.lock().unwrap().clone();
            seen
        })
        .await
        .unwrap()
    })
    .await;
}

/// A consumer-protocol member that notes every partition it is made to revoke.
#[derive(Default, Clone)]
struct Revocations(Arc<Mutex<Vec<i32>>>);

impl rdkafka::ClientContext for Revocations {}

impl rdkafka::consumer::ConsumerContext for Revocations {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(revoked) = rebalance {
            let mut seen = self.0.lock().unwrap();
            seen.extend(revoked.elements().iter().map(|e| e.partition()));
        }
    }
}

/// The partitions a consumer owns, sorted.
fn owned<C: rdkafka::consumer::ConsumerContext>(consumer: &BaseConsumer<C>) -> Vec<i32> {
    let mut partitions: Vec<i32> = consumer.assignment().map_or(Vec::new(), |list| {
        list.elements().iter().map(|e| e.partition()).collect()
    });
    partitions.sort();
    partitions
}

/// What the consumer-protocol probe observes.
#[derive(Debug, PartialEq, Clone)]
struct Incremental {
    refused: Vec<(String, bool)>,
    first_alone_owns: usize,
    revoked_and_kept: Vec<i32>,
    both_own: usize,
    second_owns_some: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn the_consumer_protocol_never_revokes_what_a_member_keeps() {
    // KIP-848 (group.protocol=consumer): the broker assigns, and a change only revokes the
    // partitions that move: a member never revokes one it keeps. librdkafka refuses the
    // settings that moved to the broker (session timeout, heartbeat interval, assignor).
    // Four partitions: one member owns all four; a second joins and takes some; the first
    // gives up only those.
    let expected = Incremental {
        refused: lab_contract::lab11::BROKER_SIDE_SETTINGS
            .iter()
            .map(|(setting, _)| (setting.to_string(), true))
            .collect(),
        first_alone_owns: 4,
        revoked_and_kept: Vec::new(),
        both_own: 4,
        second_owns_some: true,
    };
    on_both("kip848", expected, |broker, tag| async move {
        broker.create_topic(&tag, 4).await.unwrap();
        let bootstrap = broker.bootstrap().to_string();
        tokio::task::spawn_blocking(move || {
            let config = || {
                let mut config = client_config(&bootstrap);
                config
                    .set("group.id", &tag)
                    .set("group.protocol", "consumer")
                    .set("enable.auto.commit", "false");
                config
            };
            let refused = lab_contract::lab11::BROKER_SIDE_SETTINGS
                .iter()
                .map(|(setting, value)| {
                    let created: Result<BaseConsumer, _> = config().set(*setting, *value).create();
                    (setting.to_string(), created.is_err())
                })
                .collect();
            let revocations = Revocations::default();
            let first: BaseConsumer<Revocations> =
                config().create_with_context(revocations.clone()).unwrap();
            first.subscribe(&[&tag]).unwrap();
            let deadline = Instant::now() + SETTLE;
            while owned(&first).len() < 4 {
                let _ = first.poll(Duration::from_millis(20));
                assert!(
                    Instant::now() < deadline,
                    "the first member never owned all"
                );
            }
            let first_alone_owns = owned(&first).len();
            revocations.0.lock().unwrap().clear();
            let second: BaseConsumer = config().create().unwrap();
            second.subscribe(&[&tag]).unwrap();
            // Settled: the two own all four between them, none twice.
            let deadline = Instant::now() + SETTLE;
            loop {
                let _ = first.poll(Duration::from_millis(20));
                let _ = second.poll(Duration::from_millis(20));
                let (a, b) = (owned(&first), owned(&second));
                if !b.is_empty() && a.len() + b.len() == 4 && a.iter().all(|p| !b.contains(p)) {
                    break;
                }
                assert!(Instant::now() < deadline, "never split: {a:?} {b:?}");
            }
            let kept = owned(&first);
            let revoked_and_kept = revocations
                .0
                .lock()
                .unwrap()
                .iter()
                .copied()
                .filter(|p| kept.contains(p))
                .collect();
            Incremental {
                refused,
                first_alone_owns,
                revoked_and_kept,
                both_own: kept.len() + owned(&second).len(),
                second_owns_some: !owned(&second).is_empty(),
            }
        })
        .await
        .unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn flexible_metadata_answers_end_where_kafka_ends_them() {
    // The raw client refuses an answer with bytes after it; the mock added one to every
    // flexible Metadata answer (embedded-broker `topic_admin::reencode_flexible_metadata`).
    on_both(
        "metadata-end",
        vec![(9, 1), (12, 1)],
        |broker, tag| async move {
            broker.create_topic(&tag, 1).await.unwrap();
            let mut found = Vec::new();
            for version in [9, 12] {
                let mut connection = wire::Connection::open(broker.bootstrap()).await;
                let request =
                    kafka_protocol::messages::MetadataRequest::default().with_topics(Some(vec![
                        kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                            .with_name(Some(kafka_protocol::messages::TopicName(wire::text(&tag)))),
                    ]));
                let answer = connection.send(&request, version).await;
                found.push((version, answer.topics.len()));
            }
            found
        },
    )
    .await;
}
