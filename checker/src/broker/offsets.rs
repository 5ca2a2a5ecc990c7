//! Where a group stands: its committed offsets, compared with the end of each partition.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::{client_config, Broker};

/// A standing reader of one group's committed offsets on one topic: one client, asked
/// again and again, so a scenario can sample commits every few milliseconds where a new
/// client per question would take a round of metadata and coordinator lookup each time.
pub struct CommitReader {
    consumer: BaseConsumer,
    partitions: TopicPartitionList,
}

impl CommitReader {
    /// The committed offset of each partition (`None`: nothing yet). Blocks for one
    /// OffsetFetch round trip.
    pub fn read(&self) -> Result<BTreeMap<i32, Option<i64>>> {
        let committed = self
            .consumer
            .committed_offsets(self.partitions.clone(), Duration::from_secs(5))?;
        Ok(offsets(&committed))
    }

    /// [`CommitReader::read`], off the runtime's threads.
    pub async fn read_async(self: &std::sync::Arc<Self>) -> Result<BTreeMap<i32, Option<i64>>> {
        let reader = self.clone();
        tokio::task::spawn_blocking(move || reader.read()).await?
    }
}

impl Broker {
    /// A [`CommitReader`] of `group` on `topic`; it does not join the group.
    pub async fn commit_reader(&self, group: &str, topic: &str) -> Result<CommitReader> {
        let bootstrap = self.bootstrap().to_string();
        let (group, topic) = (group.to_string(), topic.to_string());
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = client_config(&bootstrap)
                .set("group.id", &group)
                .set("enable.auto.commit", "false")
                .create()?;
            let mut partitions = TopicPartitionList::new();
            for partition in partition_ids(&consumer, &topic)? {
                partitions.add_partition(&topic, partition);
            }
            Ok(CommitReader {
                consumer,
                partitions,
            })
        })
        .await?
    }

    /// Commits `offsets` (partition, offset) of `topic` for `group`, from outside the group,
    /// as an admin tool does: the broker accepts it only while the group has no members.
    pub async fn commit_offsets(
        &self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<()> {
        let bootstrap = self.bootstrap().to_string();
        let (group, topic, offsets) = (group.to_string(), topic.to_string(), offsets.to_vec());
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = client_config(&bootstrap)
                .set("group.id", &group)
                .set("enable.auto.commit", "false")
                .create()?;
            let mut list = TopicPartitionList::new();
            for (partition, offset) in offsets {
                list.add_partition_offset(&topic, partition, Offset::Offset(offset))?;
            }
            consumer.commit(&list, rdkafka::consumer::CommitMode::Sync)?;
            Ok(())
        })
        .await?
    }

    /// The offset `group` has committed for each partition of `topic` (`None`: nothing yet).
    ///
    /// This asks the group coordinator (OffsetFetch) without joining the group, so it does
    /// not disturb the members.
    pub async fn committed(&self, group: &str, topic: &str) -> Result<BTreeMap<i32, Option<i64>>> {
        let reader = self.commit_reader(group, topic).await?;
        // The reader is dropped where it read: closing a client blocks too.
        tokio::task::spawn_blocking(move || reader.read()).await?
    }

    /// The end offset (next offset to be written) of each partition of `topic`.
    pub async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<i32, i64>> {
        let bootstrap = self.bootstrap().to_string();
        let topic = topic.to_string();
        tokio::task::spawn_blocking(move || {
            let timeout = Duration::from_secs(5);
            let consumer: BaseConsumer = client_config(&bootstrap).create()?;
            partition_ids(&consumer, &topic)?
                .into_iter()
                .map(|p| Ok((p, consumer.fetch_watermarks(&topic, p, timeout)?.1)))
                .collect()
        })
        .await?
    }
}

/// Each partition's offset in `list` (`None` where it holds no offset).
fn offsets(list: &TopicPartitionList) -> BTreeMap<i32, Option<i64>> {
    list.elements()
        .iter()
        .map(|e| {
            let offset = match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            (e.partition(), offset)
        })
        .collect()
}

fn partition_ids(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>> {
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(5))?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect())
}
