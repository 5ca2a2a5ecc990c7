//! Steps 1, 4 and 5: the click processor, and how it leaves the group.

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};

use crate::context::ClickContext;

/// A consumer whose rebalances reach `ClickContext`.
pub type Clicks = StreamConsumer<ClickContext>;

/// Creates a member of `group` on `topic` that uses `assignor` to share the partitions.
pub fn join(topic: &str, group: &str, assignor: &str) -> Clicks {
    // ANCHOR: solution
    let consumer: Clicks = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // Every member must list the same kind of assignor: librdkafka refuses to mix eager
        // and cooperative ones, and the group can only use one all members support.
        .set("partition.assignment.strategy", assignor)
        // A crashed member holds its partitions until its session expires: 6 s instead of
        // the default 45 s. 6000 is the smallest a default Apache Kafka broker accepts.
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "1000")
        // Commits happen when partitions are revoked (ClickContext), not on a timer that
        // knows nothing of rebalances.
        .set("enable.auto.commit", "false")
        .create_with_context(ClickContext)
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
    // ANCHOR_END: solution
}

/// Prints `received <click> partition=<p> offset=<o>` for every click until SIGINT or
/// SIGTERM, then leaves the group.
pub async fn run(consumer: Clicks) {
    // ANCHOR: run
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
    // Dropping closes the consumer: it revokes its partitions (ClickContext commits what was
    // received) and sends LeaveGroup, so the group rebalances at once instead of after the
    // session timeout.
    drop(consumer);
    // ANCHOR_END: run
}
