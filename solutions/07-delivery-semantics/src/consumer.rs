//! The consumer: where its offsets are stored and committed decides the guarantee.

use std::time::Duration;

use lab_contract::lab07;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Message};

use crate::guarantee::Guarantee;
use crate::payment;

/// Creates a member of `group`, subscribed to `topic`, configured for `guarantee`.
pub fn join(guarantee: Guarantee, topic: &str, group: &str) -> StreamConsumer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500");
    // ANCHOR: solution
    match guarantee {
        // Every commit is the program's own, made before the payment is processed.
        Guarantee::AtMostOnce => config.set("enable.auto.commit", "false"),
        // librdkafka still commits in the background, but only offsets the program has
        // stored, and it stores one only when the payment is done. Left on, the automatic
        // store would mark a payment done as soon as recv() returns it.
        Guarantee::AtLeastOnce => config
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set(
                "auto.commit.interval.ms",
                lab07::AUTO_COMMIT_INTERVAL_MS.to_string(),
            ),
    };
    // ANCHOR_END: solution
    let consumer: StreamConsumer = config.create().expect("consumer creation failed");
    consumer.subscribe(&[topic]).expect("subscribe failed");
    consumer
}

/// Processes the payments `consumer` receives, one at a time, printing `started` and
/// `processed` lines, until SIGINT or SIGTERM.
pub async fn consume(guarantee: Guarantee, consumer: &StreamConsumer, work: Duration) {
    let shutdown = lab_contract::shutdown_signal();
    tokio::pin!(shutdown);
    // ANCHOR: consume
    loop {
        // The signal is watched only while waiting: a payment, once started, is finished.
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
        let payment = message
            .payload_view::<str>()
            .and_then(Result::ok)
            .unwrap_or("")
            .to_string();
        let (partition, offset) = (message.partition(), message.offset());
        if guarantee == Guarantee::AtMostOnce {
            // Committed first: a crash from here on loses this payment, and never repeats it.
            if let Err(e) = consumer.commit_message(&message, CommitMode::Sync) {
                eprintln!("commit of {payment} failed, so it is not processed: {e}");
                continue;
            }
        }
        println!("started {payment} partition={partition} offset={offset}");
        payment::process(work).await;
        println!("processed {payment} partition={partition} offset={offset}");
        if guarantee == Guarantee::AtLeastOnce {
            // Stored after processing: the next automatic commit includes it.
            if let Err(e) = consumer.store_offset_from_message(&message) {
                eprintln!("storing the offset of {payment} failed: {e}");
            }
        }
    }
    // ANCHOR_END: consume
}
