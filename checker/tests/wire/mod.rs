//! A raw Kafka client for probes that need a request no client library sends on demand: a
//! commit with a stale generation, a commit while the group waits for its leader, a
//! DescribeGroups at one chosen version. It is the checker's own (`checker::broker::wire`,
//! `kafka-protocol`'s types, generated from Kafka's message schemas), which shares no code
//! with the embedded broker's coordinator beyond that crate; here every failure panics.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

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
