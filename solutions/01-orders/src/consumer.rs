//! Step 2: read the orders back in a consumer group.

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};

use crate::orders::ORDERS;

/// Reads `ORDERS.len()` orders from the start of `topic` as a member of `group`, prints
/// `received <order> key=<customer> partition=<p> offset=<o>` for each, commits and returns.
pub async fn consume(topic: &str, group: &str) {
    // ANCHOR: solution
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");

    for _ in 0..ORDERS.len() {
        let message = consumer.recv().await.expect("receive failed");
        let key = message.key_view::<str>().and_then(Result::ok).unwrap_or("");
        let order = message
            .payload_view::<str>()
            .and_then(Result::ok)
            .unwrap_or("");
        println!(
            "received {order} key={key} partition={} offset={}",
            message.partition(),
            message.offset()
        );
    }
    // The group's committed offsets are what a restarted member resumes from.
    consumer
        .commit_consumer_state(CommitMode::Sync)
        .expect("commit failed");
    // ANCHOR_END: solution
}
