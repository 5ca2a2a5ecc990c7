//! A raw Kafka client for probes that need a request no client library sends on demand: a
//! commit with a stale generation, a commit while the group waits for its leader, a
//! DescribeGroups at one chosen version. Requests and answers are `kafka-protocol`'s types,
//! generated from Kafka's own message schemas, so this client shares no code with the
//! embedded broker's coordinator beyond that crate.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection to a broker; requests are sent one at a time.
pub struct Connection {
    stream: TcpStream,
    correlation_id: i32,
}

impl Connection {
    /// Connects to `address` (`host:port`).
    pub async fn open(address: &str) -> Connection {
        let stream = TcpStream::connect(address)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {address}: {e}"));
        stream.set_nodelay(true).unwrap();
        Connection {
            stream,
            correlation_id: 0,
        }
    }

    /// Sends `request` at `version` and reads its answer.
    pub async fn send<R: Request>(&mut self, request: &R, version: i16) -> R::Response {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("wire-probe")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .unwrap();
        request.encode(&mut body, version).unwrap();
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.put(body);
        self.stream.write_all(&frame).await.unwrap();

        let length = self.stream.read_i32().await.unwrap();
        let mut answer = vec![0; length as usize];
        self.stream.read_exact(&mut answer).await.unwrap();
        let mut answer = bytes::Bytes::from(answer);
        let response_header = kafka_protocol::messages::ResponseHeader::decode(
            &mut answer,
            <R::Response as HeaderVersion>::header_version(version),
        )
        .unwrap();
        assert_eq!(response_header.correlation_id, self.correlation_id);
        let response = <R::Response as Decodable>::decode(&mut answer, version)
            .unwrap_or_else(|e| panic!("{:?} v{version}: bad answer: {e}", api_key::<R>()));
        assert!(
            !answer.has_remaining(),
            "{:?} v{version}: {} bytes after the answer",
            api_key::<R>(),
            answer.remaining()
        );
        response
    }
}

fn api_key<R: Request>() -> ApiKey {
    ApiKey::try_from(R::KEY).unwrap()
}

/// A `StrBytes` from a `&str`.
pub fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}
