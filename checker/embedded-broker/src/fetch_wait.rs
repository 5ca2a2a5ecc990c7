//! Fetch waits that end when data could have arrived, as Kafka's do.
//!
//! A consumer's Fetch says how long the broker may hold it when there is nothing to return
//! (`fetch.wait.max.ms`, 500 ms in librdkafka). Kafka parks such a fetch in its purgatory
//! and answers it as soon as a producer appends to one of its partitions. The mock cluster
//! holds it for the whole wait whatever is produced meanwhile (librdkafka
//! `src/rdkafka_mock_handlers.c`, `rd_kafka_mock_handle_Fetch`: "we should cut the wait short
//! and feed newly produced data ... but that is too much of a hassle"), so a record written
//! to an idle partition reached its consumer up to half a second late, and verdicts varied
//! by that much. The forwarder lowers the wait the mock sees to [`MAX_WAIT_MS`]: an idle
//! consumer gets its empty answer sooner and fetches again, as after any empty answer, and
//! new records reach it within that bound.

use crate::wire::RequestHeader;

/// The Fetch API key.
pub const FETCH: i16 = 1;

/// The longest the mock holds an empty fetch, in milliseconds.
pub const MAX_WAIT_MS: i32 = 50;

/// Lowers the `MaxWaitMs` of the Fetch request `frame` to [`MAX_WAIT_MS`]. Returns whether
/// the frame was a Fetch it could read.
pub fn cap(header: &RequestHeader, frame: &mut [u8]) -> bool {
    if header.api_key != FETCH {
        return false;
    }
    // Header v2 (tagged fields) from Fetch v12; the ReplicaId before MaxWaitMs until v14.
    let body = if header.api_version >= 12 {
        match header.flexible_body(frame) {
            Some(body) => body,
            None => return false,
        }
    } else {
        header.body
    };
    let at = body + if header.api_version <= 14 { 4 } else { 0 };
    let Some(field) = frame.get_mut(at..at + 4) else {
        return false;
    };
    let wait = i32::from_be_bytes([field[0], field[1], field[2], field[3]]);
    if wait > MAX_WAIT_MS {
        field.copy_from_slice(&MAX_WAIT_MS.to_be_bytes());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Fetch request frame of `version` with `max_wait` ms, its body cut after MinBytes.
    fn fetch(version: i16, max_wait: i32) -> Vec<u8> {
        let mut frame = Vec::new();
        frame.extend(FETCH.to_be_bytes());
        frame.extend(version.to_be_bytes());
        frame.extend(7i32.to_be_bytes());
        frame.extend(2i16.to_be_bytes());
        frame.extend(b"me");
        if version >= 12 {
            frame.push(0); // no tagged fields in the header
        }
        if version <= 14 {
            frame.extend((-1i32).to_be_bytes()); // ReplicaId
        }
        frame.extend(max_wait.to_be_bytes());
        frame.extend(1i32.to_be_bytes()); // MinBytes
        frame
    }

    /// MaxWaitMs: the field before MinBytes, which ends these frames.
    fn wait_of(frame: &[u8]) -> i32 {
        let at = frame.len() - 8;
        i32::from_be_bytes(frame[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn a_long_wait_is_capped_in_every_layout() {
        for version in [4, 11, 12, 14, 15, 16] {
            let mut frame = fetch(version, 500);
            let header = RequestHeader::parse(&frame).unwrap();
            assert!(cap(&header, &mut frame), "v{version}");
            assert_eq!(wait_of(&frame), MAX_WAIT_MS, "v{version}");
            // Nothing else moved: MinBytes is still 1.
            assert_eq!(frame[frame.len() - 4..], 1i32.to_be_bytes(), "v{version}");
        }
    }

    #[test]
    fn a_short_wait_and_other_requests_are_left_alone() {
        let mut frame = fetch(11, 10);
        let header = RequestHeader::parse(&frame).unwrap();
        assert!(cap(&header, &mut frame));
        assert_eq!(wait_of(&frame), 10);
        let mut produce = fetch(11, 500);
        produce[1] = 0; // api key 0: Produce
        let header = RequestHeader::parse(&produce).unwrap();
        assert!(!cap(&header, &mut produce));
        assert_eq!(wait_of(&produce), 500);
    }
}
