//! DeleteRecords, which the mock cluster does not serve, and the log start offsets it
//! leaves, which the mock cannot move.
//!
//! On Kafka, DeleteRecords raises a partition's log start offset to the offset asked (the
//! high watermark for −1), refusing an offset past the high watermark with
//! OFFSET_OUT_OF_RANGE (`Partition.deleteRecordsOnLeader`, `UnifiedLog.
//! maybeIncrementLogStartOffset`). From then on the records before it are gone for every
//! client: ListOffsets for the earliest offset answers the log start, a search by time
//! starts there (`UnifiedLog.fetchOffsetByTimestamp`), a Fetch below it fails with
//! OFFSET_OUT_OF_RANGE (`UnifiedLog.checkLogStartOffset`), and every Fetch answer carries
//! it as `log_start_offset`.
//!
//! The mock drops records only to keep its log under a size, and has no call to move its
//! start. So the forwarder keeps the log starts DeleteRecords set ([`LogStarts`]) and
//! applies them to the answers above: ListOffsets in `list_offsets`, Fetch here. The mock
//! still holds the records, so a Fetch at or past the log start reads what Kafka would.
//! Fetch answers before version 4 (which `kafka-protocol` does not read) pass unchanged;
//! librdkafka and Kafka's Java clients fetch at 11 and later.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, BrokerId, DeleteRecordsRequest, DeleteRecordsResponse, FetchRequest, FetchResponse,
    ListOffsetsRequest, ListOffsetsResponse, MetadataRequest, MetadataResponse,
    RequestHeader as WireRequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::ResponseError;
use tokio::net::TcpStream;

use crate::wire::{read_frame, write_frame, RequestHeader};

/// A topic id's bytes (Fetch names topics by id from v13).
type TopicId = [u8; 16];

/// API key of DeleteRecords.
pub const DELETE_RECORDS: i16 = ApiKey::DeleteRecords as i16;

/// The DeleteRecords versions answered: all that Kafka 4 serves.
pub const SUPPORTED: (i16, i16, i16) = (DELETE_RECORDS, 0, 2);

/// The oldest Fetch whose answer is read here.
const FETCH_MIN: i16 = 4;

/// DeleteRecords' offset for "up to the high watermark".
const HIGH_WATERMARK: i64 = -1;

/// The log start offsets DeleteRecords has set, per topic and partition, and the topic ids
/// that Fetch (v13 and later) names topics by.
#[derive(Default)]
pub struct LogStarts {
    inner: Mutex<Starts>,
}

#[derive(Default)]
struct Starts {
    by_topic: HashMap<String, BTreeMap<i32, i64>>,
    names: HashMap<TopicId, String>,
}

impl LogStarts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Starts> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether no log start has moved: every answer passes unchanged.
    pub fn is_empty(&self) -> bool {
        self.lock().by_topic.is_empty()
    }

    /// The log start DeleteRecords set for a partition, if it did.
    pub fn start(&self, topic: &str, partition: i32) -> Option<i64> {
        self.lock().by_topic.get(topic)?.get(&partition).copied()
    }

    /// Forgets a topic's log starts: it was deleted, or created anew.
    pub fn forget(&self, topic: &str) {
        let mut starts = self.lock();
        starts.by_topic.remove(topic);
        starts.names.retain(|_, name| name != topic);
    }
}

