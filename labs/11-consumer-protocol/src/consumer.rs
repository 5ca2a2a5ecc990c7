//! A member of a consumer-protocol group.

use lab_contract::AssignmentPrinter;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};

/// A member; its assignment changes are printed by `AssignmentPrinter`.
pub type Tracker = StreamConsumer<AssignmentPrinter>;

/// Why the client refuses a consumer-protocol consumer that sets `setting` to `value`, or
/// `None` if it accepts it.
pub fn refusal(group: &str, setting: &str, value: &str) -> Option<String> {
    // ANCHOR: todo
    // TODO: try to create a consumer with the protocol's settings and `setting` set to
    // `value`, and return the client's reason for refusing it (or None if it did not).
    let _ = (group, setting, value);
    todo!("ask the client")
    // ANCHOR_END: todo
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
    // ANCHOR: todo_config
    // TODO: a member of `group` at lab_contract::bootstrap_servers() that speaks the
    // consumer protocol (KIP-848) instead of the classic one, and starts from the earliest
    // offset.
    let _ = (group, &mut config);
    // ANCHOR_END: todo_config
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
