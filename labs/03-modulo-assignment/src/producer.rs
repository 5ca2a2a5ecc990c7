//! Step 2: send each order to the partition its index names.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

use crate::orders::orders;

/// How long to wait for the broker, for metadata and for each delivery.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends order i of `orders()` to partition i % (the partition count of `topic`), and prints
/// `sent <order> partition=<p> offset=<o>` for each.
pub async fn produce(topic: &str) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .create()
        .expect("producer creation failed");

    // ANCHOR: todo
    // TODO: here the hash of the key decides the partition, so order i lands on partition
    // i % partitions only by luck. Ask the broker how many partitions the topic has, and send
    // order i to partition i % that count, with no key.
    for order in orders() {
        let record = FutureRecord::to(topic).key(&order).payload(&order);
        let delivery = producer
            .send(record, TIMEOUT)
            .await
            .unwrap_or_else(|(e, _)| panic!("delivery of {order} failed: {e}"));
        println!(
            "sent {order} partition={} offset={}",
            delivery.partition, delivery.offset
        );
    }
    // ANCHOR_END: todo
}
