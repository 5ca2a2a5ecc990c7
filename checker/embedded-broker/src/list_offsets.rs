//! ListOffsets by timestamp, which the mock cluster does not answer.
//!
//! A ListOffsets request asks, per partition, for the earliest offset (timestamp −2), the
//! end offset (−1), or the first offset whose record has a timestamp at or after a given
//! time (`offsets_for_times`, `kafka-consumer-groups --reset-offsets --to-datetime`). The
//! mock answers the first two and gives −1 for the third (librdkafka
//! `src/rdkafka_mock_handlers.c`, `rd_kafka_mock_handle_ListOffsets`: "FIXME: by
//! timestamp").
//!
//! So the forwarder asks the mock for the earliest offset in place of each timestamp, then
//! reads the partition from there with Fetch and answers as Kafka does
//! (`FileRecords.searchForTimestamp`): the first record, in offset order, whose timestamp is
//! at or after the one asked for, with that timestamp and its batch's leader epoch; offset
//! and timestamp −1 when there is none.
//!
//! Where DeleteRecords has moved a partition's log start (`log_start`), the earliest
//! offset is the log start, and a search by time starts there, as on Kafka
//! (`UnifiedLog.fetchOffsetByTimestamp`).
//!
//! Versions 1 to 5 are served ([`SUPPORTED`] caps the range in ApiVersions), so requests and
//! answers have fixed-size fields that can be changed in place. Version 0, which asks for
//! offsets before a time, passes through unchanged.

use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::fetch_wait::FETCH;
use crate::log_start::LogStarts;
use crate::wire::{read_frame, write_frame, Reader, RequestHeader, Writer};

/// The ListOffsets API key.
pub const LIST_OFFSETS: i16 = 2;

/// The ListOffsets versions the embedded broker announces.
pub const SUPPORTED: (i16, i16, i16) = (LIST_OFFSETS, 0, 5);

/// Timestamp −2 in a ListOffsets request: the partition's earliest offset.
const EARLIEST: i64 = -2;

/// Kafka's `UNKNOWN_OFFSET` and `UNKNOWN_TIMESTAMP`: no record that late.
const UNKNOWN: i64 = -1;

/// The most a scan asks for in one Fetch.
const FETCH_MAX_BYTES: i32 = 4 << 20;

/// The partitions of a ListOffsets request whose answer the mock cannot give: those asked
/// about by timestamp, and those asked for the earliest offset whose log start has moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByTimestamp {
    version: i16,
    asked: Vec<Asked>,
}

/// One partition asked about by timestamp (or for the earliest offset, [`EARLIEST`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Asked {
    topic: String,
    partition: i32,
    timestamp: i64,
    /// Its log start as DeleteRecords left it; 0 where it has not moved.
    log_start: i64,
}

/// A partition asked by timestamp, as the mock answered it.
struct Start<'q> {
    asked: &'q Asked,
    /// The partition's earliest offset, where the search starts.
    offset: i64,
    /// Where the answer's timestamp field is; the offset and leader epoch follow it.
    at: usize,
}

/// If the ListOffsets request `frame` asks about any partition by timestamp, changes those
/// timestamps to [`EARLIEST`], so that the mock answers where to start reading, and returns
/// what was asked, with the partitions asked for the earliest offset whose log start has
/// moved.
pub fn by_timestamp(
    header: &RequestHeader,
    frame: &mut [u8],
    starts: &LogStarts,
) -> Option<ByTimestamp> {
    if header.api_key != LIST_OFFSETS || !(1..=5).contains(&header.api_version) {
        return None;
    }
    let version = header.api_version;
    let mut reader = Reader::new(frame);
    reader.position = header.body;
    reader.i32()?; // replica id
    if version >= 2 {
        reader.i8()?; // isolation level
    }
    let mut asked = Vec::new();
    let mut fields = Vec::new();
    for _ in 0..reader.array()? {
        let topic = reader.string()?;
        for _ in 0..reader.array()? {
            let partition = reader.i32()?;
            if version >= 4 {
                reader.i32()?; // current leader epoch
            }
            let at = reader.position;
            let timestamp = reader.i64()?;
            let log_start = starts.start(&topic, partition);
            if timestamp >= 0 || (timestamp == EARLIEST && log_start.is_some()) {
                asked.push(Asked {
                    topic: topic.clone(),
                    partition,
                    timestamp,
                    log_start: log_start.unwrap_or(0),
                });
                fields.push(at);
            }
        }
    }
    if asked.is_empty() {
        return None;
    }
    for at in fields {
        frame[at..at + 8].copy_from_slice(&EARLIEST.to_be_bytes());
    }
    Some(ByTimestamp { version, asked })
}

