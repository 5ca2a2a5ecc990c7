//! The consumer: where its offsets are stored and committed decides the guarantee.

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::ClientConfig;

use crate::guarantee::Guarantee;

/// Creates a member of `group`, subscribed to `topic`, configured for `guarantee`.
pub fn join(guarantee: Guarantee, topic: &str, group: &str) -> StreamConsumer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500");
    // ANCHOR: todo
    // TODO: configure who commits, and when, for each guarantee. As it is, librdkafka
    // stores a message's offset as soon as recv() returns it and commits the stored offsets
    // every 5 s: neither guarantee holds.
    let _ = guarantee;
    // ANCHOR_END: todo
    let consumer: StreamConsumer = config.create().expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
}

/// Processes the payments `consumer` receives, one at a time, printing `started` and
/// `processed` lines, until SIGINT or SIGTERM.
pub async fn consume(guarantee: Guarantee, consumer: &StreamConsumer, work: Duration) {
    // ANCHOR: todo_consume
    // TODO: until lab_contract::shutdown_signal() resolves, receive each payment, print
    // `started <payment> partition=<p> offset=<o>`, process it with
    // crate::payment::process(work), print `processed <payment> partition=<p> offset=<o>`,
    // and commit or store its offset where the guarantee needs it.
    let _ = (guarantee, consumer, work, crate::payment::process);
    todo!("process the payments")
    // ANCHOR_END: todo_consume
}
