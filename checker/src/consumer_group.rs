//! `checker group GROUP`: a consumer group's state, members and lag, as
//! `kafka-consumer-groups.sh --describe` shows them, from any broker that serves
//! DescribeGroups (the embedded one included).
//!
//! The members and their assignments come from DescribeGroups; the lag of each partition is
//! its end offset minus the group's committed offset (OffsetFetch), as Kafka's tool computes
//! it. Reading offsets this way does not join the group.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::groups::GroupInfo;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const TIMEOUT: Duration = Duration::from_secs(5);

/// One partition of the group's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The group's committed offset, if any.
    pub committed: Option<i64>,
    /// The partition's end offset.
    pub end: i64,
    /// The member that owns it now, if any.
    pub owner: Option<String>,
}

impl PartitionLag {
    /// End offset minus committed offset; unknown without a commit.
    pub fn lag(&self) -> Option<i64> {
        self.committed.map(|c| (self.end - c).max(0))
    }
}

/// A member of the group.
#[derive(Debug, Clone)]
pub struct GroupMember {
    /// Its member id.
    pub id: String,
    /// Its `client.id`.
    pub client_id: String,
    /// Where it connects from.
    pub host: String,
    /// The (topic, partition) pairs it owns.
    pub owned: Vec<(String, i32)>,
}

/// A group as `checker group` reports it.
#[derive(Debug, Clone)]
pub struct GroupReport {
    /// The group.
    pub group: String,
    /// `Stable`, `PreparingRebalance`, `Empty`, ... (`Dead` for an unknown group).
    pub state: String,
    /// The assignor chosen by the group.
    pub assignor: String,
    /// Its members.
    pub members: Vec<GroupMember>,
    /// Every partition the group owns or has committed, with its lag.
    pub partitions: Vec<PartitionLag>,
}

/// A group's state and members, as DescribeGroups shows them.
#[derive(Debug, Clone)]
pub struct Membership {
    /// `Stable`, `PreparingRebalance`, `Empty`, ... (`Dead` for an unknown group).
    pub state: String,
    /// The assignor chosen by the group.
    pub assignor: String,
    /// Its members.
    pub members: Vec<GroupMember>,
}

/// A client for reading groups from one broker, without joining them.
pub struct GroupReader {
    admin: BaseConsumer,
    bootstrap: String,
}

impl GroupReader {
    /// A reader of the broker at `bootstrap`.
    pub fn new(bootstrap: &str) -> Result<GroupReader> {
        let admin: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("enable.auto.commit", "false")
            .create()
            .context("cannot create a Kafka client")?;
        Ok(GroupReader {
            admin,
            bootstrap: bootstrap.to_string(),
        })
    }

    /// [`GroupReader::membership`] from async code: the blocking request runs on a thread
    /// of its own, not on the runtime's.
    pub async fn read(self: &Arc<Self>, group: &str) -> Result<Membership> {
        let (reader, group) = (self.clone(), group.to_string());
        tokio::task::spawn_blocking(move || reader.membership(&group)).await?
    }

    /// `group`'s state and members (DescribeGroups).
    pub fn membership(&self, group: &str) -> Result<Membership> {
        let bootstrap = &self.bootstrap;
        let list = self
            .admin
            .fetch_group_list(Some(group), TIMEOUT)
            .map_err(|e| anyhow!("cannot describe group {group} at {bootstrap}: {e}"))?;
        let info: &GroupInfo = list
            .groups()
            .iter()
            .find(|g| g.name() == group)
            // librdkafka lists a group only once it exists: a member joined or it committed.
            .ok_or_else(|| {
                anyhow!("consumer group {group} does not exist on {bootstrap}: no member has joined it and it has committed nothing")
            })?;
        let mut members = Vec::new();
        for member in info.members() {
            let owned = member
                .assignment()
                .map(parse_assignment)
                .transpose()?
                .unwrap_or_default();
            members.push(GroupMember {
                id: member.id().to_string(),
                client_id: member.client_id().to_string(),
                host: member.client_host().to_string(),
                owned,
            });
        }
        Ok(Membership {
            state: info.state().to_string(),
            assignor: info.protocol().to_string(),
            members,
        })
    }

    /// The groups whose members own partitions of `topic` now (ListGroups, then
    /// DescribeGroups of each), by name.
    pub fn groups_owning(&self, topic: &str) -> Result<Vec<String>> {
        let list = self.group_list()?;
        let mut owning: Vec<String> = list
            .groups()
            .iter()
            .filter(|group| owns(group, topic))
            .map(|group| group.name().to_string())
            .collect();
        owning.sort();
        Ok(owning)
    }