/// Puts into the mock's answer `frame` (to the request `query` was taken from) the offset,
/// timestamp and leader epoch of the first record at or after each time asked, read from
/// the mock at `upstream`. A partition the mock answered with an error keeps it.
pub async fn answer(mut frame: Vec<u8>, query: &ByTimestamp, upstream: SocketAddr) -> Vec<u8> {
    let Some(found) = starts(&frame, query) else {
        return frame;
    };
    let mut mock = None;
    for Start { asked, offset, at } in found {
        let offset = offset.max(asked.log_start);
        if asked.timestamp == EARLIEST {
            frame[at + 8..at + 16].copy_from_slice(&offset.to_be_bytes());
            continue;
        }
        if mock.is_none() {
            mock = TcpStream::connect(upstream).await.ok();
        }
        let hit = match mock.as_mut() {
            Some(mock) => search(mock, asked, offset).await,
            None => None,
        };
        let (timestamp, offset, epoch) = match hit {
            Some(hit) => (hit.timestamp, hit.offset, hit.leader_epoch),
            None => (UNKNOWN, UNKNOWN, -1),
        };
        frame[at..at + 8].copy_from_slice(&timestamp.to_be_bytes());
        frame[at + 8..at + 16].copy_from_slice(&offset.to_be_bytes());
        if query.version >= 4 {
            frame[at + 16..at + 20].copy_from_slice(&epoch.to_be_bytes());
        }
    }
    frame
}

/// Each partition asked by timestamp that the mock answered without error.
fn starts<'q>(frame: &[u8], query: &'q ByTimestamp) -> Option<Vec<Start<'q>>> {
    let mut reader = Reader::new(frame);
    reader.i32()?; // correlation id
    if query.version >= 2 {
        reader.i32()?; // throttle time
    }
    let mut found = Vec::new();
    for _ in 0..reader.array()? {
        let topic = reader.string()?;
        for _ in 0..reader.array()? {
            let partition = reader.i32()?;
            let error = reader.i16()?;
            let at = reader.position;
            reader.i64()?; // timestamp
            let offset = reader.i64()?;
            if query.version >= 4 {
                reader.i32()?; // leader epoch
            }
            let asked = query
                .asked
                .iter()
                .find(|a| a.topic == topic && a.partition == partition);
            if let (Some(asked), 0) = (asked, error) {
                found.push(Start { asked, offset, at });
            }
        }
    }
    Some(found)
}

/// A record found by its timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    timestamp: i64,
    offset: i64,
    leader_epoch: i32,
}

/// Reads the partition `asked` from offset `from` and returns its first record whose
/// timestamp is at or after the time asked.
async fn search(mock: &mut TcpStream, asked: &Asked, from: i64) -> Option<Hit> {
    let mut offset = from;
    loop {
        let (end, records) = fetch(mock, &asked.topic, asked.partition, offset).await?;
        if offset >= end || records.is_empty() {
            return None;
        }
        let (hit, next) = first_at_or_after(&records, asked.timestamp, offset);
        if hit.is_some() {
            return hit;
        }
        // No progress would mean a batch it cannot read: stop rather than loop.
        offset = next.filter(|next| *next > offset)?;
    }
}

