//! Step 1: the producer, one message to one partition.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

/// Sends `message` to `partition` of `topic` and waits until the broker has stored it.
pub async fn produce(topic: &str, partition: i32, message: &str) -> Result<(), KafkaError> {
    // ANCHOR: solution
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .create()?;
    let record = FutureRecord::<(), _>::to(topic)
        .partition(partition)
        .payload(message);
    // Awaiting the delivery is what keeps the message: a producer dropped with the message
    // still in its queue would exit without sending it.
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)?;
    Ok(())
    // ANCHOR_END: solution
}
