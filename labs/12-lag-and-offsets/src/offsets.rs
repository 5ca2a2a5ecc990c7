//! A group's offsets: read, compared with the end of each partition, and moved.

use std::fmt;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// How long to wait for the broker on each request.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where to move a group's offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// To the first offset still in each partition.
    Earliest,
    /// To the first record whose timestamp is at or after this time, in milliseconds since
    /// the epoch; where no record is that late, to the end of the partition.
    Datetime(i64),
    /// By `n` from the committed offset (from the earliest, where nothing is committed),
    /// kept within the partition.
    ShiftBy(i64),
}

impl Target {
    /// Reads `--to-earliest`, `--to-datetime <RFC 3339 time in UTC>` or `--shift-by N`.
    pub fn parse(args: &[&str]) -> Option<Target> {
        match args {
            ["--to-earliest"] => Some(Target::Earliest),
            ["--to-datetime", time] => {
                let time = humantime::parse_rfc3339(time).ok()?;
                let since_epoch = time.duration_since(std::time::UNIX_EPOCH).ok()?;
                i64::try_from(since_epoch.as_millis())
                    .ok()
                    .map(Target::Datetime)
            }
            ["--shift-by", n] => n.parse().ok().map(Target::ShiftBy),
            _ => None,
        }
    }
}

/// One partition of a group's position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// The partition.
    pub partition: i32,
    /// The group's committed offset, if it has one.
    pub committed: Option<i64>,
    /// The partition's end offset: the offset the next record will get.
    pub end: i64,
}

impl fmt::Display for PartitionLag {
    /// `lag partition=<p> committed=<o> end=<e> lag=<n>`, with `-` where nothing is committed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dash = || "-".to_string();
        write!(
            f,
            "lag partition={} committed={} end={} lag={}",
            self.partition,
            self.committed.map_or_else(dash, |c| c.to_string()),
            self.end,
            self.committed
                .map_or_else(dash, |c| (self.end - c).to_string())
        )
    }
}

/// A client of one group that never joins it: it reads and commits the group's offsets
/// from outside, as the admin tools do.
pub struct Tool {
    consumer: BaseConsumer,
    group: String,
    topic: String,
    partitions: Vec<i32>,
}

impl Tool {
    /// A tool for `group` on `topic`, on the broker at lab_contract::bootstrap_servers().
    pub fn new(group: &str, topic: &str) -> Tool {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", lab_contract::bootstrap_servers())
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("client creation failed");
        // Asked first, the topic's metadata also spares the group listing a wait: librdkafka
        // lists groups only once the client has metadata, and would wait up to a second for
        // its first refresh.
        let metadata = consumer
            .fetch_metadata(Some(topic), TIMEOUT)
            .expect("metadata request failed");
        let partitions = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic)
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        Tool {
            consumer,
            group: group.to_string(),
            topic: topic.to_string(),
            partitions,
        }
    }

    // ANCHOR: todo
    /// How many members the group has now, as the coordinator describes it.
    pub fn active_members(&self) -> usize {
        // TODO: ask the group coordinator to describe the group, and count its members.
        let _ = (&self.consumer, &self.group, TIMEOUT);
        todo!("count the members")
    }

    /// The group's committed offset, the end offset and the lag of each partition of the
    /// topic.
    pub fn describe(&self) -> Vec<PartitionLag> {
        // TODO: for each partition (self.partitions), the group's committed offset and the
        // partition's end offset.
        let _ = (&self.topic, &self.partitions);
        todo!("describe the group's position")
    }

    /// Commits, for every partition of the topic, the offset `target` names, and returns
    /// them.
    pub fn reset(&self, target: Target) -> Vec<(i32, i64)> {
        // TODO: work out each partition's new offset from its watermarks, the group's
        // committed offset, or (for a time) the first offset at or after it, which the broker
        // finds (offsets_for_times); then commit them all in one request.
        let _ = (
            target,
            CommitMode::Sync,
            TopicPartitionList::new(),
            Offset::Beginning,
        );
        todo!("move the group's offsets")
    }
    // ANCHOR_END: todo
}
