//! A member of a consumer-protocol group.

use lab_contract::AssignmentPrinter;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};

/// A member; its assignment changes are printed by `AssignmentPrinter`.
pub type Tracker = StreamConsumer<AssignmentPrinter>;

/// Why the client refuses a consumer-protocol consumer that sets `setting` to `value`, or
/// `None` if it accepts it.
pub fn refusal(group: &str, setting: &str, value: &str) -> Option<String> {
    // ANCHOR: solution
    let created: Result<Tracker, _> = protocol_config(group)
        .set(setting, value)
        .create_with_context(AssignmentPrinter { member: None });
    // The check is librdkafka's, at creation: the consumer never reaches the broker.
    created.err().map(|e| e.to_string())
    // ANCHOR_END: solution
}

/// Creates a member of `group` on `topic` that speaks the consumer protocol.
pub fn join(topic: &str, group: &str) -> Tracker {
    let consumer: Tracker = protocol_config(group)
        .create_with_context(AssignmentPrinter { member: None })
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
}

/// The settings of a consumer-protocol member of `group`.
fn protocol_config(group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    // ANCHOR: config
    config
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        // KIP-848: the broker assigns the partitions and paces the group; the member only
        // heartbeats and reconciles what it is told, one partition at a time.
        .set("group.protocol", "consumer")
        // The assignor now lives on the broker; `uniform` is Kafka's default, spelled out.
        .set("group.remote.assignor", "uniform")
        .set("auto.offset.reset", "earliest");
    // ANCHOR_END: config
    config
}

/// Prints every parcel `consumer` receives, until SIGINT or SIGTERM.
pub async fn run(consumer: &Tracker) {
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
}
