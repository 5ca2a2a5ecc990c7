//! A raw Kafka client, for what no client library exposes: DescribeGroups at a chosen
//! version shows each member's `group.instance.id`, which librdkafka's group listing leaves
//! out. Requests and answers are `kafka-protocol`'s types, generated from Kafka's message
//! schemas. The tests' probes use it too (`checker/tests/wire/`).

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::{
    ApiKey, DescribeGroupsRequest, FindCoordinatorRequest, GroupId, RequestHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The client id its requests carry.
pub const CLIENT_ID: &str = "checker";

/// How long a request may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One connection to a broker; requests are sent one at a time.
pub struct Connection {
    stream: TcpStream,
    correlation_id: i32,
}

impl Connection {
    /// Connects to `address` (`host:port`).
    pub async fn open(address: &str) -> Result<Connection> {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| anyhow!("cannot connect to {address}: no answer in {TIMEOUT:?}"))?
            .with_context(|| format!("cannot connect to {address}"))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            correlation_id: 0,
        })
    }

    /// Sends `request` at `version` and reads its answer.
    pub async fn send<R: Request>(&mut self, request: &R, version: i16) -> Result<R::Response> {
        let key = ApiKey::try_from(R::KEY).map_err(|_| anyhow!("API key {}", R::KEY))?;
        tokio::time::timeout(TIMEOUT, self.exchange(request, version))
            .await
            .map_err(|_| anyhow!("{key:?} v{version}: no answer in {TIMEOUT:?}"))?
            .with_context(|| format!("{key:?} v{version}"))
    }

    async fn exchange<R: Request>(&mut self, request: &R, version: i16) -> Result<R::Response> {
        self.correlation_id += 1;
        let mut body = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)))
            .encode(&mut body, R::header_version(version))?;
        request.encode(&mut body, version)?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(i32::try_from(body.len())?);
        frame.put(body);
        self.stream.write_all(&frame).await?;

        let length = usize::try_from(self.stream.read_i32().await?)?;
        let mut answer = vec![0; length];
        self.stream.read_exact(&mut answer).await?;
        let mut answer = bytes::Bytes::from(answer);
        let header = kafka_protocol::messages::ResponseHeader::decode(
            &mut answer,
            <R::Response as HeaderVersion>::header_version(version),
        )?;
        if header.correlation_id != self.correlation_id {
            bail!("an answer to another request");
        }
        let response = <R::Response as Decodable>::decode(&mut answer, version)?;
        if answer.has_remaining() {
            bail!("{} bytes after the answer", answer.remaining());
        }
        Ok(response)
    }
}

/// The address (`host:port`) of `group`'s coordinator, asked on `connection`
/// (FindCoordinator v3); `None` when the broker names none.
pub async fn find_coordinator(connection: &mut Connection, group: &str) -> Result<Option<String>> {
    let found = connection
        .send(
            &FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_string())),
            3,
        )
        .await?;
    Ok((found.error_code == 0).then(|| format!("{}:{}", found.host, found.port)))
}

/// `group` as its coordinator describes it on `connection` (DescribeGroups v5, which
/// gives each member's `group.instance.id`); `None` when it answers with an error.
pub async fn describe_group(
    connection: &mut Connection,
    group: &str,
) -> Result<Option<DescribedGroup>> {
    let described = connection
        .send(
            &DescribeGroupsRequest::default()
                .with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]),
            5,
        )
        .await?;
    Ok(described
        .groups
        .into_iter()
        .next()
        .filter(|found| found.error_code == 0))
}

/// Each member of `group` with its `group.instance.id` (`None`: a dynamic member), from
/// the group's coordinator.
pub async fn instance_ids(bootstrap: &str, group: &str) -> Result<Vec<(String, Option<String>)>> {
    let first = bootstrap.split(',').next().unwrap_or(bootstrap);
    let mut connection = Connection::open(first).await?;
    let Some(coordinator) = find_coordinator(&mut connection, group).await? else {
        bail!("no coordinator for group {group}");
    };
    let mut connection = Connection::open(&coordinator).await?;
    let Some(found) = describe_group(&mut connection, group).await? else {
        bail!("cannot describe group {group}");
    };
    Ok(found
        .members
        .into_iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                m.group_instance_id.map(|id| id.to_string()),
            )
        })
        .collect())
}