/// Sends a Fetch (version 5, no wait) for `partition` at `offset`; returns the partition's
/// high watermark and the record batches.
async fn fetch(
    mock: &mut TcpStream,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Option<(i64, Vec<u8>)> {
    let mut request = Writer::default();
    request.i16(FETCH);
    request.i16(5);
    request.i32(0); // correlation id: one request at a time on this connection
    request.nullable_string(Some("embedded-broker"));
    request.i32(-1); // replica id: a consumer
    request.i32(0); // max wait
    request.i32(0); // min bytes
    request.i32(FETCH_MAX_BYTES);
    request.i8(0); // read uncommitted
    request.array(1);
    request.string(topic);
    request.array(1);
    request.i32(partition);
    request.i64(offset);
    request.i64(-1); // log start offset: a consumer's is unknown
    request.i32(FETCH_MAX_BYTES);
    write_frame(mock, &request.0).await.ok()?;
    let response = read_frame(mock).await.ok()??;
    let mut reader = Reader::new(&response);
    reader.i32()?; // correlation id
    reader.i32()?; // throttle time
    reader.array()?; // one topic
    reader.string()?;
    reader.array()?; // one partition
    reader.i32()?;
    if reader.i16()? != 0 {
        return None;
    }
    let high_watermark = reader.i64()?;
    reader.i64()?; // last stable offset
    reader.i64()?; // log start offset
    for _ in 0..reader.array()? {
        reader.i64()?; // aborted producer id
        reader.i64()?; // its first offset
    }
    Some((high_watermark, reader.bytes()?))
}

/// Searches the record batches `records` (magic 2) for the first record at or after offset
/// `from` whose timestamp is at or after `timestamp`, as Kafka's
/// `FileRecords.searchForTimestamp` does. Also returns the offset after the last whole
/// batch, where the next read starts.
fn first_at_or_after(records: &[u8], timestamp: i64, from: i64) -> (Option<Hit>, Option<i64>) {
    let mut reader = Reader::new(records);
    let mut next = None;
    while let Some(batch) = Batch::read(&mut reader) {
        next = Some(batch.base_offset + i64::from(batch.last_offset_delta) + 1);
        if batch.max_timestamp < timestamp {
            continue;
        }
        if let Some(hit) = batch.first_at_or_after(timestamp, from) {
            return (Some(hit), next);
        }
    }
    (None, next)
}

/// A record batch (format v2), its records still encoded.
struct Batch<'a> {
    base_offset: i64,
    leader_epoch: i32,
    attributes: i16,
    last_offset_delta: i32,
    first_timestamp: i64,
    max_timestamp: i64,
    records: &'a [u8],
    count: i32,
}

impl<'a> Batch<'a> {
    /// Bit 3 of a batch's attributes: its records carry the time the log appended them,
    /// which is the batch's max timestamp.
    const LOG_APPEND_TIME: i16 = 0x08;
    /// The compression codec, in the low three bits of the attributes.
    const COMPRESSION: i16 = 0x07;