/// Answers a DeleteRecords request `frame`, reading each partition's high watermark from
/// the mock at `upstream`; `None` for a request it cannot read (the connection is then
/// closed, as Kafka closes it).
pub async fn delete_records(
    header: &RequestHeader,
    frame: &[u8],
    upstream: SocketAddr,
    starts: &LogStarts,
) -> Option<Vec<u8>> {
    let version = header.api_version;
    if !(SUPPORTED.1..=SUPPORTED.2).contains(&version) {
        return None;
    }
    let mut bytes = Bytes::copy_from_slice(frame);
    WireRequestHeader::decode(&mut bytes, DeleteRecordsRequest::header_version(version)).ok()?;
    let request = DeleteRecordsRequest::decode(&mut bytes, version).ok()?;
    let mut mock = TcpStream::connect(upstream).await.ok();
    let mut topics = Vec::new();
    for topic in &request.topics {
        let name = topic.name.to_string();
        let asked: Vec<i32> = topic.partitions.iter().map(|p| p.partition_index).collect();
        let marks = match mock.as_mut() {
            Some(mock) => watermarks(mock, &name, &asked).await,
            None => None,
        };
        let partitions = topic
            .partitions
            .iter()
            .map(|p| {
                let moved = match marks
                    .as_ref()
                    .and_then(|marks| marks.get(&p.partition_index))
                {
                    None => Err(ResponseError::UnknownTopicOrPartition),
                    Some(&(id, low, high)) => delete(starts, &name, id, p, (low, high)),
                };
                let (low_watermark, code) = match moved {
                    Ok(low) => (low, 0),
                    Err(error) => (-1, error.code()),
                };
                DeleteRecordsPartitionResult::default()
                    .with_partition_index(p.partition_index)
                    .with_low_watermark(low_watermark)
                    .with_error_code(code)
            })
            .collect();
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions),
        );
    }
    let mut out = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(header.correlation_id)
        .encode(&mut out, DeleteRecordsResponse::header_version(version))
        .ok()?;
    DeleteRecordsResponse::default()
        .with_topics(topics)
        .encode(&mut out, version)
        .ok()?;
    Some(out.to_vec())
}

/// Moves one partition's log start as DeleteRecords asks; the new low watermark.
fn delete(
    starts: &LogStarts,
    topic: &str,
    id: TopicId,
    asked: &kafka_protocol::messages::delete_records_request::DeleteRecordsPartition,
    (low, high): (i64, i64),
) -> Result<i64, ResponseError> {
    let offset = if asked.offset == HIGH_WATERMARK {
        high
    } else {
        asked.offset
    };
    if offset < 0 || offset > high {
        return Err(ResponseError::OffsetOutOfRange);
    }
    let mut all = starts.lock();
    all.names.insert(id, topic.to_string());
    let start = all
        .by_topic
        .entry(topic.to_string())
        .or_default()
        .entry(asked.partition_index)
        .or_insert(0);
    *start = (*start).max(offset).max(low);
    Ok(*start)
}

/// The topic id and the mock's (earliest, high watermark) of each partition asked that
/// the topic has; `None` when the mock could not be asked.
async fn watermarks(
    mock: &mut TcpStream,
    topic: &str,
    partitions: &[i32],
) -> Option<HashMap<i32, (TopicId, i64, i64)>> {
    let name = TopicName(StrBytes::from_string(topic.to_string()));
    let metadata: MetadataResponse = ask(
        mock,
        12,
        &MetadataRequest::default()
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name.clone()))
            ]))
            .with_allow_auto_topic_creation(false),
    )
    .await?;
    let Some(found) = metadata
        .topics
        .iter()
        .find(|t| t.error_code == 0 && t.name.as_ref() == Some(&name))
    else {
        return Some(HashMap::new());
    };
    let known: Vec<i32> = partitions
        .iter()
        .copied()
        .filter(|p| found.partitions.iter().any(|q| q.partition_index == *p))
        .collect();
    let mut marks = HashMap::new();
    for timestamp in [-2, -1] {
        let answer: ListOffsetsResponse = ask(
            mock,
            1,
            &ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(name.clone())
                    .with_partitions(
                        known
                            .iter()
                            .map(|p| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(*p)
                                    .with_timestamp(timestamp)
                            })
                            .collect(),
                    )]),
        )
        .await?;
        for p in answer.topics.iter().flat_map(|t| &t.partitions) {
            if p.error_code == 0 {
                let entry =
                    marks
                        .entry(p.partition_index)
                        .or_insert((*found.topic_id.as_bytes(), 0, 0));
                if timestamp == -2 {
                    entry.1 = p.offset;
                } else {
                    entry.2 = p.offset;
                }
            }
        }
    }
    Some(marks)
}

