//! Where a group stands: its committed offsets, compared with the end of each partition.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::{client_config, Broker};

impl Broker {
    /// The offset `group` has committed for each partition of `topic` (`None`: nothing yet).
    ///
    /// This asks the group coordinator (OffsetFetch) without joining the group, so it does
    /// not disturb the members.
    pub async fn committed(&self, group: &str, topic: &str) -> Result<BTreeMap<i32, Option<i64>>> {
        let bootstrap = self.bootstrap().to_string();
        let (group, topic) = (group.to_string(), topic.to_string());
        tokio::task::spawn_blocking(move || {
            let timeout = Duration::from_secs(5);
            let consumer: BaseConsumer =
                client_config(&bootstrap).set("group.id", &group).create()?;
            let mut list = TopicPartitionList::new();
            for partition in partition_ids(&consumer, &topic)? {
                list.add_partition(&topic, partition);
            }
            let committed = consumer.committed_offsets(list, timeout)?;
            Ok(committed
                .elements()
                .iter()
                .map(|e| {
                    let offset = match e.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    };
                    (e.partition(), offset)
                })
                .collect())
        })
        .await?
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

fn partition_ids(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>> {
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(5))?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect())
}