    /// Reads the next whole batch; `None` at the end or at a batch cut short by the fetch.
    fn read(reader: &mut Reader<'a>) -> Option<Batch<'a>> {
        let base_offset = reader.i64()?;
        let length = usize::try_from(reader.i32()?).ok()?;
        let mut batch = Reader::new(reader.take(length)?);
        let leader_epoch = batch.i32()?;
        if batch.i8()? != 2 {
            return None;
        }
        batch.i32()?; // crc
        let attributes = batch.i16()?;
        let last_offset_delta = batch.i32()?;
        let first_timestamp = batch.i64()?;
        let max_timestamp = batch.i64()?;
        batch.skip(8 + 2 + 4)?; // producer id, epoch, base sequence
        let count = batch.i32()?;
        Some(Batch {
            base_offset,
            leader_epoch,
            attributes,
            last_offset_delta,
            first_timestamp,
            max_timestamp,
            records: batch.rest(),
            count,
        })
    }

    /// The batch's first record at or after offset `from` whose timestamp is at or after
    /// `timestamp`.
    fn first_at_or_after(&self, timestamp: i64, from: i64) -> Option<Hit> {
        let hit = |offset: i64, at: i64| {
            (at >= timestamp && offset >= from).then_some(Hit {
                timestamp: at,
                offset,
                leader_epoch: self.leader_epoch,
            })
        };
        if self.attributes & Batch::LOG_APPEND_TIME != 0 {
            return hit(self.base_offset.max(from), self.max_timestamp);
        }
        if self.attributes & Batch::COMPRESSION != 0 {
            // The records are compressed and the forwarder does not decompress: the batch's
            // max timestamp is at or after the time asked, so its first offset stands for it.
            return hit(self.base_offset.max(from), self.max_timestamp);
        }
        let mut records = Reader::new(self.records);
        for _ in 0..self.count {
            let length = usize::try_from(records.varint()?).ok()?;
            let mut record = Reader::new(records.take(length)?);
            record.i8()?; // attributes
            let timestamp_delta = record.varint()?;
            let offset_delta = record.varint()?;
            let found = hit(
                self.base_offset + offset_delta,
                self.first_timestamp + timestamp_delta,
            );
            if found.is_some() {
                return found;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An uncompressed batch at `base` with one record per timestamp of `times`.
    fn batch(base: i64, times: &[i64]) -> Vec<u8> {
        let mut records = Vec::new();
        for (delta, time) in times.iter().enumerate() {
            let mut record = Writer::default();
            record.i8(0);
            record.varint(time - times[0]);
            record.varint(delta as i64);
            record.varint(-1); // no key
            record.varint(-1); // no value
            record.varint(0); // no headers
            let mut sized = Writer::default();
            sized.varint(record.0.len() as i64);
            records.extend(sized.0);
            records.extend(record.0);
        }
        let mut body = Writer::default();
        body.i32(3); // leader epoch
        body.i8(2);
        body.i32(0); // crc, unchecked here
        body.i16(0);
        body.i32(times.len() as i32 - 1);
        body.i64(times[0]);
        body.i64(*times.iter().max().unwrap());
        body.i64(-1);
        body.i16(-1);
        body.i32(-1);
        body.i32(times.len() as i32);
        body.0.extend(records);
        let mut out = Writer::default();
        out.i64(base);
        out.i32(body.0.len() as i32);
        out.0.extend(body.0);
        out.0
    }

    fn hit(offset: i64, timestamp: i64) -> Option<Hit> {
        Some(Hit {
            timestamp,
            offset,
            leader_epoch: 3,
        })
    }

    #[test]
    fn the_first_record_at_or_after_the_time_is_found() {
        let records = [batch(0, &[100, 200]), batch(2, &[300, 400, 500])].concat();
        assert_eq!(first_at_or_after(&records, 0, 0), (hit(0, 100), Some(2)));
        assert_eq!(first_at_or_after(&records, 200, 0), (hit(1, 200), Some(2)));
        assert_eq!(first_at_or_after(&records, 201, 0), (hit(2, 300), Some(5)));
        assert_eq!(first_at_or_after(&records, 450, 0), (hit(4, 500), Some(5)));
        assert_eq!(first_at_or_after(&records, 501, 0), (None, Some(5)));
    }

    #[test]
    fn timestamps_out_of_order_give_the_first_in_offset_order() {
        // Kafka scans in offset order: a later record with an earlier time does not win.
        let records = batch(0, &[100, 500, 300]);
        assert_eq!(first_at_or_after(&records, 250, 0), (hit(1, 500), Some(3)));
    }

    #[test]
    fn records_before_the_start_offset_are_skipped() {
        let records = batch(0, &[100, 200, 300]);
        assert_eq!(first_at_or_after(&records, 0, 2), (hit(2, 300), Some(3)));
    }

    #[test]
    fn a_batch_cut_short_is_left_for_the_next_fetch() {
        let whole = batch(0, &[100]);
        let cut = batch(1, &[200, 300]);
        let records = [whole, cut[..cut.len() - 3].to_vec()].concat();
        assert_eq!(first_at_or_after(&records, 150, 0), (None, Some(1)));
    }

    /// A ListOffsets request of `version` for `partitions` of topic `t`.
    fn request(version: i16, partitions: &[(i32, i64)]) -> Vec<u8> {
        let mut frame = Writer::default();
        frame.i16(LIST_OFFSETS);
        frame.i16(version);
        frame.i32(9);
        frame.nullable_string(Some("me"));
        frame.i32(-1);
        if version >= 2 {
            frame.i8(0);
        }
        frame.array(1);
        frame.string("t");
        frame.array(partitions.len());
        for (partition, timestamp) in partitions {
            frame.i32(*partition);
            if version >= 4 {
                frame.i32(-1);
            }
            frame.i64(*timestamp);
        }
        frame.0
    }

    #[test]
    fn only_requests_by_timestamp_are_taken_and_asked_as_earliest() {
        for version in 1..=5 {
            let mut frame = request(version, &[(0, -1), (1, 1234)]);
            let header = RequestHeader::parse(&frame).unwrap();
            let query =
                by_timestamp(&header, &mut frame, &LogStarts::default()).expect("by timestamp");
            let asked = Asked {
                topic: "t".to_string(),
                partition: 1,
                timestamp: 1234,
                log_start: 0,
            };
            assert_eq!(query.asked, vec![asked]);
            assert_eq!(frame, request(version, &[(0, -1), (1, EARLIEST)]));

            let mut frame = request(version, &[(0, -1), (1, -2)]);
            let header = RequestHeader::parse(&frame).unwrap();
            assert_eq!(
                by_timestamp(&header, &mut frame, &LogStarts::default()),
                None
            );
        }
        let mut frame = request(0, &[(0, 1234)]);
        let header = RequestHeader::parse(&frame).unwrap();
        assert_eq!(
            by_timestamp(&header, &mut frame, &LogStarts::default()),
            None
        );
    }
}
