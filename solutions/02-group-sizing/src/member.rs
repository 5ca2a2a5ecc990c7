//! One member of the group: it joins, then processes whatever the broker assigns it.

use lab_contract::AssignmentPrinter;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Message};
use tokio::sync::watch;

/// A consumer whose rebalances are printed with its member number.
pub type Member = StreamConsumer<AssignmentPrinter>;

/// Creates consumer number `member`, a member of `group`, subscribed to `topic`.
pub fn join(member: usize, topic: &str, group: &str) -> Member {
    // ANCHOR: solution
    let consumer: Member = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        // One group id for every member: that is what makes them share the partitions
        // instead of each reading all of them.
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // A member that goes away is noticed in seconds rather than the default 45 s, and
        // the others hear of each rebalance on their next heartbeat.
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create_with_context(AssignmentPrinter {
            member: Some(member),
        })
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
    // ANCHOR_END: solution
}

/// Prints `consumer <member> processed <order> partition=<p> offset=<o>` for every order
/// `consumer` receives, until `stop` is raised; then commits and hands the consumer back,
/// still a member of the group, for closing.
pub async fn process(member: usize, consumer: Member, mut stop: watch::Receiver<bool>) -> Member {
    // ANCHOR: process
    loop {
        tokio::select! {
            // A raised flag wins over a message that is ready at the same moment.
            biased;
            _ = stop.changed() => break,
            received = consumer.recv() => match received {
                Ok(message) => println!(
                    "consumer {member} processed {} partition={} offset={}",
                    message.payload_view::<str>().and_then(Result::ok).unwrap_or(""),
                    message.partition(),
                    message.offset()
                ),
                Err(e) => eprintln!("consumer {member}: receive failed: {e}"),
            },
        }
    }
    match consumer.commit_consumer_state(CommitMode::Sync) {
        // An idle member, or one that processed nothing, has no offset to commit.
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => eprintln!("consumer {member}: commit failed: {e}"),
    }
    consumer
    // ANCHOR_END: process
}
