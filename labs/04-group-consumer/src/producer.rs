//! Step 1: the producer, one message to one partition.

use rdkafka::error::KafkaError;

/// Sends `message` to `partition` of `topic` and waits until the broker has stored it.
pub async fn produce(topic: &str, partition: i32, message: &str) -> Result<(), KafkaError> {
    // ANCHOR: todo
    // TODO: create a FutureProducer for lab_contract::bootstrap_servers(), send `message` to
    // `partition` of `topic`, and await the delivery before returning.
    let _ = (topic, partition, message);
    todo!("send the message")
    // ANCHOR_END: todo
}
