//! Step 2: send each order to the partition its index names.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
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

    // ANCHOR: solution
    let partitions = partition_count(&producer, topic);
    for (index, order) in orders().iter().enumerate() {
        // An explicit partition replaces the key hash, so the index alone decides where
        // the order lands.
        let partition = index as i32 % partitions;
        let record = FutureRecord::<(), _>::to(topic)
            .partition(partition)
            .payload(order.as_str());
        let delivery = producer
            .send(record, TIMEOUT)
            .await
            .unwrap_or_else(|(e, _)| panic!("delivery of {order} failed: {e}"));
        println!(
            "sent {order} partition={} offset={}",
            delivery.partition, delivery.offset
        );
    }
    // ANCHOR_END: solution
}

/// The number of partitions of `topic`, as the broker reports it.
fn partition_count(producer: &FutureProducer, topic: &str) -> i32 {
    let metadata = producer
        .client()
        .fetch_metadata(Some(topic), TIMEOUT)
        .expect("metadata request failed");
    let topic_metadata = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .unwrap_or_else(|| panic!("the broker did not describe {topic}"));
    if let Some(e) = topic_metadata.error() {
        panic!("the broker cannot describe {topic}: {e:?}");
    }
    topic_metadata.partitions().len() as i32
}
