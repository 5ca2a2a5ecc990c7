//! The consumer: a static member of its group.

use lab_contract::AssignmentPrinter;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message};

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
    let consumer: Counter = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        // ANCHOR: solution
        // A static member: the group knows it by this id, not by the member id the broker
        // hands out at each join, so a restart of the same instance is not a new member.
        .set("group.instance.id", instance)
        // ANCHOR_END: solution
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
    // ANCHOR: run
    loop {
        let received = tokio::select! {
            _ = &mut shutdown => return Ending::Stopped,
            received = consumer.recv() => received,
        };
        match received {
            Ok(message) => println!(
                "received {} partition={} offset={}",
                message
                    .payload_view::<str>()
                    .and_then(Result::ok)
                    .unwrap_or(""),
                message.partition(),
                message.offset()
            ),
            // A fatal error ends the consumer for good: with a group.instance.id it is
            // almost always FENCED_INSTANCE_ID, another process having joined as this
            // instance.
            Err(KafkaError::MessageConsumptionFatal(code)) => {
                let reason = consumer.client().fatal_error().map(|(_, reason)| reason);
                eprintln!("fatal: {code}: {}", reason.unwrap_or_default());
                println!("fenced");
                return Ending::Fenced;
            }
            Err(e) => eprintln!("receive failed: {e}"),
        }
    }
    // ANCHOR_END: run
}
