//! A partition whose log no longer starts at offset 0: DeleteRecords (what retention does
//! too) moves its log start, and every client must then see the same log on both brokers.
//! Kafka's side: `Partition.deleteRecordsOnLeader`, `UnifiedLog.maybeIncrementLogStartOffset`,
//! `UnifiedLog.checkLogStartOffset` and `fetchOffsetByTimestamp`; the embedded broker's:
//! `embedded-broker/src/log_start.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use checker::broker::records::Outgoing;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::{member, on_both, SETTLE};
use crate::wire::{fetch_partition_0, Connection};

/// What a client sees of a topic after DeleteRecords.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AfterDelete {
    /// The log start of partitions 0 and 1, as DeleteRecords answers it.
    low_watermarks: BTreeMap<i32, i64>,
    /// Deleting past the high watermark (partition 2 is empty) is refused.
    past_the_end: String,
    /// (low, high) watermarks of partitions 0 and 1.
    watermarks: Vec<(i64, i64)>,
    /// The earliest offset at or after a time before every record of partition 0.
    by_time: Offset,
    /// A Fetch below the log start: its error code; at it: the log start it reports.
    fetch_below: i16,
    fetch_at_start: i64,
    /// Where a consumer asked to start below the log start reads from, with
    /// `auto.offset.reset=earliest`.
    reset_reads_from: i64,
    /// A group's commit below the log start is kept as it is.
    commit_below: Option<i64>,
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_records_moves_the_log_start_for_every_client() {
    let expected = AfterDelete {
        low_watermarks: BTreeMap::from([(0, 3), (1, 2)]),
        past_the_end: "refused: offset out of range".to_string(),
        watermarks: vec![(3, 5), (2, 2)],
        by_time: Offset::Offset(3),
        fetch_below: 1, // OFFSET_OUT_OF_RANGE
        fetch_at_start: 3,
        reset_reads_from: 3,
        commit_below: Some(1),
    };
    on_both("delete-records", expected, |broker, tag| async move {
        broker.create_topic(&tag, 3).await.unwrap();
        let start = std::time::SystemTime::now() - Duration::from_secs(3600);
        let first = start
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let records: Vec<Outgoing> = [(0, 5), (1, 2)]
            .into_iter()
            .flat_map(|(partition, count)| (0..count).map(move |i| (partition, i)))
            .map(|(partition, i)| Outgoing {
                timestamp: Some(first + i * 1000),
                ..Outgoing::to_partition(partition, format!("r{partition}.{i}"))
            })
            .collect();
        broker.produce(&tag, &records).await.unwrap();
        // -1: up to the high watermark.
        let low_watermarks = broker
            .delete_records(&tag, &[(0, 3), (1, -1)])
            .await
            .unwrap();
        let past_the_end = match broker.delete_records(&tag, &[(2, 1)]).await {
            Ok(starts) => format!("accepted: {starts:?}"),
            Err(error) if format!("{error:#}").contains("Offset out of range") => {
                "refused: offset out of range".to_string()
            }
            Err(error) => format!("refused: {error:#}"),
        };

        let mut connection = Connection::open(broker.bootstrap()).await;
        let fetch = |offset: i64| fetch_partition_0(&tag, offset);
        // v12: topics by name; librdkafka's consumer below fetches by topic id.
        let below = connection.send(&fetch(1), 12).await;
        let at_start = connection.send(&fetch(3), 12).await;
        let fetch_below = below.responses[0].partitions[0].error_code;
        let fetch_at_start = at_start.responses[0].partitions[0].log_start_offset;

        let group = format!("{tag}-group");
        broker
            .commit_offsets(&group, &tag, &[(0, 1)])
            .await
            .unwrap();
        let commit_below = broker.committed(&group, &tag).await.unwrap()[&0];

        let bootstrap = broker.bootstrap().to_string();
        let (watermarks, by_time, reset_reads_from) = tokio::task::spawn_blocking(move || {
            let timeout = Duration::from_secs(10);
            let consumer = member(&bootstrap, &group, &[("auto.offset.reset", "earliest")]);
            let watermarks = (0..2)
                .map(|p| consumer.fetch_watermarks(&tag, p, timeout).unwrap())
                .collect();
            let mut query = TopicPartitionList::new();
            query
                .add_partition_offset(&tag, 0, Offset::Offset(first - 1000))
                .unwrap();
            let by_time = consumer
                .offsets_for_times(query, timeout)
                .unwrap()
                .elements()[0]
                .offset();
            (watermarks, by_time, first_offset_read(&consumer, &tag))
        })
        .await
        .unwrap();
        AfterDelete {
            low_watermarks,
            past_the_end,
            watermarks,
            by_time,
            fetch_below,
            fetch_at_start,
            reset_reads_from,
            commit_below,
        }
    })
    .await;
}

/// The offset of the first record `consumer` reads from partition 0 of `topic` when told
/// to start at offset 1, below the log start.
fn first_offset_read(consumer: &BaseConsumer, topic: &str) -> i64 {
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Offset(1))
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let deadline = std::time::Instant::now() + SETTLE;
    while std::time::Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            return message.offset();
        }
    }
    panic!("no record read within {SETTLE:?}");
}