    /// The groups that own partitions of `topic` now or have committed offsets on it: also
    /// a group whose member has already gone. One client per group that owns none: for a
    /// failure's explanation, not for polling.
    pub fn groups_on(&self, topic: &str) -> Result<Vec<String>> {
        let list = self.group_list()?;
        let metadata = self
            .admin
            .fetch_metadata(Some(topic), TIMEOUT)
            .with_context(|| format!("cannot read the metadata of {topic}"))?;
        let mut partitions = TopicPartitionList::new();
        for meta in metadata.topics() {
            for p in meta.partitions() {
                partitions.add_partition(topic, p.id());
            }
        }
        let mut found = Vec::new();
        for group in list.groups() {
            if owns(group, topic) || self.has_committed(group.name(), &partitions)? {
                found.push(group.name().to_string());
            }
        }
        found.sort();
        Ok(found)
    }

    /// Every group on the broker, with its members (ListGroups, then DescribeGroups).
    fn group_list(&self) -> Result<rdkafka::groups::GroupList> {
        self.admin
            .fetch_group_list(None, TIMEOUT)
            .map_err(|e| anyhow!("cannot list the groups at {}: {e}", self.bootstrap))
    }

    /// Whether `group` has committed an offset on any of `partitions`.
    fn has_committed(&self, group: &str, partitions: &TopicPartitionList) -> Result<bool> {
        let reader: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .context("cannot create a Kafka client")?;
        let committed = reader.committed_offsets(partitions.clone(), TIMEOUT);
        Ok(committed.is_ok_and(|list| {
            list.elements()
                .iter()
                .any(|e| matches!(e.offset(), rdkafka::Offset::Offset(o) if o >= 0))
        }))
    }
}

/// Whether a member of `group` owns a partition of `topic`.
fn owns(group: &GroupInfo, topic: &str) -> bool {
    group.members().iter().any(|member| {
        member
            .assignment()
            .and_then(|bytes| parse_assignment(bytes).ok())
            .is_some_and(|owned| owned.iter().any(|(t, _)| t == topic))
    })
}

/// Describes `group` on the broker at `bootstrap`; `topics` adds topics whose committed
/// offsets to show even when no member owns them (an empty group).
pub fn describe(bootstrap: &str, group: &str, topics: &[String]) -> Result<GroupReport> {
    GroupDescriber::new(bootstrap, group)?.describe(topics)
}

/// One group's describer, keeping its clients from one description to the next
/// (`checker group --watch` describes the group every second).
pub struct GroupDescriber {
    reader: GroupReader,
    /// A client of the group's id, for its committed offsets.
    admin: BaseConsumer,
    group: String,
}

impl GroupDescriber {
    /// A describer of `group` on the broker at `bootstrap`.
    pub fn new(bootstrap: &str, group: &str) -> Result<GroupDescriber> {
        let admin: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .context("cannot create a Kafka client")?;
        Ok(GroupDescriber {
            reader: GroupReader::new(bootstrap)?,
            admin,
            group: group.to_string(),
        })
    }

    /// The group now; `topics` as for [`describe`].
    pub fn describe(&self, topics: &[String]) -> Result<GroupReport> {
        let (group, admin) = (self.group.as_str(), &self.admin);
        let Membership {
            state,
            assignor,
            members,
        } = self.reader.membership(group)?;
        let owners: BTreeMap<(String, i32), String> = members
            .iter()
            .flat_map(|m| m.owned.iter().map(|tp| (tp.clone(), m.id.clone())))
            .collect();
        let mut wanted: Vec<String> = owners.keys().map(|(t, _)| t.clone()).collect();
        wanted.extend(topics.iter().cloned());
        wanted.sort();
        wanted.dedup();
        let mut partitions = Vec::new();
        for topic in wanted {
            let metadata = admin
                .fetch_metadata(Some(&topic), TIMEOUT)
                .with_context(|| format!("cannot read the metadata of {topic}"))?;
            let Some(meta) = metadata.topics().first() else {
                continue;
            };
            let mut list = TopicPartitionList::new();
            for p in meta.partitions() {
                list.add_partition(&topic, p.id());
            }
            let committed = admin
                .committed_offsets(list, TIMEOUT)
                .with_context(|| format!("cannot read group {group}'s offsets of {topic}"))?;
            for element in committed.elements() {
                let (_, end) = admin
                    .fetch_watermarks(&topic, element.partition(), TIMEOUT)
                    .with_context(|| {
                        format!(
                            "cannot read the end offset of {topic}-{}",
                            element.partition()
                        )
                    })?;
                partitions.push(PartitionLag {
                    topic: topic.clone(),
                    partition: element.partition(),
                    committed: match element.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    },
                    end,
                    owner: owners.get(&(topic.clone(), element.partition())).cloned(),
                });
            }
        }
        Ok(GroupReport {
            group: group.to_string(),
            state,
            assignor,
            members,
            partitions,
        })
    }
}

