//! ListOffsets by timestamp (`offsets_for_times`), which the mock cluster alone answers
//! with −1: the embedded broker answers as Kafka does, with the first offset whose record's
//! timestamp is at or after the time asked, and −1 (librdkafka: `Offset::End`) where no
//! record is that late.

use std::time::Duration;

use embedded_broker::EmbeddedBroker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Writes one record per `(partition, timestamp)`, each in a batch of its own, and some
/// batches of several records.
fn produce(broker: &EmbeddedBroker, records: &[(i32, i64)], linger_ms: &str) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("linger.ms", linger_ms)
        .create()
        .expect("producer");
    for (partition, timestamp) in records {
        producer
            .send(
                BaseRecord::<(), str>::to("ledger")
                    .partition(*partition)
                    .payload("entry")
                    .timestamp(*timestamp),
            )
            .expect("queued");
        if linger_ms == "0" {
            producer.flush(TIMEOUT).expect("flushed");
        }
    }
    producer.flush(TIMEOUT).expect("flushed");
}

/// What the broker answers for `timestamp` on partitions 0 and 1.
fn offsets_for(broker: &EmbeddedBroker, timestamp: i64) -> Vec<Offset> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "reader")
        .create()
        .expect("consumer");
    let mut asked = TopicPartitionList::new();
    for partition in 0..2 {
        asked
            .add_partition_offset("ledger", partition, Offset::Offset(timestamp))
            .expect("valid");
    }
    let answer = consumer
        .offsets_for_times(asked, TIMEOUT)
        .expect("offsets for times");
    let mut elements = answer.elements();
    elements.sort_by_key(|e| e.partition());
    elements
        .iter()
        .map(|e| {
            assert!(
                e.error().is_ok(),
                "partition {}: {:?}",
                e.partition(),
                e.error()
            );
            e.offset()
        })
        .collect()
}

#[test]
fn offsets_for_times_finds_the_first_record_at_or_after_the_time() {
    let broker = EmbeddedBroker::start().expect("broker");
    broker.create_topic("ledger", 2).expect("topic");
    // Partition 0 in batches of one record, partition 1 batched by a linger.
    produce(&broker, &[(0, 1_000), (0, 2_000), (0, 3_000)], "0");
    produce(
        &broker,
        &[(1, 1_500), (1, 2_500), (1, 2_500), (1, 4_000)],
        "50",
    );

    use Offset::{End, Offset as At};
    assert_eq!(offsets_for(&broker, 0), [At(0), At(0)]);
    assert_eq!(offsets_for(&broker, 1_000), [At(0), At(0)]);
    assert_eq!(offsets_for(&broker, 2_000), [At(1), At(1)]);
    assert_eq!(offsets_for(&broker, 2_500), [At(2), At(1)]);
    assert_eq!(offsets_for(&broker, 3_001), [End, At(3)]);
    assert_eq!(offsets_for(&broker, 9_000), [End, End]);
}

#[test]
fn an_empty_partition_has_no_offset_for_any_time() {
    let broker = EmbeddedBroker::start().expect("broker");
    broker.create_topic("ledger", 2).expect("topic");
    produce(&broker, &[(0, 1_000)], "0");
    assert_eq!(offsets_for(&broker, 0), [Offset::Offset(0), Offset::End]);
}
