//! Kafka's wire format: length-prefixed frames, request headers, and the big-endian
//! primitives the APIs the forwarder answers itself are made of.
//!
//! Only what the forwarder's own small edits need is here: CreateTopics and DeleteTopics,
//! ListOffsets by timestamp, a Fetch's wait, an acks=0 Produce. The group APIs, at every
//! version, and ApiVersions are `kafka-protocol`'s messages (`group/codec.rs`,
//! `api_versions.rs`).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest request or response passed on (Kafka's `socket.request.max.bytes`).
pub const MAX_FRAME: usize = 100 << 20;

/// Reads one size-prefixed frame; `None` at a clean end of stream.
pub async fn read_frame(reader: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Option<Vec<u8>>> {
    let mut size = [0u8; 4];
    match reader.read_exact(&mut size).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let size = i32::from_be_bytes(size);
    if size < 0 || size as usize > MAX_FRAME {
        return Err(std::io::Error::other(format!("bad frame size {size}")));
    }
    let mut frame = vec![0u8; size as usize];
    reader.read_exact(&mut frame).await?;
    Ok(Some(frame))
}

/// Writes one frame with its size prefix.
pub async fn write_frame(
    writer: &mut (impl AsyncWrite + Unpin),
    frame: &[u8],
) -> std::io::Result<()> {
    let mut buffer = Vec::with_capacity(frame.len() + 4);
    buffer.extend_from_slice(&(frame.len() as i32).to_be_bytes());
    buffer.extend_from_slice(frame);
    writer.write_all(&buffer).await
}

/// The start of a request: header v1 (api key, version, correlation id, client id).
///
/// Flexible requests use header v2, which adds tagged fields after the client id; `body`
/// points past them only when the caller says the request is flexible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// Which API.
    pub api_key: i16,
    /// Which version of it.
    pub api_version: i16,
    /// Echoed in the response.
    pub correlation_id: i32,
    /// The client's `client.id`.
    pub client_id: String,
    /// Where the body starts, for a header v1 request.
    pub body: usize,
}

impl RequestHeader {
    /// Parses the header of a request frame.
    pub fn parse(frame: &[u8]) -> Option<RequestHeader> {
        let mut reader = Reader::new(frame);
        let api_key = reader.i16()?;
        let api_version = reader.i16()?;
        let correlation_id = reader.i32()?;
        let client_id = reader.nullable_string()?.unwrap_or_default();
        Some(RequestHeader {
            api_key,
            api_version,
            correlation_id,
            client_id,
            body: reader.position,
        })
    }

    /// Where the body of a flexible (header v2) request starts.
    pub fn flexible_body(&self, frame: &[u8]) -> Option<usize> {
        let mut reader = Reader::new(frame);
        reader.position = self.body;
        reader.tagged_fields()?;
        Some(reader.position)
    }
}

/// Reads Kafka's big-endian primitive types; every read is `None` past the end.
pub struct Reader<'a> {
    bytes: &'a [u8],
    /// How far it has read.
    pub position: usize,
}

impl<'a> Reader<'a> {
    /// Reads `bytes` from the start.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, position: 0 }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(n)?;
        let slice = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(slice)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    /// An INT8.
    pub fn i8(&mut self) -> Option<i8> {
        Some(self.take(1)?[0] as i8)
    }

