//! Writing records as the checker, and reading back what a topic really holds.
//!
//! The checker never trusts a lab's stdout alone: it compares what the lab printed with what
//! the broker stored.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::{client_config, Broker};

/// A record the checker sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Message key, if any.
    pub key: Option<String>,
    /// Explicit partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// Message value, as text.
    pub payload: String,
    /// Its timestamp (CreateTime), in milliseconds since the epoch; `None`: when it is sent.
    pub timestamp: Option<i64>,
}

impl Outgoing {
    /// A record without a key for `partition`, stamped when it is sent: what the scenarios
    /// write.
    pub fn to_partition(partition: i32, payload: impl Into<String>) -> Outgoing {
        Outgoing {
            key: None,
            partition: Some(partition),
            payload: payload.into(),
            timestamp: None,
        }
    }
}

/// A record as the broker stores it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stored {
    /// The partition it is in.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
    /// Its key as text (empty when it has none).
    pub key: String,
    /// Its value as text (empty when it has none).
    pub payload: String,
}

impl Broker {
    /// Sends `records` one after another (each delivered before the next is sent) and returns
    /// where each one landed.
    pub async fn produce(&self, topic: &str, records: &[Outgoing]) -> Result<Vec<Stored>> {
        produce(self.bootstrap(), topic, records).await
    }

    /// Deletes the records of `topic` before each (partition, offset) of `before`, as
    /// retention or `kafka-delete-records` would (DeleteRecords; offset −1: all of the
    /// partition's records), and returns each partition's log start offset after it.
    pub async fn delete_records(
        &self,
        topic: &str,
        before: &[(i32, i64)],
    ) -> Result<BTreeMap<i32, i64>> {
        let admin: AdminClient<DefaultClientContext> = client_config(self.bootstrap())
            .create()
            .context("admin client")?;
        let mut list = TopicPartitionList::new();
        for (partition, offset) in before {
            let offset = match offset {
                -1 => Offset::End,
                offset => Offset::Offset(*offset),
            };
            list.add_partition_offset(topic, *partition, offset)?;
        }
        let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
        let deleted = admin
            .delete_records(&list, &options)
            .await
            .with_context(|| format!("cannot delete records of {topic}"))?;
        deleted
            .elements()
            .iter()
            .map(|e| {
                if let Err(error) = e.error() {
                    bail!(
                        "cannot delete records of {topic}/{}: {error}",
                        e.partition()
                    );
                }
                match e.offset() {
                    Offset::Offset(start) => Ok((e.partition(), start)),
                    other => bail!("DeleteRecords gave {other:?} for {topic}/{}", e.partition()),
                }
            })
            .collect()
    }

    /// The topics other than `topic` (and Kafka's internal ones) that hold `record` at its
    /// partition and offset, with its key and payload: where a program that reported
    /// writing it to `topic` really wrote it. Looks at 200 topics at most.
    pub async fn topics_holding(&self, topic: &str, record: &Stored) -> Result<Vec<String>> {
        let bootstrap = self.bootstrap().to_string();
        let (topic, record) = (topic.to_string(), record.clone());
        tokio::task::spawn_blocking(move || {
            let timeout = Duration::from_secs(5);
            let consumer: BaseConsumer = client_config(&bootstrap)
                .set("group.id", "checker-inspection")
                .set("enable.auto.commit", "false")
                .create()?;
            let metadata = consumer.fetch_metadata(None, timeout)?;
            let mut found = Vec::new();
            for other in metadata.topics().iter().take(200) {
                let name = other.name();
                let has_partition = other
                    .partitions()
                    .iter()
                    .any(|p| p.id() == record.partition);
                if name == topic || name.starts_with("__") || !has_partition {
                    continue;
                }
                let (low, high) = consumer.fetch_watermarks(name, record.partition, timeout)?;
                if !(low..high).contains(&record.offset) {
                    continue;
                }
                if record_at(&consumer, name, record.partition, record.offset)?.as_ref()
                    == Some(&record)
                {
                    found.push(name.to_string());
                }
            }
            Ok(found)
        })
        .await?
    }

