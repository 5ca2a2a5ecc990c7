//! Real librdkafka consumers against the embedded broker: how long a group takes to hand a
//! leaving member's partitions to the survivor, and static membership across a restart.
//!
//! Apache Kafka completes a rebalance once every remaining member has rejoined; a member
//! learns of the rebalance from its next heartbeat. So a clean leave costs about one
//! `heartbeat.interval.ms`, whatever the session timeout: these tests hold the embedded
//! broker to heartbeat + 1 s. (librdkafka's mock alone took `session.timeout.ms − 1 s`.)

use std::time::{Duration, Instant};

use embedded_broker::{EmbeddedBroker, Options};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

const PARTITIONS: i32 = 3;

fn broker() -> EmbeddedBroker {
    let broker = EmbeddedBroker::start_with(Options {
        initial_rebalance_delay: Duration::from_millis(300),
        ..Options::default()
    })
    .expect("broker");
    broker.create_topic("clicks", PARTITIONS).expect("topic");
    broker
}

fn consumer(broker: &EmbeddedBroker, group: &str, settings: &[(&str, &str)]) -> BaseConsumer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", group)
        .set("partition.assignment.strategy", "range");
    for (key, value) in settings {
        config.set(*key, *value);
    }
    let consumer: BaseConsumer = config.create().expect("consumer");
    consumer.subscribe(&["clicks"]).expect("subscribe");
    consumer
}

/// The partitions `consumer` owns now.
fn partitions(consumer: &BaseConsumer) -> Vec<i32> {
    consumer.assignment().map_or_else(
        |_| Vec::new(),
        |list| list.elements().iter().map(|e| e.partition()).collect(),
    )
}

fn owned(consumer: &BaseConsumer) -> usize {
    partitions(consumer).len()
}

/// Whether `a` and `b` share every partition between them, each owning some.
fn split(a: &BaseConsumer, b: &BaseConsumer) -> bool {
    owned(a) + owned(b) == PARTITIONS as usize && owned(a) > 0 && owned(b) > 0
}

/// Polls every consumer until `done` holds, or fails after `limit`.
fn poll_until(
    consumers: &[&BaseConsumer],
    limit: Duration,
    what: &str,
    done: impl Fn() -> bool,
) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        for consumer in consumers {
            let _ = consumer.poll(Duration::from_millis(20));
        }
    }
    start.elapsed()
}

fn clean_leave_handover(settings: &[(&str, &str)], heartbeat: Duration) {
    let broker = broker();
    let group = format!("g-{}", std::process::id());
    let survivor = consumer(&broker, &group, settings);
    let leaver = consumer(&broker, &group, settings);
    poll_until(
        &[&survivor, &leaver],
        Duration::from_secs(20),
        "the 2 + 1 split",
        || split(&survivor, &leaver),
    );
    drop(leaver); // closes: LeaveGroup
    let took = poll_until(
        &[&survivor],
        Duration::from_secs(20),
        "the survivor to own every partition",
        || owned(&survivor) == PARTITIONS as usize,
    );
    eprintln!("clean leave handed over in {took:?} (heartbeat {heartbeat:?})");
    assert!(
        took <= heartbeat + Duration::from_secs(1),
        "handover took {took:?}, more than heartbeat.interval.ms + 1 s"
    );
}

#[test]
fn a_clean_leave_hands_over_within_a_heartbeat_with_librdkafka_defaults() {
    // session.timeout.ms 45000, heartbeat.interval.ms 3000.
    clean_leave_handover(&[], Duration::from_millis(3000));
}

#[test]
fn a_clean_leave_hands_over_within_a_heartbeat_with_lab_settings() {
    clean_leave_handover(
        &[
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "500"),
        ],
        Duration::from_millis(500),
    );
}

#[test]
fn a_restarted_static_member_keeps_its_partitions_without_a_rebalance() {
    let broker = broker();
    let group = format!("static-{}", std::process::id());
    let settings = [
        ("session.timeout.ms", "10000"),
        ("heartbeat.interval.ms", "500"),
    ];
    let other = consumer(&broker, &group, &settings);
    let static_settings = [settings[0], settings[1], ("group.instance.id", "clicks-1")];
    let first = consumer(&broker, &group, &static_settings);
    poll_until(
        &[&other, &first],
        Duration::from_secs(20),
        "the split",
        || split(&other, &first),
    );
    let kept = partitions(&first);
    let before = broker.describe_group(&group);
    // A static member sends no LeaveGroup when it closes (KIP-345): its partitions wait for it.
    drop(first);
    let again = consumer(&broker, &group, &static_settings);
    poll_until(
        &[&other, &again],
        Duration::from_secs(10),
        "the restarted member's partitions",
        || owned(&again) > 0,
    );
    let back = partitions(&again);
    assert_eq!(
        back, kept,
        "the restarted static member got its own partitions back"
    );
    let after = broker.describe_group(&group);
    assert_eq!(after.state, "Stable");
    assert_eq!(after.members.len(), 2);
    let ids = |d: &embedded_broker::GroupDescription| {
        let mut ids: Vec<Option<String>> =
            d.members.iter().map(|m| m.instance_id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&before), ids(&after));
}
