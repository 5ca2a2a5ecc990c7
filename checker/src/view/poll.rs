//! The view of any broker, by polling: Metadata and ListOffsets for the topics, ListGroups,
//! DescribeGroups and OffsetFetch for the groups, every [`INTERVAL`], through the checker's
//! raw client (`broker/wire.rs`), which also gives what librdkafka's listing leaves out
//! (each member's `group.instance.id`, a group's type). Only reads: nothing is written.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::{bail, Result};
use embedded_broker::now_millis;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    BrokerId, GroupId, ListGroupsRequest, ListOffsetsRequest, MetadataRequest, OffsetFetchRequest,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::model::{GroupView, MemberView, OffsetView, PartitionView, TopicView, View};
use crate::broker::wire::{self, Connection};
use crate::consumer_group::parse_assignment;

/// How often the broker is read.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// A reader of one cluster, keeping its connections between polls.
pub struct Poller {
    bootstrap: String,
    /// Connections by `host:port`, opened on first use and dropped on any error.
    connections: HashMap<String, Connection>,
}

impl Poller {
    /// A poller of the cluster at `bootstrap` (`host:port`, or several, comma-separated).
    pub fn new(bootstrap: &str) -> Poller {
        Poller {
            bootstrap: bootstrap.split(',').next().unwrap_or(bootstrap).to_string(),
            connections: HashMap::new(),
        }
    }

    /// Reads the cluster once. On an error every connection is dropped, so the next poll
    /// starts afresh (the broker may have restarted).
    pub async fn poll(&mut self) -> Result<View> {
        let read = self.read().await;
        if read.is_err() {
            self.connections.clear();
        }
        read
    }

    async fn connection(&mut self, address: &str) -> Result<&mut Connection> {
        if !self.connections.contains_key(address) {
            let opened = Connection::open(address).await?;
            self.connections.insert(address.to_string(), opened);
        }
        Ok(self.connections.get_mut(address).expect("just opened"))
    }

