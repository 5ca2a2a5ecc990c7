//! The offsets of KIP-848 (consumer protocol) groups, which the mock keeps: its
//! consumer-protocol coordinator checks a commit's member epoch. The mock reads OffsetFetch
//! only up to v6, though, and librdkafka asks at v9 once the broker announces it. So an
//! OffsetFetch of such a group at v7 or later is asked of the mock at v6, and the mock's
//! answer is given back at the version the client asked.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    ApiKey, GroupId, OffsetFetchRequest, OffsetFetchResponse, RequestHeader, ResponseHeader,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::group::codec::{self, Decoded, Header, Request, Response};
use crate::group::messages::FetchedOffset;

/// The newest OffsetFetch the mock reads (`rdkafka_mock_handlers.c`).
const MOCK_MAX: i16 = 6;

/// An OffsetFetch asked of the mock at v6: what its answer must be given back as.
#[derive(Debug)]
pub struct Asked {
    header: Header,
    group_id: String,
}

/// The v6 request frame to ask of the mock instead of `decoded`'s, an OffsetFetch of one
/// group at v7 or later; `None` for any other request, which goes on unchanged.
pub fn downgrade(decoded: &Decoded, client_id: &str) -> Option<(Vec<u8>, Asked)> {
    if decoded.header.version <= MOCK_MAX {
        return None;
    }
    let Request::Fetch(fetches) = &decoded.request else {
        return None;
    };
    let [fetch] = &fetches[..] else {
        return None;
    };
    let topics = fetch.topics.as_ref().map(|topics| {
        topics
            .iter()
            .map(|(name, partitions)| {
                OffsetFetchRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_string(name.clone())))
                    .with_partition_indexes(partitions.clone())
            })
            .collect()
    });
    let mut out = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(ApiKey::OffsetFetch as i16)
        .with_request_api_version(MOCK_MAX)
        .with_correlation_id(decoded.header.correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_string())))
        .encode(
            &mut out,
            ApiKey::OffsetFetch.request_header_version(MOCK_MAX),
        )
        .ok()?;
    OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(fetch.group_id.clone())))
        .with_topics(topics)
        .encode(&mut out, MOCK_MAX)
        .ok()?;
    let asked = Asked {
        header: decoded.header,
        group_id: fetch.group_id.clone(),
    };
    Some((out.to_vec(), asked))
}

/// The mock's v6 answer, given back at the version the client asked. An answer that does
/// not parse is passed on as it is: the client then sees the mock's fault, not a new one.
pub fn upgrade(answer: Vec<u8>, asked: &Asked) -> Vec<u8> {
    let mut bytes = Bytes::from(answer.clone());
    let header_version = ApiKey::OffsetFetch.response_header_version(MOCK_MAX);
    let Ok(_) = ResponseHeader::decode(&mut bytes, header_version) else {
        return answer;
    };
    let Ok(response) = OffsetFetchResponse::decode(&mut bytes, MOCK_MAX) else {
        return answer;
    };
    let topics = response
        .topics
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|p| FetchedOffset {
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.metadata.as_ref().map(|m| m.to_string()),
                })
                .collect();
            (topic.name.to_string(), partitions)
        })
        .collect();
    let group = (asked.group_id.clone(), response.error_code, topics);
    codec::encode(&asked.header, &Response::Fetch(vec![group]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
    use kafka_protocol::messages::offset_fetch_response::{
        OffsetFetchResponsePartition, OffsetFetchResponseTopic,
    };

    fn text(value: &str) -> StrBytes {
        StrBytes::from_string(value.to_string())
    }

    #[test]
    fn a_v9_fetch_is_asked_at_v6_and_answered_at_v9() {
        let mut frame = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(ApiKey::OffsetFetch as i16)
            .with_request_api_version(9)
            .with_correlation_id(11)
            .encode(&mut frame, 2)
            .unwrap();
        OffsetFetchRequest::default()
            .with_groups(vec![OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(text("g")))
                .with_topics(None)])
            .encode(&mut frame, 9)
            .unwrap();
        let decoded = codec::decode(&frame).unwrap();
        let (asked_frame, asked) = downgrade(&decoded, "client").unwrap();
        let mut bytes = Bytes::from(asked_frame);
        let header = RequestHeader::decode(&mut bytes, 2).unwrap();
        assert_eq!((header.request_api_version, header.correlation_id), (6, 11));
        let request = OffsetFetchRequest::decode(&mut bytes, 6).unwrap();
        assert_eq!((request.group_id.as_str(), request.topics), ("g", None));

        let mut mock = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(11)
            .encode(&mut mock, 1)
            .unwrap();
        OffsetFetchResponse::default()
            .with_topics(vec![OffsetFetchResponseTopic::default()
                .with_name(TopicName(text("t")))
                .with_partitions(vec![OffsetFetchResponsePartition::default()
                    .with_partition_index(2)
                    .with_committed_offset(40)])])
            .encode(&mut mock, 6)
            .unwrap();
        let mut answer = Bytes::from(upgrade(mock.to_vec(), &asked));
        ResponseHeader::decode(&mut answer, 1).unwrap();
        let answer = OffsetFetchResponse::decode(&mut answer, 9).unwrap();
        let group = &answer.groups[0];
        assert_eq!(group.group_id.as_str(), "g");
        assert_eq!(group.topics[0].partitions[0].committed_offset, 40);
    }
}
