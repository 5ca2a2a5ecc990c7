//! Step 2: one worker, sequential within its partitions, committing after processing.

use std::time::Duration;

use lab_contract::AssignmentPrinter;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientConfig, Message};
use serde::Deserialize;
use tokio::sync::watch;

/// A worker's consumer; its rebalances are printed with its member number.
pub type Worker = StreamConsumer<AssignmentPrinter>;

/// Creates worker number `member`, a member of `group`, subscribed to `topic`.
pub fn join(member: usize, topic: &str, group: &str) -> Worker {
    let consumer: Worker = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        // Auto-commit would store each offset as soon as recv() returns the message, so a
        // crash mid-processing could commit a message nobody finished.
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create_with_context(AssignmentPrinter {
            member: Some(member),
        })
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
}

/// Processes and commits the messages `consumer` receives, one at a time, until `stop` is
/// raised; then hands the consumer back, still a member of the group, for closing.
pub async fn consume(
    member: usize,
    consumer: Worker,
    mut stop: watch::Receiver<bool>,
    work: Duration,
) -> Worker {
    // ANCHOR: solution
    loop {
        // The flag is watched only while waiting for a message. recv() is cancel-safe, so
        // losing this race to the flag loses no message.
        let received = tokio::select! {
            biased;
            _ = stop.changed() => break,
            received = consumer.recv() => received,
        };
        match received {
            Ok(message) => handle(member, &consumer, &message, work).await,
            Err(e) => eprintln!("consumer {member}: receive failed: {e}"),
        }
    }
    consumer
}

/// Processes `message`, then commits it: a crash in between leaves it to be processed again
/// (at-least-once), never to be skipped. A message that is not a job is logged, committed
/// past and skipped.
async fn handle(member: usize, consumer: &Worker, message: &BorrowedMessage<'_>, work: Duration) {
    let (partition, offset) = (message.partition(), message.offset());
    let job = match decode(message) {
        Ok(job) => job,
        Err(e) => {
            // It will not decode next time either: retrying would stall the partition, and
            // not committing would hand it to the next owner to fail on again. Log it for
            // someone to look at, commit past it, and go on with the next message.
            eprintln!("consumer {member}: partition {partition} offset {offset} is not a job: {e}");
            match consumer.commit_message(message, CommitMode::Sync) {
                Ok(()) => {
                    println!("consumer {member} skipped partition={partition} offset={offset}")
                }
                Err(e) => eprintln!("consumer {member}: commit past offset {offset} failed: {e}"),
            }
            return;
        }
    };
    let id = job.id;
    println!("consumer {member} started id={id} partition={partition} offset={offset}");
    process(work).await;
    // Commits offset + 1, the position the partition's next owner resumes from.
    match consumer.commit_message(message, CommitMode::Sync) {
        Ok(()) => {
            println!("consumer {member} committed id={id} partition={partition} offset={offset}")
        }
        Err(e) => eprintln!("consumer {member}: commit of id={id} failed: {e}"),
    }
    // ANCHOR_END: solution
}

/// A message of the topic: a job, as JSON (`{"id": "7"}`), as the seed's producer writes it.
#[derive(Deserialize)]
pub struct Job {
    /// Which job.
    pub id: String,
}

/// The job in `message`, or why its value is not one.
pub fn decode(message: &BorrowedMessage<'_>) -> serde_json::Result<Job> {
    serde_json::from_slice(message.payload().unwrap_or_default())
}

/// The simulated work on one message.
async fn process(work: Duration) {
    tokio::time::sleep(work).await;
}
