//! A raw Kafka client for probes that need a request no client library sends on demand: a
//! commit with a stale generation, a commit while the group waits for its leader, a
//! DescribeGroups at one chosen version. It is the checker's own (`checker::broker::wire`,
//! `kafka-protocol`'s types, generated from Kafka's message schemas), which shares no code
//! with the embedded broker's coordinator beyond that crate; here every failure panics.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::{Request, StrBytes};

/// One connection to a broker; requests are sent one at a time.
pub struct Connection(checker::broker::wire::Connection);

impl Connection {
    /// Connects to `address` (`host:port`).
    pub async fn open(address: &str) -> Connection {
        Connection(
            checker::broker::wire::Connection::open(address)
                .await
                .unwrap_or_else(|e| panic!("{e:#}")),
        )
    }

    /// Sends `request` at `version` and reads its answer.
    pub async fn send<R: Request>(&mut self, request: &R, version: i16) -> R::Response {
        self.0
            .send(request, version)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }
}

/// A `StrBytes` from a `&str`.
pub fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

/// A consumer's Fetch of partition 0 of `topic` from `offset`, naming the topic (as up to
/// v12), answered at once (no wait, no minimum).
pub fn fetch_partition_0(topic: &str, offset: i64) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(text(topic)))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}
