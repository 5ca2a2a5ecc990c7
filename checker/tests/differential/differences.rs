//! Where the two brokers differ by design: each probe states what each broker does, and
//! checks both, so that the differences table in `book/src/brokers.md` reports a measured
//! difference, not a guess from source. None of these decides a verdict.

use std::time::{Duration, Instant};

use checker::broker::client_config;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

use super::{on_each, SETTLE};
use crate::wire::{fetch_partition_0, Connection};

#[tokio::test(flavor = "multi_thread")]
async fn a_topic_created_by_its_first_record_has_the_brokers_partition_count() {
    // The mock creates an unknown topic with 4 partitions (librdkafka's rdkafka_mock.c,
    // defaults.partition_cnt); Kafka with num.partitions, 1 by default.
    on_each("auto-create", 4, 1, |broker, tag| async move {
        let bootstrap = broker.bootstrap().to_string();
        tokio::task::spawn_blocking(move || {
            let producer: ThreadedProducer<DefaultProducerContext> =
                client_config(&bootstrap).create().unwrap();
            let deadline = Instant::now() + SETTLE;
            // The first send can meet an unknown topic while it is being created.
            while producer
                .send(BaseRecord::<(), str>::to(&tag).payload("first"))
                .is_err()
            {
                assert!(Instant::now() < deadline, "the record was never taken");
                std::thread::sleep(Duration::from_millis(50));
            }
            producer.flush(SETTLE).unwrap();
            let metadata = producer
                .client()
                .fetch_metadata(Some(&tag), SETTLE)
                .unwrap();
            metadata.topics()[0].partitions().len()
        })
        .await
        .unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetch_with_nothing_to_return_is_held_by_kafka_and_not_by_the_embedded_broker() {
    // An empty partition, a Fetch that may wait 500 ms for one byte. Kafka holds it the
    // whole 500 ms (a DelayedFetch in ReplicaManager's purgatory); the embedded broker
    // answers within 50 ms (fetch_wait.rs shortens the wait, because the mock would hold
    // it even after new data came). The bounds: Kafka at least 450 ms, the embedded broker
    // under 250 ms.
    on_each(
        "held-fetch",
        (true, false),
        (false, true),
        |broker, tag| async move {
            broker.create_topic(&tag, 1).await.unwrap();
            let mut connection = Connection::open(broker.bootstrap()).await;
            let request = fetch_partition_0(&tag, 0)
                .with_max_wait_ms(500)
                .with_min_bytes(1);
            // v12: topics by name, a version both read.
            let sent = Instant::now();
            let answer = connection.send(&request, 12).await;
            let waited = sent.elapsed();
            assert_eq!(
                answer.responses[0].partitions[0].error_code, 0,
                "{answer:?}"
            );
            (
                waited < Duration::from_millis(250),
                waited >= Duration::from_millis(450),
            )
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn read_committed_skips_aborted_records_on_kafka_only() {
    // A transaction that is aborted, then one that commits. A read_committed consumer on
    // Kafka reads only the committed record (KIP-98: aborted transactions are filtered);
    // the mock answers every fetch as if nothing had been aborted, so it reads both.
    let both = vec!["aborted".to_string(), "committed".to_string()];
    let committed = vec!["committed".to_string()];
    on_each(
        "read-committed",
        both,
        committed,
        |broker, tag| async move {
            broker.create_topic(&tag, 1).await.unwrap();
            let bootstrap = broker.bootstrap().to_string();
            tokio::task::spawn_blocking(move || {
                let producer: ThreadedProducer<DefaultProducerContext> = client_config(&bootstrap)
                    .set("transactional.id", format!("{tag}-txn"))
                    .create()
                    .unwrap();
                producer.init_transactions(SETTLE).unwrap();
                for (payload, commit) in [("aborted", false), ("committed", true)] {
                    producer.begin_transaction().unwrap();
                    producer
                        .send(
                            BaseRecord::<(), str>::to(&tag)
                                .payload(payload)
                                .partition(0),
                        )
                        .map_err(|(e, _)| e)
                        .unwrap();
                    producer.flush(SETTLE).unwrap();
                    if commit {
                        producer.commit_transaction(SETTLE).unwrap();
                    } else {
                        producer.abort_transaction(SETTLE).unwrap();
                    }
                }
                let mut config: ClientConfig = client_config(&bootstrap);
                let consumer: BaseConsumer = config
                    .set("group.id", &tag)
                    .set("isolation.level", "read_committed")
                    .set("auto.offset.reset", "earliest")
                    .set("enable.auto.commit", "false")
                    .create()
                    .unwrap();
                consumer.subscribe(&[&tag]).unwrap();
                let mut read = Vec::new();
                let deadline = Instant::now() + SETTLE;
                // "committed" is the last record on both brokers: read until it comes.
                while !read.iter().any(|r| r == "committed") {
                    assert!(Instant::now() < deadline, "read only {read:?}");
                    if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
                        use rdkafka::Message;
                        let payload = message.payload_view::<str>().unwrap().unwrap();
                        read.push(payload.to_string());
                    }
                }
                read
            })
            .await
            .unwrap()
        },
    )
    .await;
}
