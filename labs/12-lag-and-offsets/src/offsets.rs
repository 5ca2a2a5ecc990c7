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
    /// Reads `--to-earliest`, `--to-datetime YYYY-MM-DDThh:mm:ss.sss[zone]` or
    /// `--shift-by N`.
    pub fn parse(args: &[&str]) -> Option<Target> {
        match args {
            ["--to-earliest"] => Some(Target::Earliest),
            ["--to-datetime", time] => parse_datetime(time).map(Target::Datetime),
            ["--shift-by", n] => n.parse().ok().map(Target::ShiftBy),
            _ => None,
        }
    }
}

/// Milliseconds since the epoch of a time written as `kafka-consumer-groups --to-datetime`
/// takes it (`Utils.getDateTime` in Kafka's clients): `YYYY-MM-DDThh:mm:ss.sss`, then `Z`,
/// `+hh:mm`, `+hh` (or `-`), or nothing for UTC. Like Kafka's tool, it refuses a time
/// without milliseconds.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let (local, zone) = text.split_at_checked(23)?;
    let millis = local.get(19..)?;
    if !(millis.starts_with('.') && millis[1..].bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let offset_minutes: i64 = match zone.as_bytes() {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), ..] => {
            let (hours, minutes) = match zone[1..].split_once(':') {
                Some((hours, minutes)) if minutes.len() == 2 => (hours, minutes),
                None => (&zone[1..], "00"),
                _ => return None,
            };
            if hours.len() != 2 {
                return None;
            }
            let total = hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?;
            if *sign == b'-' {
                -total
            } else {
                total
            }
        }
        _ => return None,
    };
    let utc = humantime::parse_rfc3339(&format!("{local}Z")).ok()?;
    let since_epoch = utc.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(i64::try_from(since_epoch.as_millis()).ok()? - offset_minutes * 60_000)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-01T09:00:00Z in milliseconds since the epoch.
    const NINE: i64 = 1_796_115_600_000;

    #[test]
    fn times_are_read_as_kafka_consumer_groups_reads_them() {
        assert_eq!(parse_datetime("2026-12-01T09:00:00.000Z"), Some(NINE));
        // No zone is UTC, as in Kafka's tool.
        assert_eq!(parse_datetime("2026-12-01T09:00:00.000"), Some(NINE));
        assert_eq!(parse_datetime("2026-12-01T09:00:00.250Z"), Some(NINE + 250));
        assert_eq!(parse_datetime("2026-12-01T10:00:00.000+01:00"), Some(NINE));
        assert_eq!(parse_datetime("2026-12-01T08:30:00.000-00:30"), Some(NINE));
        assert_eq!(parse_datetime("2026-12-01T11:00:00.000+02"), Some(NINE));
    }

    #[test]
    fn times_kafka_consumer_groups_refuses_are_refused() {
        // Measured on Kafka 4.3.1: "Unparseable date: \"2026-12-01T09:00:00Z\"".
        for refused in [
            "2026-12-01T09:00:00Z",
            "2026-12-01T09:00:00",
            "2026-12-01 09:00:00.000Z",
            "2026-12-01T09:00:00.000UTC",
            "2026-12-01T09:00:00.000+1",
            "yesterday",
        ] {
            assert_eq!(parse_datetime(refused), None, "{refused}");
        }
    }
}
