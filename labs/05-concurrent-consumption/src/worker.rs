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
    stop: watch::Receiver<bool>,
    work: Duration,
) -> Worker {
    // ANCHOR: todo
    // TODO (step 3): `stop` is never looked at, so this loop only ends when its task is
    // dropped, possibly mid-message. Wait for either the next message or the flag, and on
    // the flag leave the loop and hand the consumer back. Watch the flag only while waiting:
    // a message in hand must be finished and committed.
    let _ = stop;
    loop {
        match consumer.recv().await {
            Ok(message) => handle(member, &consumer, &message, work).await,
            Err(e) => eprintln!("consumer {member}: receive failed: {e}"),
        }
    }
}

/// Processes `message`, then commits it: a crash in between leaves it to be processed again
/// (at-least-once), never to be skipped. A message that is not a job is logged, committed
/// past and skipped.
async fn handle(member: usize, consumer: &Worker, message: &BorrowedMessage<'_>, work: Duration) {
    let (partition, offset) = (message.partition(), message.offset());
    // TODO (step 2): a message that is not a job panics the worker here, and the whole
    // program with it. It will not decode next time either: log it on stderr, commit past
    // it, print `consumer <member> skipped partition=<p> offset=<o>` once the commit has
    // succeeded, and go on with the next message.
    let job = decode(message).expect("a message that is not a job");
    let id = job.id;
    println!("consumer {member} started id={id} partition={partition} offset={offset}");
    // TODO (step 2): this commits the message before it is processed. A crash or a stop during
    // the work below then loses the message: the group believes it is done. Commit after
    // processing, and print `committed` only once the commit has succeeded.
    match consumer.commit_message(message, CommitMode::Sync) {
        Ok(()) => {
            println!("consumer {member} committed id={id} partition={partition} offset={offset}")
        }
        Err(e) => eprintln!("consumer {member}: commit of id={id} failed: {e}"),
    }
    process(work).await;
    // ANCHOR_END: todo
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
