//! The consumer: it must call `recv()` at least every `max.poll.interval.ms`, whatever the
//! jobs cost.

use lab_contract::{lab08, AssignmentPrinter};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tokio::sync::mpsc;

use crate::job::{self, Job};

/// The consumer; its rebalances are printed by `AssignmentPrinter`.
pub type Renderer = StreamConsumer<AssignmentPrinter>;

/// Creates a member of `group`, subscribed to `topic`.
pub fn join(topic: &str, group: &str) -> Renderer {
    let consumer: Renderer = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        // The longest the application may go without calling recv(): past it, librdkafka
        // decides the application is stuck and leaves the group. Kafka's default is 5 min;
        // librdkafka refuses less than session.timeout.ms.
        .set(
            "max.poll.interval.ms",
            lab08::MAX_POLL_INTERVAL_MS.to_string(),
        )
        .create_with_context(AssignmentPrinter { member: None })
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
}

/// Where a message sits: what to pause, resume and commit for it.
#[derive(Debug, Clone)]
struct Position {
    topic: String,
    partition: i32,
    offset: i64,
}

impl Position {
    fn of(message: &BorrowedMessage<'_>) -> Position {
        Position {
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
        }
    }

    /// This message's partition, alone.
    fn partition_list(&self) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        list.add_partition(&self.topic, self.partition);
        list
    }

    /// The position after this message: what a commit of it holds.
    fn next_offset(&self) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(&self.topic, self.partition, Offset::Offset(self.offset + 1))
            .expect("an offset is a valid position");
        list
    }
}

/// Runs the jobs `consumer` receives until SIGINT or SIGTERM, printing `started` and
/// `finished` lines, and commits each job once it is finished.
pub async fn run(consumer: &Renderer) {
    let shutdown = lab_contract::shutdown_signal();
    tokio::pin!(shutdown);
    // ANCHOR: solution
    // Finished jobs come back here from the tasks that rendered them.
    let (done, mut finished) = mpsc::unbounded_channel::<(Job, Position)>();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some((job, at)) = finished.recv() => {
                if let Err(e) = consumer.commit(&at.next_offset(), CommitMode::Sync) {
                    eprintln!("commit of {} failed: {e}", job.id);
                }
                println!("finished {} partition={} offset={}", job.id, at.partition, at.offset);
                // The partition's next job may start now: its order is kept.
                if let Err(e) = consumer.resume(&at.partition_list()) {
                    eprintln!("resuming partition {} failed: {e}", at.partition);
                }
            }
            // Called again as soon as a job is handed off, whatever the job costs: this is
            // what tells librdkafka the application is alive.
            received = consumer.recv() => {
                let message = match received {
                    Ok(message) => message,
                    Err(e) => {
                        eprintln!("receive failed: {e}");
                        continue;
                    }
                };
                let at = Position::of(&message);
                let text = message.payload_view::<str>().and_then(Result::ok).unwrap_or("");
                let job = match Job::parse(text) {
                    Ok(job) => job,
                    Err(e) => {
                        eprintln!("partition {} offset {}: {e}", at.partition, at.offset);
                        continue;
                    }
                };
                // No more messages from this partition until this job is done; the others
                // keep flowing, and recv() keeps being called.
                if let Err(e) = consumer.pause(&at.partition_list()) {
                    eprintln!("pausing partition {} failed: {e}", at.partition);
                }
                println!("started {} partition={} offset={}", job.id, at.partition, at.offset);
                let done = done.clone();
                tokio::spawn(async move {
                    job::render(&job).await;
                    let _ = done.send((job, at));
                });
            }
        }
    }
    // ANCHOR_END: solution
}
