//! Step 3: a real group of consumers, dealt the partitions by the roundrobin assignor.

use lab_contract::AssignmentPrinter;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Message};
use tokio::sync::watch;

/// A consumer whose rebalances are printed with its member number.
type Member = StreamConsumer<AssignmentPrinter>;

/// Runs `size` consumers of `group` on `topic`, each in its own task, printing
/// `consumer <i> processed <order> partition=<p>` for every order, until SIGINT or SIGTERM.
pub async fn consume(topic: &str, group: &str, size: usize) {
    // One stop flag for every member, so that a single signal ends them all.
    let (stop, stopping) = watch::channel(false);
    let members: Vec<_> = (0..size)
        .map(|i| tokio::spawn(process(i, join(i, topic, group), stopping.clone())))
        .collect();

    lab_contract::shutdown_signal().await;
    stop.send_replace(true);
    let mut committed = Vec::with_capacity(members.len());
    for member in members {
        committed.push(member.await.expect("a consumer task panicked"));
    }
    // Closing sends LeaveGroup, which starts a rebalance. None closes before all have
    // committed: once the new generation has formed, a commit from the old one is refused
    // (ILLEGAL_GENERATION).
    // Together: closed one by one, a member could wait in the rebalance that the previous
    // one started for members that have not begun to close (see close_together).
    lab_contract::close_together(committed).await;
}

/// Creates consumer number `member`, a member of `group`, subscribed to `topic`.
fn join(member: usize, topic: &str, group: &str) -> Member {
    // ANCHOR: todo
    // TODO: with no assignor chosen, librdkafka uses range, which hands each member a block of
    // consecutive partitions: orders of different plan consumers end up on one member. Choose
    // the assignor that deals the partitions out in turn.
    let consumer: Member = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create_with_context(AssignmentPrinter {
            member: Some(member),
        })
        .expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
    // ANCHOR_END: todo
}

/// Prints every order `consumer` receives until `stop` is raised, then commits and hands
/// the consumer back, still a member of the group, for closing.
async fn process(member: usize, consumer: Member, mut stop: watch::Receiver<bool>) -> Member {
    loop {
        tokio::select! {
            // A raised flag wins over a message that is ready at the same moment.
            biased;
            _ = stop.changed() => break,
            received = consumer.recv() => match received {
                Ok(message) => println!(
                    "consumer {member} processed {} partition={}",
                    message.payload_view::<str>().and_then(Result::ok).unwrap_or(""),
                    message.partition()
                ),
                Err(e) => eprintln!("consumer {member}: receive failed: {e}"),
            },
        }
    }
    match consumer.commit_consumer_state(CommitMode::Sync) {
        // A member that processed nothing has no offset to commit.
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => eprintln!("consumer {member}: commit failed: {e}"),
    }
    consumer
}