    /// Every record in `topic`, in (partition, offset) order.
    pub async fn records(&self, topic: &str) -> Result<Vec<Stored>> {
        let bootstrap = self.bootstrap().to_string();
        let topic = topic.to_string();
        tokio::task::spawn_blocking(move || read_all(&bootstrap, &topic)).await?
    }
}

/// Sends `records` to `topic` on the broker at `bootstrap`, one after another (each
/// delivered before the next is sent), and returns where each one landed. What the
/// scenarios write, and what `checker produce` writes for a learner working by hand.
pub async fn produce(bootstrap: &str, topic: &str, records: &[Outgoing]) -> Result<Vec<Stored>> {
    let producer: FutureProducer = client_config(bootstrap)
        .create()
        .context("cannot create the checker's producer")?;
    let mut stored = Vec::with_capacity(records.len());
    for record in records {
        let mut future = FutureRecord::to(topic).payload(&record.payload);
        if let Some(key) = &record.key {
            future = future.key(key);
        }
        if let Some(partition) = record.partition {
            future = future.partition(partition);
        }
        if let Some(timestamp) = record.timestamp {
            future = future.timestamp(timestamp);
        }
        let delivery = producer
            .send(future, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| anyhow!("the checker could not produce to {topic}: {e}"))?;
        stored.push(Stored {
            partition: delivery.partition,
            offset: delivery.offset,
            key: record.key.clone().unwrap_or_default(),
            payload: record.payload.clone(),
        });
    }
    Ok(stored)
}

fn read_all(bootstrap: &str, topic: &str) -> Result<Vec<Stored>> {
    let timeout = Duration::from_secs(5);
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "checker-inspection")
        .set("enable.auto.commit", "false")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();

    let mut assignment = TopicPartitionList::new();
    let mut remaining = 0;
    for &partition in &partitions {
        let (low, high) = consumer.fetch_watermarks(topic, partition, timeout)?;
        if high > low {
            assignment.add_partition_offset(topic, partition, Offset::Offset(low))?;
            remaining += high - low;
        }
    }
    let mut records = Vec::new();
    if remaining == 0 {
        return Ok(records);
    }
    consumer.assign(&assignment)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while remaining > 0 {
        if std::time::Instant::now() > deadline {
            return Err(anyhow!("timed out reading back {topic}"));
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                records.push(Stored {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: text(message.key()),
                    payload: text(message.payload()),
                });
                remaining -= 1;
            }
            Some(Err(e)) => return Err(anyhow!("reading back {topic}: {e}")),
            None => {}
        }
    }
    records.sort();
    Ok(records)
}

/// The record of `topic` at `partition` and `offset`, read by `consumer` (which it
/// reassigns), or `None` when none comes within a few seconds.
fn record_at(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<Option<Stored>> {
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    consumer.assign(&assignment)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) if message.topic() == topic => {
                return Ok(Some(Stored {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: text(message.key()),
                    payload: text(message.payload()),
                }))
            }
            Some(Err(e)) => return Err(anyhow!("reading {topic}/{partition} at {offset}: {e}")),
            _ => {}
        }
    }
    Ok(None)
}

fn text(bytes: Option<&[u8]>) -> String {
    bytes
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::BrokerChoice;

    #[tokio::test]
    async fn what_is_produced_is_read_back() {
        let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
        broker.create_topic("t-records", 2).await.unwrap();
        assert!(broker.records("t-records").await.unwrap().is_empty());
        let outgoing = vec![
            Outgoing::to_partition(1, "b"),
            Outgoing {
                key: Some("k".into()),
                partition: Some(0),
                payload: "a".into(),
                timestamp: None,
            },
        ];
        let sent = broker.produce("t-records", &outgoing).await.unwrap();
        let mut expected = sent.clone();
        expected.sort();
        assert_eq!(broker.records("t-records").await.unwrap(), expected);
        assert_eq!(sent[1].key, "k");
    }
}
