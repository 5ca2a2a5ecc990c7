//! The admin requests Kafka has and the mock cluster lacks: CreateTopics and DeleteTopics,
//! answered with the mock's own API, and a controller named in Metadata answers (the
//! admin client sends CreateTopics to the controller).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::log_start::LogStarts;
use crate::mock_cluster::MockCluster;
use crate::wire::{Reader, RequestHeader, Writer};

/// API key of CreateTopics.
pub const CREATE_TOPICS: i16 = 19;
/// API key of DeleteTopics.
pub const DELETE_TOPICS: i16 = 20;
/// The versions answered: the non-flexible ones, which librdkafka uses.
pub const CREATE_TOPICS_MAX: i16 = 4;
/// The newest DeleteTopics version answered.
pub const DELETE_TOPICS_MAX: i16 = 1;
/// The API key constants answered here, with their version ranges.
pub const SUPPORTED: [(i16, i16, i16); 2] = [
    (CREATE_TOPICS, 0, CREATE_TOPICS_MAX),
    (DELETE_TOPICS, 0, DELETE_TOPICS_MAX),
];
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_PARTITIONS: i16 = 37;

/// The mock cluster and the topics created through CreateTopics.
pub struct Topics {
    /// The broker the topics live on.
    pub mock: Arc<MockCluster>,
    /// Topics created through CreateTopics and not deleted since.
    pub created: Mutex<HashSet<String>>,
    /// The log starts DeleteRecords has moved.
    pub log_starts: LogStarts,
}

/// Answers a CreateTopics or DeleteTopics request; `None` for one it cannot read.
pub fn answer(header: &RequestHeader, body: &[u8], topics: &Topics) -> Option<Vec<u8>> {
    let mut reader = Reader::new(body);
    let mut out = Writer::default();
    out.i32(header.correlation_id);
    let version = header.api_version;
    if header.api_key == CREATE_TOPICS {
        if !(0..=CREATE_TOPICS_MAX).contains(&version) {
            return None;
        }
        let count = reader.i32()?;
        let mut results = Vec::new();
        for _ in 0..count.max(0) {
            let name = reader.string()?;
            let mut partitions = reader.i32()?;
            reader.i16()?; // replication factor: the mock has one broker
            let assignments = reader.i32()?;
            for _ in 0..assignments.max(0) {
                reader.i32()?;
                let replicas = reader.i32()?;
                reader.skip(4 * replicas.max(0) as usize)?;
            }
            let configs = reader.i32()?;
            for _ in 0..configs.max(0) {
                reader.string()?;
                reader.nullable_string()?;
            }
            if partitions == -1 {
                partitions = if assignments > 0 { assignments } else { 1 };
            }
            results.push((name, partitions));
        }
        reader.i32()?; // timeout
        let validate_only = version >= 1 && reader.i8()? != 0;
        if version >= 2 {
            out.i32(0); // throttle time
        }
        out.i32(results.len() as i32);
        for (name, partitions) in results {
            let code = if partitions <= 0 {
                INVALID_PARTITIONS
            } else if validate_only {
                0
            } else {
                let code = topics.mock.create_topic_code(&name, partitions);
                if code == 0 {
                    topics.log_starts.forget(&name);
                    topics
                        .created
                        .lock()
                        .expect("poisoned")
                        .insert(name.clone());
                }
                code
            };
            out.string(&name);
            out.i16(code);
            if version >= 1 {
                out.nullable_string(None);
            }
        }
    } else {
        if !(0..=DELETE_TOPICS_MAX).contains(&version) {
            return None;
        }
        let count = reader.i32()?;
        let mut names = Vec::new();
        for _ in 0..count.max(0) {
            names.push(reader.string()?);
        }
        if version >= 1 {
            out.i32(0); // throttle time
        }
        out.i32(names.len() as i32);
        for name in names {
            let known = topics.created.lock().expect("poisoned").remove(&name);
            let code = if known {
                topics.mock.hide_topic(&name);
                topics.log_starts.forget(&name);
                0
            } else {
                UNKNOWN_TOPIC_OR_PARTITION
            };
            out.string(&name);
            out.i16(code);
        }
    }
    Some(out.0)
}

