//! The ApiVersions answer clients negotiate with: the mock cluster's, with the version
//! ranges of the APIs the forwarder answers itself put in their place.
//!
//! The mock answers ApiVersions up to v2 only. Kafka's Java clients (4.x) ask with v4
//! first, and read the mock's UNSUPPORTED_VERSION answer as if it were v4: with a throttle
//! time of about 20 minutes, so they mute the connection and never send another request.
//! So a v3 or v4 request (the same schema, flexible) goes to the mock as v2, and its answer
//! is given back at the version asked, as Kafka's broker answers it. Both ends are
//! `kafka-protocol`'s messages.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader as WireRequestHeader,
    ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::wire::RequestHeader;

/// API key of ApiVersions.
pub const API_VERSIONS: i16 = ApiKey::ApiVersions as i16;

/// The newest ApiVersions the mock answers.
const MOCK_MAX: i16 = 2;

/// The versions of ApiVersions the forwarder answers: 0 to 2 by the mock, 3 and 4 by
/// asking the mock v2 ([`downgrade_request`]) and answering as asked ([`answer`]).
pub const SUPPORTED: (i16, i16, i16) = (API_VERSIONS, 0, 4);

/// Whether the forwarder rewrites this ApiVersions request for the mock.
pub fn is_flexible(header: &RequestHeader) -> bool {
    header.api_key == API_VERSIONS && (MOCK_MAX + 1..=SUPPORTED.2).contains(&header.api_version)
}

/// The v2 request the mock answers in place of a flexible one: the same correlation id and
/// client id. The flexible body (the client's software name and version) is informational.
pub fn downgrade_request(header: &RequestHeader) -> Vec<u8> {
    let mut out = BytesMut::new();
    WireRequestHeader::default()
        .with_request_api_key(API_VERSIONS)
        .with_request_api_version(MOCK_MAX)
        .with_correlation_id(header.correlation_id)
        .with_client_id(Some(StrBytes::from_string(header.client_id.clone())))
        .encode(
            &mut out,
            ApiKey::ApiVersions.request_header_version(MOCK_MAX),
        )
        .expect("a v1 request header encodes");
    ApiVersionsRequest::default()
        .encode(&mut out, MOCK_MAX)
        .expect("an empty v2 request encodes");
    out.to_vec()
}

/// The mock's answer to a request of version `asked` (the mock was asked v2 for v3 and
/// v4), with `ranges` put in place of (or added to) the mock's, at the version asked. The
/// response header of ApiVersions is v0 at every version, as in Kafka. An error answer, or
/// one it cannot read, passes unchanged.
pub fn answer(frame: Vec<u8>, asked: i16, ranges: &[(i16, i16, i16)]) -> Vec<u8> {
    let rewrite = || -> Option<Vec<u8>> {
        let mut bytes = Bytes::from(frame.clone());
        let header = ResponseHeader::decode(&mut bytes, 0).ok()?;
        let mut response = ApiVersionsResponse::decode(&mut bytes, asked.min(MOCK_MAX)).ok()?;
        if response.error_code != 0 {
            return None;
        }
        response
            .api_keys
            .retain(|key| !ranges.iter().any(|(own, _, _)| *own == key.api_key));
        response
            .api_keys
            .extend(ranges.iter().map(|(key, min, max)| {
                ApiVersion::default()
                    .with_api_key(*key)
                    .with_min_version(*min)
                    .with_max_version(*max)
            }));
        response.api_keys.sort_by_key(|key| key.api_key);
        let mut out = BytesMut::new();
        header.encode(&mut out, 0).ok()?;
        response.encode(&mut out, asked).ok()?;
        Some(out.to_vec())
    };
    rewrite().unwrap_or(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mock's v2 answer with these ranges.
    fn mock_answer(correlation_id: i32, error: i16, ranges: &[(i16, i16, i16)]) -> Vec<u8> {
        let mut out = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(correlation_id)
            .encode(&mut out, 0)
            .unwrap();
        ApiVersionsResponse::default()
            .with_error_code(error)
            .with_api_keys(
                ranges
                    .iter()
                    .map(|(key, min, max)| {
                        ApiVersion::default()
                            .with_api_key(*key)
                            .with_min_version(*min)
                            .with_max_version(*max)
                    })
                    .collect(),
            )
            .encode(&mut out, 2)
            .unwrap();
        out.to_vec()
    }

    fn read(frame: &[u8], version: i16) -> (i32, Vec<(i16, i16, i16)>) {
        let mut bytes = Bytes::copy_from_slice(frame);
        let header = ResponseHeader::decode(&mut bytes, 0).unwrap();
        let response = ApiVersionsResponse::decode(&mut bytes, version).unwrap();
        assert!(bytes.is_empty(), "bytes after the answer");
        let keys = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        (header.correlation_id, keys)
    }

    #[test]
    fn a_flexible_request_is_asked_as_v2_and_answered_flexibly() {
        let header = RequestHeader {
            api_key: API_VERSIONS,
            api_version: 4,
            correlation_id: 9,
            client_id: "adminclient-1".into(),
            body: 0,
        };
        assert!(is_flexible(&header));
        let downgraded = downgrade_request(&header);
        let parsed = RequestHeader::parse(&downgraded).unwrap();
        assert_eq!((parsed.api_key, parsed.api_version), (API_VERSIONS, 2));
        assert_eq!(parsed.correlation_id, 9);
        assert_eq!(parsed.client_id, "adminclient-1");
        assert_eq!(parsed.body, downgraded.len(), "a v2 request has no body");

        let v2 = mock_answer(9, 0, &[(3, 0, 12), (18, 0, 2)]);
        let flexible = answer(v2, 4, &[SUPPORTED]);
        assert_eq!(read(&flexible, 4), (9, vec![(3, 0, 12), (18, 0, 4)]));
        for other in [0, 2, 5] {
            assert!(!is_flexible(&RequestHeader {
                api_version: other,
                ..header.clone()
            }));
        }
    }

    #[test]
    fn ranges_are_replaced_and_added() {
        let response = mock_answer(77, 0, &[(0, 0, 10), (11, 0, 6), (18, 0, 2)]);
        let rewritten = answer(response, 2, &[(11, 0, 9), (19, 0, 4)]);
        assert_eq!(
            read(&rewritten, 2),
            (77, vec![(0, 0, 10), (11, 0, 9), (18, 0, 2), (19, 0, 4)])
        );
        // An error answer passes unchanged.
        let error = mock_answer(77, 35, &[(18, 0, 2)]); // UNSUPPORTED_VERSION
        assert_eq!(answer(error.clone(), 2, &[(11, 0, 9)]), error);
    }
}