    async fn read(&mut self) -> Result<View> {
        let bootstrap = self.bootstrap.clone();
        let metadata = self
            .connection(&bootstrap)
            .await?
            .send(&MetadataRequest::default().with_topics(None), 12)
            .await?;
        let brokers: BTreeMap<i32, String> = metadata
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host, b.port)))
            .collect();
        // The partitions each broker leads, by topic.
        let mut led: BTreeMap<String, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
        let mut topics = Vec::new();
        for topic in &metadata.topics {
            let Some(name) = topic.name.as_ref().map(|n| n.to_string()) else {
                continue;
            };
            if topic.error_code != 0 || topic.is_internal || name.starts_with("__") {
                continue;
            }
            for p in &topic.partitions {
                if let Some(address) = brokers.get(&p.leader_id.0) {
                    let by_topic = led.entry(address.clone()).or_default();
                    by_topic
                        .entry(name.clone())
                        .or_default()
                        .push(p.partition_index);
                }
            }
            topics.push(name);
        }
        let mut marks: BTreeMap<(String, i32), (i64, i64)> = BTreeMap::new();
        for (address, by_topic) in &led {
            for (earliest, timestamp) in [(true, -2), (false, -1)] {
                let request = ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_topics(
                        by_topic
                            .iter()
                            .map(|(topic, partitions)| {
                                ListOffsetsTopic::default()
                                    .with_name(TopicName(text(topic)))
                                    .with_partitions(
                                        partitions
                                            .iter()
                                            .map(|p| {
                                                ListOffsetsPartition::default()
                                                    .with_partition_index(*p)
                                                    .with_timestamp(timestamp)
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    );
                let answer = self.connection(address).await?.send(&request, 1).await?;
                for topic in &answer.topics {
                    for p in &topic.partitions {
                        let entry = marks
                            .entry((topic.name.to_string(), p.partition_index))
                            .or_default();
                        if earliest {
                            entry.0 = p.offset;
                        } else {
                            entry.1 = p.offset;
                        }
                    }
                }
            }
        }
        let topics: Vec<TopicView> = topics
            .into_iter()
            .map(|name| {
                let partitions = marks
                    .range((name.clone(), i32::MIN)..=(name.clone(), i32::MAX))
                    .map(|((_, partition), (start, end))| PartitionView {
                        partition: *partition,
                        start: *start,
                        end: *end,
                        per_second: 0.0,
                    })
                    .collect();
                TopicView { name, partitions }
            })
            .collect();

        let mut listed = Vec::new();
        for address in brokers.values() {
            let answer = self
                .connection(address)
                .await?
                .send(&ListGroupsRequest::default(), 5)
                .await?;
            if answer.error_code != 0 {
                bail!(
                    "ListGroups failed at {address} (error {})",
                    answer.error_code
                );
            }
            listed.extend(answer.groups.into_iter().map(|g| {
                let protocol = if g.group_type.is_empty() {
                    "classic".to_string()
                } else {
                    g.group_type.to_lowercase()
                };
                (g.group_id.to_string(), protocol)
            }));
        }
        listed.sort();
        let mut groups = Vec::new();
        for (id, protocol) in listed {
            if let Some(group) = self.group(&id, &protocol, &marks).await? {
                groups.push(group);
            }
        }
        Ok(View {
            broker: self.bootstrap.clone(),
            source: format!(
                "polling every {} s (DescribeGroups, ListOffsets, OffsetFetch): the timeline's \
                 events are inferred from what changed between two polls",
                INTERVAL.as_secs()
            ),
            disconnected: None,
            polled_at: now_millis(),
            topics,
            groups,
        })
    }

    /// One group, from its coordinator; `None` when it went while being read.
    async fn group(
        &mut self,
        id: &str,
        protocol: &str,
        marks: &BTreeMap<(String, i32), (i64, i64)>,
    ) -> Result<Option<GroupView>> {
        let bootstrap = self.bootstrap.clone();
        let finding = self.connection(&bootstrap).await?;
        let Some(coordinator) = wire::find_coordinator(finding, id).await? else {
            return Ok(None);
        };
        let connection = self.connection(&coordinator).await?;
        let Some(group) = wire::describe_group(connection, id).await? else {
            return Ok(None);
        };
        let members: Vec<MemberView> = group
            .members
            .iter()
            .map(|m| MemberView {
                id: m.member_id.to_string(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
                owned: {
                    let mut owned = parse_assignment(&m.member_assignment).unwrap_or_default();
                    owned.sort();
                    owned
                },
            })
            .collect();
        let fetched = connection
            .send(
                &OffsetFetchRequest::default()
                    .with_group_id(GroupId(text(id)))
                    .with_topics(None),
                7,
            )
            .await?;
        let mut committed: BTreeMap<(String, i32), Option<i64>> = BTreeMap::new();
        for topic in &fetched.topics {
            for p in &topic.partitions {
                if p.error_code == 0 && p.committed_offset >= 0 {
                    committed.insert(
                        (topic.name.to_string(), p.partition_index),
                        Some(p.committed_offset),
                    );
                }
            }
        }
        for member in &members {
            for owned in &member.owned {
                committed.entry(owned.clone()).or_insert(None);
            }
        }
        let offsets = committed
            .into_iter()
            .map(|((topic, partition), committed)| {
                let end = marks.get(&(topic.clone(), partition)).map_or(0, |m| m.1);
                OffsetView {
                    lag: committed.map(|c| (end - c).max(0)),
                    topic,
                    partition,
                    committed,
                    end,
                    history: Vec::new(),
                }
            })
            .collect();
        Ok(Some(GroupView {
            id: id.to_string(),
            state: group.group_state.to_string(),
            protocol: protocol.to_string(),
            assignor: group.protocol_data.to_string(),
            members,
            offsets,
            ..GroupView::default()
        }))
    }
}

fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}