/// A flexible Metadata answer (v9 and later) as Kafka encodes it. The mock ends each one
/// with a second empty tagged-field section, one byte after the answer; librdkafka and
/// Kafka's Java clients ignore it, a strict reader does not. So the answer is read and
/// written again with `kafka-protocol`; one it cannot read passes unchanged.
pub fn reencode_flexible_metadata(frame: Vec<u8>, version: i16) -> Vec<u8> {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::messages::{MetadataResponse, ResponseHeader};
    use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};
    if version < 9 {
        return frame;
    }
    let header_version = MetadataResponse::header_version(version);
    let mut bytes = Bytes::from(frame.clone());
    let (Ok(header), Ok(response)) = (
        ResponseHeader::decode(&mut bytes, header_version),
        MetadataResponse::decode(&mut bytes, version),
    ) else {
        return frame;
    };
    let mut out = BytesMut::new();
    match (
        header.encode(&mut out, header_version),
        response.encode(&mut out, version),
    ) {
        (Ok(()), Ok(())) => out.to_vec(),
        _ => frame,
    }
}

/// Makes a Metadata response (versions 1 to 12) name its first broker as the controller.
pub fn name_controller(frame: &mut [u8], version: i16) {
    let locate = || -> Option<(usize, i32)> {
        let flexible = version >= 9;
        let mut reader = Reader::new(frame);
        reader.i32()?; // correlation id
        if flexible {
            reader.tagged_fields()?; // response header v1
        }
        if version >= 3 {
            reader.i32()?; // throttle time
        }
        let brokers = reader.array_length(flexible)?;
        let mut first = None;
        for _ in 0..brokers {
            let node = reader.i32()?;
            first.get_or_insert(node);
            reader.any_string(flexible)?; // host
            reader.i32()?; // port
            reader.any_string(flexible)?; // rack
            if flexible {
                reader.tagged_fields()?;
            }
        }
        if version >= 2 {
            reader.any_string(flexible)?; // cluster id
        }
        Some((reader.position, first?))
    };
    if version < 1 {
        return;
    }
    if let Some((at, broker)) = locate() {
        if let Some(controller) = frame.get_mut(at..at + 4) {
            if i32::from_be_bytes(controller.try_into().expect("4 bytes")) <= 0 {
                controller.copy_from_slice(&broker.to_be_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flexible_metadata_answer_loses_the_mocks_extra_byte() {
        // What the mock answers to Metadata v9 without topics: ... ClusterAuthorizedOperations,
        // the body's empty tagged fields, and one more 0.
        let mut mock = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 10];
        mock.extend(b"127.0.0.1");
        mock.extend([0, 0, 161, 203, 0, 0, 5]);
        mock.extend(b"mock");
        mock.extend([0, 0, 0, 1, 1, 128, 0, 0, 0, 0]);
        let kafka = mock.clone();
        mock.push(0);
        assert_eq!(reencode_flexible_metadata(mock.clone(), 9), kafka);
        assert_eq!(
            reencode_flexible_metadata(mock.clone(), 8),
            mock,
            "v8 is not flexible"
        );
        assert_eq!(
            reencode_flexible_metadata(vec![0, 1], 9),
            vec![0, 1],
            "unreadable: unchanged"
        );
    }

    #[test]
    fn metadata_names_a_controller() {
        for version in [1i16, 2, 8, 9, 12] {
            let flexible = version >= 9;
            let mut out = Writer::default();
            out.i32(5); // correlation id
            if flexible {
                out.0.push(0); // no tagged fields
            }
            if version >= 3 {
                out.i32(0);
            }
            let string = |out: &mut Writer, text: Option<&str>| match (flexible, text) {
                (true, None) => out.0.push(0),
                (true, Some(text)) => {
                    out.0.push(text.len() as u8 + 1);
                    out.0.extend_from_slice(text.as_bytes());
                }
                (false, text) => out.nullable_string(text),
            };
            if flexible {
                out.0.push(2);
            } else {
                out.i32(1);
            }
            out.i32(1); // node id
            string(&mut out, Some("127.0.0.1"));
            out.i32(9092);
            string(&mut out, None); // rack
            if flexible {
                out.0.push(0);
            }
            if version >= 2 {
                string(&mut out, Some("mock"));
            }
            let at = out.0.len();
            out.i32(0); // controller id
            out.i32(0); // (rest: topics)
            let mut frame = out.0.clone();
            name_controller(&mut frame, version);
            assert_eq!(&frame[at..at + 4], &1i32.to_be_bytes(), "version {version}");
            assert_eq!(frame.len(), out.0.len());
        }
    }
}
