//! The consumer: a static member of its group.

use lab_contract::AssignmentPrinter;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::ClientConfig;

/// An instance's consumer; its rebalances are printed by `AssignmentPrinter`.
pub type Counter = StreamConsumer<AssignmentPrinter>;

/// How the consumer's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// On SIGINT or SIGTERM.
    Stopped,
    /// Another consumer joined with the same instance id and took this one's place.
    Fenced,
}

/// Creates instance `instance` of the counter, a member of `group`, subscribed to `topic`.
pub fn join(topic: &str, group: &str, instance: &str) -> Counter {
    let _ = instance;
    let consumer: Counter = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        // ANCHOR: todo
        // TODO: make this consumer a static member, known to the group by `instance`.
        // ANCHOR_END: todo
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create_with_context(AssignmentPrinter { member: None })
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
}

/// Prints every page view `consumer` receives, until SIGINT or SIGTERM, or until the
/// consumer is fenced.
pub async fn run(consumer: &Counter) -> Ending {
    let shutdown = lab_contract::shutdown_signal();
    tokio::pin!(shutdown);
    // ANCHOR: todo_run
    // TODO: until the shutdown signal, receive and print every page view. When recv()
    // reports a fatal error, this consumer has been fenced: print `fenced` and return
    // Ending::Fenced.
    let _ = (consumer, &mut shutdown, [Ending::Stopped, Ending::Fenced]);
    todo!("receive the page views")
    // ANCHOR_END: todo_run
}
