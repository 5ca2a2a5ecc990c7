//! The consumer: it must call `recv()` at least every `max.poll.interval.ms`, whatever the
//! jobs cost.

use lab_contract::{lab08, AssignmentPrinter};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};

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

/// Runs the jobs `consumer` receives until SIGINT or SIGTERM, printing `started` and
/// `finished` lines, and commits each job once it is finished.
pub async fn run(consumer: &Renderer) {
    let shutdown = lab_contract::shutdown_signal();
    tokio::pin!(shutdown);
    // ANCHOR: todo
    // TODO: this loop renders each job before it calls recv() again. A job that takes longer
    // than max.poll.interval.ms makes librdkafka decide the application is stuck: it leaves
    // the group, and the partitions go to someone else. Keep calling recv() while jobs run,
    // keep the other partitions moving, and keep each partition's jobs in order.
    loop {
        let message = tokio::select! {
            _ = &mut shutdown => break,
            received = consumer.recv() => match received {
                Ok(message) => message,
                Err(e) => {
                    eprintln!("receive failed: {e}");
                    continue;
                }
            },
        };
        let (partition, offset) = (message.partition(), message.offset());
        let text = message
            .payload_view::<str>()
            .and_then(Result::ok)
            .unwrap_or("");
        let job = match Job::parse(text) {
            Ok(job) => job,
            Err(e) => {
                eprintln!("partition {partition} offset {offset}: {e}");
                continue;
            }
        };
        println!("started {} partition={partition} offset={offset}", job.id);
        job::render(&job).await;
        if let Err(e) = consumer.commit_message(&message, CommitMode::Sync) {
            eprintln!("commit of {} failed: {e}", job.id);
        }
        println!("finished {} partition={partition} offset={offset}", job.id);
    }
    // ANCHOR_END: todo
}
