//! Steps 1, 4 and 5: the click processor, and how it leaves the group.

// The names your code needs: unused until you write it.
#[allow(unused_imports)]
use rdkafka::{
    consumer::{Consumer, StreamConsumer},
    ClientConfig, Message,
};

use crate::context::ClickContext;

/// A consumer whose rebalances reach `ClickContext`.
pub type Clicks = StreamConsumer<ClickContext>;

/// Creates a member of `group` on `topic` that uses `assignor` to share the partitions.
pub fn join(topic: &str, group: &str, assignor: &str) -> Clicks {
    // ANCHOR: join
    let consumer: Clicks = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // Every member must list the same kind of assignor: librdkafka refuses to mix eager
        // and cooperative ones, and the group can only use one all members support.
        .set("partition.assignment.strategy", assignor)
        // TODO (steps 1 and 5): as it stands, librdkafka commits on a timer of its own, which
        // knows nothing of rebalances, and a crashed member keeps its partitions, unread, for
        // librdkafka's default session of 45 s. Turn automatic commits off (your callback
        // will commit), and give the member the lab's group timers (the chapter names them).
        .create_with_context(ClickContext)
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
    // ANCHOR_END: join
}

/// Prints `received <click> partition=<p> offset=<o>` for every click until SIGINT or
/// SIGTERM, then leaves the group.
pub async fn run(consumer: Clicks) {
    // ANCHOR: run
    // TODO (steps 1 and 4): until SIGINT or SIGTERM (`lab_contract::shutdown_signal()`),
    // receive clicks and print `received <click> partition=<p> offset=<o>` for each, where
    // the click is the message's value. On the signal, leave the group cleanly: close the
    // consumer, which revokes its partitions through your callback and tells the broker it
    // is leaving, so the group rebalances at once.
    let _ = consumer;
    todo!("steps 1 and 4: receive clicks until a signal, then leave the group")
    // ANCHOR_END: run
}