/// Reads a ConsumerProtocolAssignment (version, [topic, [partition]], user data).
pub fn parse_assignment(bytes: &[u8]) -> Result<Vec<(String, i32)>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let slice = bytes
            .get(at..at + n)
            .ok_or_else(|| anyhow!("assignment cut short"))?;
        at += n;
        Ok(slice)
    };
    take(2)?; // version
    let topics = i32::from_be_bytes(take(4)?.try_into()?);
    let mut owned = Vec::new();
    for _ in 0..topics.max(0) {
        let length = i16::from_be_bytes(take(2)?.try_into()?);
        if length < 0 {
            bail!("assignment names a null topic");
        }
        let topic = String::from_utf8_lossy(take(length as usize)?).into_owned();
        let count = i32::from_be_bytes(take(4)?.try_into()?);
        for _ in 0..count.max(0) {
            owned.push((topic.clone(), i32::from_be_bytes(take(4)?.try_into()?)));
        }
    }
    Ok(owned)
}

/// The report as Kafka's tool prints it: a state line, then one row per partition.
pub fn render(report: &GroupReport) -> String {
    let mut out = format!(
        "Consumer group '{}' is {} with {} member{}{}.\n\n",
        report.group,
        report.state,
        report.members.len(),
        if report.members.len() == 1 { "" } else { "s" },
        if report.assignor.is_empty() {
            String::new()
        } else {
            format!(" (assignor {})", report.assignor)
        }
    );
    out.push_str(&format!(
        "{:<24} {:>9} {:>14} {:>14} {:>6}  {}\n",
        "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID"
    ));
    for p in &report.partitions {
        let dash = || "-".to_string();
        out.push_str(&format!(
            "{:<24} {:>9} {:>14} {:>14} {:>6}  {}\n",
            p.topic,
            p.partition,
            p.committed.map_or_else(dash, |c| c.to_string()),
            p.end,
            p.lag().map_or_else(dash, |l| l.to_string()),
            p.owner.clone().unwrap_or_else(dash),
        ));
    }
    for member in report.members.iter().filter(|m| m.owned.is_empty()) {
        out.push_str(&format!(
            "idle member {} ({}, {}) owns no partition\n",
            member.id, member.client_id, member.host
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assignment_is_read() {
        let mut bytes = vec![0, 1]; // version
        bytes.extend_from_slice(&1i32.to_be_bytes());
        bytes.extend_from_slice(&5i16.to_be_bytes());
        bytes.extend_from_slice(b"click");
        bytes.extend_from_slice(&2i32.to_be_bytes());
        bytes.extend_from_slice(&0i32.to_be_bytes());
        bytes.extend_from_slice(&2i32.to_be_bytes());
        bytes.extend_from_slice(&(-1i32).to_be_bytes()); // no user data
        assert_eq!(
            parse_assignment(&bytes).unwrap(),
            vec![("click".to_string(), 0), ("click".to_string(), 2)]
        );
        assert!(parse_assignment(&bytes[..9]).is_err());
        assert!(parse_assignment(&[]).unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_live_group_is_described_with_its_lag() {
        use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
        let broker = crate::broker::embedded::start().unwrap();
        broker.create_topic("lagging", 2).unwrap();
        let bootstrap = broker.bootstrap().to_string();
        let report = tokio::task::spawn_blocking(move || {
            let producer: BaseProducer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .create()
                .unwrap();
            for i in 0..5 {
                producer
                    .send(
                        BaseRecord::<(), str>::to("lagging")
                            .payload("x")
                            .partition(i % 2),
                    )
                    .unwrap();
            }
            producer.flush(TIMEOUT).unwrap();
            let member: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", "describe-me")
                .set("enable.auto.commit", "false")
                .create()
                .unwrap();
            member.subscribe(&["lagging"]).unwrap();
            let start = std::time::Instant::now();
            while member.assignment().map_or(0, |a| a.count()) < 2 {
                assert!(start.elapsed() < Duration::from_secs(20), "never assigned");
                let _ = member.poll(Duration::from_millis(50));
            }
            let mut commit = TopicPartitionList::new();
            commit
                .add_partition_offset("lagging", 0, Offset::Offset(1))
                .unwrap();
            member
                .commit(&commit, rdkafka::consumer::CommitMode::Sync)
                .unwrap();
            let report = describe(&bootstrap, "describe-me", &[]).unwrap();
            drop(member);
            report
        })
        .await
        .unwrap();
        assert_eq!(report.state, "Stable");
        assert_eq!(report.members.len(), 1);
        let p0 = &report.partitions[0];
        assert_eq!((p0.committed, p0.end, p0.lag()), (Some(1), 3, Some(2)));
        let p1 = &report.partitions[1];
        assert_eq!((p1.committed, p1.end, p1.lag()), (None, 2, None));
        assert!(p0.owner.is_some());
        let text = render(&report);
        assert!(
            text.starts_with("Consumer group 'describe-me' is Stable with 1 member"),
            "{text}"
        );
    }
}