/// Sends `request` at `version` on `mock` and reads its answer.
async fn ask<Q>(mock: &mut TcpStream, version: i16, request: &Q) -> Option<Q::Response>
where
    Q: kafka_protocol::protocol::Request + Encodable,
    Q::Response: Decodable,
{
    let mut out = BytesMut::new();
    WireRequestHeader::default()
        .with_request_api_key(Q::KEY)
        .with_request_api_version(version)
        .with_client_id(Some(StrBytes::from_static_str("embedded-broker")))
        .encode(&mut out, Q::header_version(version))
        .ok()?;
    request.encode(&mut out, version).ok()?;
    write_frame(mock, &out).await.ok()?;
    let mut answer = Bytes::from(read_frame(mock).await.ok()??);
    ResponseHeader::decode(&mut answer, Q::Response::header_version(version)).ok()?;
    Q::Response::decode(&mut answer, version).ok()
}

/// What a Fetch asked of partitions whose log start has moved: its version, and the
/// offset asked of each such partition.
#[derive(Debug)]
pub struct Fetched {
    version: i16,
    below: Vec<(String, i32, i64)>,
}

/// The partitions of the Fetch request `frame` whose log start has moved; `None` when it
/// asks of none, and its answer passes unchanged.
pub fn fetched(header: &RequestHeader, frame: &[u8], starts: &LogStarts) -> Option<Fetched> {
    let version = header.api_version;
    if header.api_key != ApiKey::Fetch as i16 || version < FETCH_MIN || starts.is_empty() {
        return None;
    }
    let mut bytes = Bytes::copy_from_slice(frame);
    WireRequestHeader::decode(&mut bytes, FetchRequest::header_version(version)).ok()?;
    let request = FetchRequest::decode(&mut bytes, version).ok()?;
    let all = starts.lock();
    let mut asked = Vec::new();
    for topic in &request.topics {
        let name = if version >= 13 {
            all.names.get(topic.topic_id.as_bytes()).cloned()
        } else {
            Some(topic.topic.to_string())
        };
        let Some(name) = name else { continue };
        let Some(moved) = all.by_topic.get(&name) else {
            continue;
        };
        for p in &topic.partitions {
            if moved.contains_key(&p.partition) {
                asked.push((name.clone(), p.partition, p.fetch_offset));
            }
        }
    }
    (!asked.is_empty()).then_some(Fetched {
        version,
        below: asked,
    })
}

/// The mock's Fetch answer `frame`, as Kafka gives it where the log start has moved: the
/// log start in every partition's answer, and OFFSET_OUT_OF_RANGE (with no records) for
/// an offset asked before it. An answer it cannot read passes unchanged.
pub fn fetch_answer(frame: Vec<u8>, fetched: &Fetched, starts: &LogStarts) -> Vec<u8> {
    let version = fetched.version;
    let mut bytes = Bytes::from(frame.clone());
    let Ok(header) = ResponseHeader::decode(&mut bytes, FetchResponse::header_version(version))
    else {
        return frame;
    };
    let Ok(mut response) = FetchResponse::decode(&mut bytes, version) else {
        return frame;
    };
    let names = starts.lock().names.clone();
    for topic in &mut response.responses {
        let name = if version >= 13 {
            names
                .get(topic.topic_id.as_bytes())
                .cloned()
                .unwrap_or_default()
        } else {
            topic.topic.to_string()
        };
        for p in &mut topic.partitions {
            let Some(start) = starts.start(&name, p.partition_index) else {
                continue;
            };
            let asked = fetched
                .below
                .iter()
                .find(|(t, partition, _)| *t == name && *partition == p.partition_index)
                .map(|(_, _, offset)| *offset);
            if asked.is_some_and(|offset| offset < start) {
                // Kafka's answer to a read it refuses carries no offsets.
                p.error_code = ResponseError::OffsetOutOfRange.code();
                p.high_watermark = -1;
                p.last_stable_offset = -1;
                p.log_start_offset = -1;
                p.aborted_transactions = None;
                p.records = Some(Bytes::new());
            } else if p.error_code == 0 {
                p.log_start_offset = p.log_start_offset.max(start);
            }
        }
    }
    let mut out = BytesMut::new();
    if header
        .encode(&mut out, FetchResponse::header_version(version))
        .is_err()
        || response.encode(&mut out, version).is_err()
    {
        return frame;
    }
    out.to_vec()
}
