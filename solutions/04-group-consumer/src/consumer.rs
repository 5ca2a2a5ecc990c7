//! Step 2: the consumer, `count` messages read as a member of a group.

use lab_contract::AssignmentPrinter;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Message};

/// Joins `group` on `topic`, prints `Message from partition [<p>]: <message>` for each of
/// `count` messages, commits and returns. Rebalances are printed by `AssignmentPrinter`.
pub async fn consume(topic: &str, group: &str, count: usize) {
    // ANCHOR: solution
    let consumer: StreamConsumer<AssignmentPrinter> = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        // A new group has no committed offsets; without this it would start at the end of
        // each partition and miss what was written before it joined.
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create_with_context(AssignmentPrinter { member: None })
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");

    let mut received = 0;
    while received < count {
        match consumer.recv().await {
            Ok(message) => {
                received += 1;
                println!(
                    "Message from partition [{}]: {}",
                    message.partition(),
                    message
                        .payload_view::<str>()
                        .and_then(Result::ok)
                        .unwrap_or("")
                );
            }
            Err(e) => eprintln!("receive failed: {e}"),
        }
    }
    match consumer.commit_consumer_state(CommitMode::Sync) {
        // With a count of 0 nothing was read, so there is nothing to commit.
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => eprintln!("commit failed: {e}"),
    }
    // ANCHOR_END: solution
}
