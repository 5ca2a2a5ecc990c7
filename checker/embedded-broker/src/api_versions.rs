//! The ApiVersions answer clients negotiate with: the mock cluster's, with the version
//! ranges of the APIs the forwarder answers itself put in their place.
//!
//! The mock answers ApiVersions up to v2 only. Kafka's Java clients (4.x) ask with v4
//! first, and read the mock's UNSUPPORTED_VERSION answer as if it were v4: with a throttle
//! time of about 20 minutes, so they mute the connection and never send another request.
//! So a v3 or v4 request (the same schema, flexible) goes to the mock as v2, and its answer
//! comes back in the flexible layout, as Kafka's broker answers it.

use crate::wire::{Reader, RequestHeader, Writer};

/// API key of ApiVersions.
pub const API_VERSIONS: i16 = 18;

/// The versions of ApiVersions the forwarder answers: 0 to 2 by the mock, 3 and 4 by
/// [`downgrade_request`] and [`to_flexible`].
pub const SUPPORTED: (i16, i16, i16) = (API_VERSIONS, 0, 4);

/// Whether the forwarder rewrites this ApiVersions request for the mock.
pub fn is_flexible(header: &RequestHeader) -> bool {
    header.api_key == API_VERSIONS && (3..=SUPPORTED.2).contains(&header.api_version)
}

/// The v2 request the mock answers in place of a flexible one: the same correlation id and
/// client id. The flexible body (the client's software name and version) is informational.
pub fn downgrade_request(header: &RequestHeader) -> Vec<u8> {
    let mut out = Writer::default();
    out.i16(API_VERSIONS);
    out.i16(2);
    out.i32(header.correlation_id);
    out.nullable_string(Some(&header.client_id));
    out.0
}

/// The mock's v2 answer, in the layout of v3 and v4: compact arrays and tagged fields in
/// the body (the response header of ApiVersions stays v0, as in Kafka). Anything it cannot
/// read passes unchanged.
pub fn to_flexible(frame: Vec<u8>) -> Vec<u8> {
    let rewrite = || -> Option<Vec<u8>> {
        let mut reader = Reader::new(&frame);
        let correlation_id = reader.i32()?;
        let error = reader.i16()?;
        let count = reader.array()?;
        let mut keys = Vec::with_capacity(count);
        for _ in 0..count {
            keys.push((reader.i16()?, reader.i16()?, reader.i16()?));
        }
        let throttle = reader.i32()?;
        let mut out = Writer::response(correlation_id);
        out.i16(error);
        out.uvarint(keys.len() as u64 + 1);
        for (key, min, max) in keys {
            out.i16(key);
            out.i16(min);
            out.i16(max);
            out.uvarint(0);
        }
        out.i32(throttle);
        out.uvarint(0);
        Some(out.0)
    };
    rewrite().unwrap_or(frame)
}

/// Replaces (or adds) `ranges` in an ApiVersions response for a request of
/// `request_version` (0 to 2: the mock answers no flexible version, so clients fall back to
/// these). Anything it cannot read, or an error answer, passes unchanged.
pub fn override_ranges(
    frame: Vec<u8>,
    request_version: i16,
    ranges: &[(i16, i16, i16)],
) -> Vec<u8> {
    if !(0..=2).contains(&request_version) {
        return frame;
    }
    let rewrite = || -> Option<Vec<u8>> {
        let mut reader = Reader::new(&frame);
        reader.i32()?; // correlation id
        if reader.i16()? != 0 {
            return None;
        }
        let mut keys = Vec::new();
        for _ in 0..reader.array()? {
            keys.push((reader.i16()?, reader.i16()?, reader.i16()?));
        }
        let rest = &frame[reader.position..];
        keys.retain(|(key, _, _)| !ranges.iter().any(|(own, _, _)| own == key));
        keys.extend_from_slice(ranges);
        keys.sort();
        let mut out = Writer::default();
        out.0.extend_from_slice(&frame[..6]);
        out.array(keys.len());
        for (key, min, max) in keys {
            out.i16(key);
            out.i16(min);
            out.i16(max);
        }
        out.0.extend_from_slice(rest);
        Some(out.0)
    };
    rewrite().unwrap_or(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

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

        let mut v2 = Writer::default();
        v2.i32(9);
        v2.i16(0);
        v2.array(2);
        for (key, min, max) in [(3, 0, 12), (18, 0, 4)] {
            v2.i16(key);
            v2.i16(min);
            v2.i16(max);
        }
        v2.i32(0);
        let flexible = to_flexible(v2.0);
        let mut reader = Reader::new(&flexible);
        assert_eq!(reader.i32(), Some(9), "header v0: the correlation id alone");
        assert_eq!(reader.i16(), Some(0));
        assert_eq!(reader.uvarint(), Some(3), "a compact array of 2");
        for expected in [(3, 0, 12), (18, 0, 4)] {
            let key = (
                reader.i16().unwrap(),
                reader.i16().unwrap(),
                reader.i16().unwrap(),
            );
            assert_eq!(key, expected);
            assert_eq!(reader.uvarint(), Some(0), "no tagged fields");
        }
        assert_eq!(reader.i32(), Some(0), "the throttle time");
        assert_eq!(reader.uvarint(), Some(0), "no tagged fields");
        assert!(reader.is_done());
        for other in [0, 2, 5] {
            assert!(!is_flexible(&RequestHeader {
                api_version: other,
                ..header.clone()
            }));
        }
    }

    #[test]
    fn ranges_are_replaced_and_added() {
        let mut response = Writer::default();
        response.i32(77); // correlation id
        response.i16(0);
        response.array(3);
        for (key, min, max) in [(0, 0, 10), (11, 0, 6), (18, 0, 2)] {
            response.i16(key);
            response.i16(min);
            response.i16(max);
        }
        response.i32(0); // throttle
        let rewritten = override_ranges(response.0.clone(), 2, &[(11, 0, 5), (19, 0, 4)]);
        let mut reader = Reader::new(&rewritten);
        assert_eq!(reader.i32(), Some(77));
        assert_eq!(reader.i16(), Some(0));
        assert_eq!(reader.array(), Some(4));
        let keys: Vec<_> = (0..4)
            .map(|_| {
                (
                    reader.i16().unwrap(),
                    reader.i16().unwrap(),
                    reader.i16().unwrap(),
                )
            })
            .collect();
        assert_eq!(keys, [(0, 0, 10), (11, 0, 5), (18, 0, 2), (19, 0, 4)]);
        assert_eq!(reader.i32(), Some(0));
        assert!(reader.is_done());
        // A flexible request's answer, or an error, passes unchanged.
        assert_eq!(
            override_ranges(response.0.clone(), 3, &[(11, 0, 5)]),
            response.0
        );
        let mut error = response.0.clone();
        error[4..6].copy_from_slice(&35i16.to_be_bytes()); // UNSUPPORTED_VERSION
        assert_eq!(override_ranges(error.clone(), 2, &[(11, 0, 5)]), error);
    }
}