    /// An INT16.
    pub fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    /// An INT32.
    pub fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// An INT64.
    pub fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A NULLABLE_STRING.
    pub fn nullable_string(&mut self) -> Option<Option<String>> {
        let length = self.i16()?;
        if length < 0 {
            return Some(None);
        }
        let bytes = self.take(length as usize)?;
        Some(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// A STRING (a null reads as empty).
    pub fn string(&mut self) -> Option<String> {
        Some(self.nullable_string()?.unwrap_or_default())
    }

    /// BYTES (a null reads as empty).
    pub fn bytes(&mut self) -> Option<Vec<u8>> {
        let length = self.i32()?;
        if length < 0 {
            return Some(Vec::new());
        }
        Some(self.take(length as usize)?.to_vec())
    }

    /// An ARRAY's length; `None` inside for a null array.
    pub fn nullable_array(&mut self) -> Option<Option<usize>> {
        let length = self.i32()?;
        Some((length >= 0).then_some(length as usize))
    }

    /// An ARRAY's length (a null reads as empty).
    pub fn array(&mut self) -> Option<usize> {
        Some(self.nullable_array()?.unwrap_or(0))
    }

    /// An UNSIGNED_VARINT.
    pub fn uvarint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A VARINT or VARLONG (zigzag-encoded), as inside record batches.
    pub fn varint(&mut self) -> Option<i64> {
        let raw = self.uvarint()?;
        Some((raw >> 1) as i64 ^ -((raw & 1) as i64))
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = &self.bytes[self.position.min(self.bytes.len())..];
        self.position = self.bytes.len();
        rest
    }

    /// A COMPACT_NULLABLE_STRING.
    pub fn compact_nullable_string(&mut self) -> Option<Option<String>> {
        let length = self.uvarint()?;
        if length == 0 {
            return Some(None);
        }
        let bytes = self.take(length as usize - 1)?;
        Some(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// Skips a (nullable) string, compact in flexible versions.
    pub fn any_string(&mut self, flexible: bool) -> Option<()> {
        if flexible {
            self.compact_nullable_string().map(|_| ())
        } else {
            self.nullable_string().map(|_| ())
        }
    }

    /// An array's length, compact in flexible versions (null counts as empty).
    pub fn array_length(&mut self, flexible: bool) -> Option<usize> {
        if flexible {
            Some(self.uvarint()?.saturating_sub(1) as usize)
        } else {
            self.array()
        }
    }

    /// Skips a tagged-field section.
    pub fn tagged_fields(&mut self) -> Option<()> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?; // tag
            let size = self.uvarint()?;
            self.skip(size as usize)?;
        }
        Some(())
    }

    /// Whether every byte has been read.
    #[cfg(test)]
    pub fn is_done(&self) -> bool {
        self.position >= self.bytes.len()
    }
}

/// Writes Kafka's big-endian primitive types.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// An INT8.
    pub fn i8(&mut self, value: i8) {
        self.0.push(value as u8);
    }

    /// An INT16.
    pub fn i16(&mut self, value: i16) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    /// An INT32.
    pub fn i32(&mut self, value: i32) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    /// An INT64.
    pub fn i64(&mut self, value: i64) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    /// A STRING.
    pub fn string(&mut self, value: &str) {
        self.nullable_string(Some(value));
    }

    /// A NULLABLE_STRING.
    pub fn nullable_string(&mut self, value: Option<&str>) {
        match value {
            None => self.i16(-1),
            Some(value) => {
                self.i16(value.len() as i16);
                self.0.extend_from_slice(value.as_bytes());
            }
        }
    }

    /// An ARRAY's length.
    pub fn array(&mut self, length: usize) {
        self.i32(length as i32);
    }

    /// A VARINT or VARLONG (zigzag-encoded), as inside record batches.
    #[cfg(test)]
    pub fn varint(&mut self, value: i64) {
        let mut raw = ((value << 1) ^ (value >> 63)) as u64;
        while raw >= 0x80 {
            self.0.push((raw as u8 & 0x7f) | 0x80);
            raw >>= 7;
        }
        self.0.push(raw as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_round_trip() {
        let mut out = Writer::default();
        out.i8(-3);
        out.i16(-2);
        out.i32(70_000);
        out.i64(-5_000_000_000);
        out.string("group");
        out.nullable_string(None);
        out.i32(3);
        out.0.extend_from_slice(&[1, 2, 3]);
        out.array(2);
        for value in [0, -1, 1, 300, -70_000, i64::MAX, i64::MIN] {
            out.varint(value);
        }
        let mut reader = Reader::new(&out.0);
        assert_eq!(reader.i8(), Some(-3));
        assert_eq!(reader.i16(), Some(-2));
        assert_eq!(reader.i32(), Some(70_000));
        assert_eq!(reader.i64(), Some(-5_000_000_000));
        assert_eq!(reader.string().as_deref(), Some("group"));
        assert_eq!(reader.nullable_string(), Some(None));
        assert_eq!(reader.bytes(), Some(vec![1, 2, 3]));
        assert_eq!(reader.array(), Some(2));
        for value in [0, -1, 1, 300, -70_000, i64::MAX, i64::MIN] {
            assert_eq!(reader.varint(), Some(value));
        }
        assert!(reader.is_done());
        assert_eq!(
            reader.i8(),
            None,
            "reading past the end is None, not a panic"
        );
    }

    #[test]
    fn a_request_header_is_parsed() {
        let mut out = Writer::default();
        out.i16(11);
        out.i16(5);
        out.i32(42);
        out.string("rdkafka");
        out.string("body");
        let header = RequestHeader::parse(&out.0).expect("header");
        assert_eq!(
            (header.api_key, header.api_version, header.correlation_id),
            (11, 5, 42)
        );
        assert_eq!(header.client_id, "rdkafka");
        assert_eq!(
            Reader::new(&out.0[header.body..]).string().as_deref(),
            Some("body")
        );
    }
}
