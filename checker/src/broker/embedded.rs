//! The embedded broker: librdkafka's mock cluster behind a group coordinator that behaves
//! like Apache Kafka's (the `embedded-broker` crate), running inside the checker process.
//!
//! It speaks the Kafka protocol on 127.0.0.1, so lab processes connect to it like to any
//! broker, and it needs nothing installed. Where it still differs from Apache Kafka, the book
//! says so (`book/src/brokers.md`); the scenarios wait on events, so their verdicts do not
//! depend on those differences.

use std::time::Duration;

use anyhow::Result;
pub use embedded_broker::EmbeddedBroker;
use embedded_broker::Options;

/// How long the group coordinator waits for more members after the first one joins an empty
/// group (Apache Kafka's `group.initial.rebalance.delay.ms`, 3000 by default).
///
/// A lab starts all its members at once, and they reach the coordinator within about 100 ms
/// of each other (more on a busy machine). 300 ms lets them all into the first generation,
/// and a member that still comes late costs one more rebalance, about one heartbeat
/// interval, not a wrong verdict. Measured with the benchmark (`cargo bench -p checker
/// --bench verdicts`), idle and with both cores busy: 1000 ms made a group of four wait
/// 2 s (the delay is extended once while members arrive) for no fewer rebalances; 0 ms
/// added a rebalance to half the groups and made lab times bimodal.
pub const INITIAL_REBALANCE_DELAY: Duration = Duration::from_millis(300);

/// How often members of a KIP-848 group heartbeat (Apache Kafka's
/// `group.consumer.heartbeat.interval.ms`, 5000 by default, and no less than
/// `group.consumer.min.heartbeat.interval.ms`, also 5000). A consumer-protocol member hears
/// of a change to its assignment only in a heartbeat's answer, so this sets the pace of
/// lab 11: 500 ms, the course's classic heartbeat, instead of Kafka's 5 s.
pub const CONSUMER_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(500);

/// Starts the course's embedded broker on a free port of 127.0.0.1.
pub fn start() -> Result<EmbeddedBroker> {
    EmbeddedBroker::start_with(Options {
        initial_rebalance_delay: INITIAL_REBALANCE_DELAY,
        consumer_heartbeat_interval: CONSUMER_HEARTBEAT_INTERVAL,
        ..Options::default()
    })
}
