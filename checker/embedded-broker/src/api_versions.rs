//! The ApiVersions answer clients negotiate with: the mock cluster's, with the version
//! ranges of the APIs the forwarder answers itself put in their place.

use crate::wire::{Reader, Writer};

/// API key of ApiVersions.
pub const API_VERSIONS: i16 = 18;

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
