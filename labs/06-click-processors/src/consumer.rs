//! Steps 1, 4 and 5: the click processor, and how it leaves the group.

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};

use crate::context::ClickContext;

/// A consumer whose rebalances reach `ClickContext`.
pub type Clicks = StreamConsumer<ClickContext>;

/// Creates a member of `group` on `topic` that uses `assignor` to share the partitions.
pub fn join(topic: &str, group: &str, assignor: &str) -> Clicks {
    // ANCHOR: todo
    let consumer: Clicks = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // Every member must list the same kind of assignor: librdkafka refuses to mix eager
        // and cooperative ones, and the group can only use one all members support.
        .set("partition.assignment.strategy", assignor)
        // TODO: session.timeout.ms is left at librdkafka's default, 45 s: a crashed member
        // keeps its partitions, unread, for that long. Set it to 6000 (the smallest a default
        // Apache Kafka broker accepts) and heartbeat.interval.ms to 1000.
        .create_with_context(ClickContext)
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
    // ANCHOR_END: todo
}

/// Prints `received <click> partition=<p> offset=<o>` for every click until SIGINT or
/// SIGTERM, then commits and leaves the group.
pub async fn run(consumer: Clicks) {
    let shutdown = lab_contract::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            received = consumer.recv() => match received {
                Ok(message) => println!(
                    "received {} partition={} offset={}",
                    message.payload_view::<str>().and_then(Result::ok).unwrap_or(""),
                    message.partition(),
                    message.offset()
                ),
                Err(e) => eprintln!("receive failed: {e}"),
            },
        }
    }
    // Auto-commit would also commit on close; committing here first makes the survivor
    // resume after the last click this member printed. Nothing consumed means nothing to
    // commit, which is not worth reporting.
    let _ = consumer.commit_consumer_state(CommitMode::Sync);
    // Dropping closes the consumer: it revokes its partitions and sends LeaveGroup, so the
    // group rebalances at once instead of after the session timeout.
    drop(consumer);
}
