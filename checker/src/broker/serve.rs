//! `checker broker serve`: the embedded broker as a Kafka-protocol server of its own, for a
//! local container image that stands in for Apache Kafka where no registry can be reached
//! (the container backend's tests build one from the checker binary).
//!
//! It reads the same environment as the `apache/kafka` image, so the container backend
//! starts it exactly like Kafka: it listens on the `PLAINTEXT` listener of
//! `KAFKA_LISTENERS` (an empty host means every interface, as in Kafka), announces the
//! `PLAINTEXT` address of `KAFKA_ADVERTISED_LISTENERS`, and takes
//! `KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS`.
//!
//! librdkafka's mock cluster can only listen on a random port of 127.0.0.1
//! (`rd_kafka_mock_broker_new` binds port 0; `rd_kafka_mock_broker_set_host_port` changes
//! only what it advertises), and it serves neither CreateTopics nor DeleteTopics. So a small
//! forwarder sits in front of it: it passes every request through, answers CreateTopics and
//! DeleteTopics itself with the mock's own API, and adds those two to the ApiVersions
//! answer. A deleted topic is hidden (metadata reports it unknown), since the mock cannot
//! drop one.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::EmbeddedBroker;

/// Kafka API keys the forwarder looks at.
const API_CREATE_TOPICS: i16 = 19;
const API_DELETE_TOPICS: i16 = 20;
const API_VERSIONS: i16 = 18;
const API_METADATA: i16 = 3;
/// The versions it answers: the non-flexible ones, which librdkafka uses.
const CREATE_TOPICS_MAX: i16 = 4;
const DELETE_TOPICS_MAX: i16 = 1;
/// Kafka error codes.
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_PARTITIONS: i16 = 37;
/// The largest request or response passed on (Kafka's socket.request.max.bytes).
const MAX_FRAME: usize = 100 << 20;

/// What `checker broker serve` was told on its command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeOptions {
    /// The port to listen on (default: `KAFKA_LISTENERS`' PLAINTEXT port, else 9092).
    pub port: Option<u16>,
    /// The `HOST:PORT` to announce (default: `KAFKA_ADVERTISED_LISTENERS`' PLAINTEXT one).
    pub advertise: Option<String>,
}

/// Where to listen and what to announce, once options and environment are combined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The forwarder's address.
    pub listen: SocketAddr,
    /// The host announced in metadata.
    pub advertise_host: String,
    /// The port announced in metadata (0: the one actually listened on).
    pub advertise_port: u16,
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay_ms: i32,
}

impl Plan {
    /// Combines `options` with the Kafka image's environment, read through `env`.
    pub fn new(options: &ServeOptions, env: impl Fn(&str) -> Option<String>) -> Result<Plan> {
        let listener = env("KAFKA_LISTENERS")
            .map(|text| plaintext_listener(&text))
            .transpose()?;
        let (listen_host, env_port) = match listener {
            // An empty host listens everywhere, as in Kafka.
            Some((host, port)) if host.is_empty() => ("0.0.0.0".to_string(), port),
            Some((host, port)) => (host, port),
            None => ("127.0.0.1".to_string(), 9092),
        };
        let port = options.port.unwrap_or(env_port);
        let listen: SocketAddr = format!("{listen_host}:{port}")
            .parse()
            .with_context(|| format!("cannot listen on {listen_host}:{port}"))?;
        let advertised = match &options.advertise {
            Some(address) => Some(split_host_port(address)?),
            None => env("KAFKA_ADVERTISED_LISTENERS")
                .map(|text| plaintext_listener(&text))
                .transpose()?,
        };
        let (advertise_host, advertise_port) = match advertised {
            Some((host, port)) if !host.is_empty() => (host, port),
            _ if listen.ip().is_unspecified() => ("127.0.0.1".to_string(), port),
            _ => (listen.ip().to_string(), port),
        };
        let initial_rebalance_delay_ms = match env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS") {
            Some(text) => text
                .trim()
                .parse()
                .with_context(|| format!("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS={text}"))?,
            None => 3000,
        };
        Ok(Plan {
            listen,
            advertise_host,
            advertise_port,
            initial_rebalance_delay_ms,
        })
    }
}

/// The `PLAINTEXT` entry (else the first) of a Kafka listener list, as (host, port).
fn plaintext_listener(list: &str) -> Result<(String, u16)> {
    let entries: Vec<(&str, &str)> = list
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| entry.split_once("://").unwrap_or(("", entry)))
        .collect();
    let (_, address) = entries
        .iter()
        .find(|(name, _)| *name == "PLAINTEXT")
        .or(entries.first())
        .ok_or_else(|| anyhow!("no listener in {list:?}"))?;
    split_host_port(address)
}

fn split_host_port(address: &str) -> Result<(String, u16)> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| anyhow!("{address:?} is not HOST:PORT"))?;
    let port = port
        .parse()
        .with_context(|| format!("{address:?} is not HOST:PORT"))?;
    Ok((host.to_string(), port))
}

/// Runs the stand-in broker until SIGTERM or SIGINT.
pub async fn run(options: ServeOptions) -> Result<()> {
    let plan = Plan::new(&options, |key| std::env::var(key).ok())?;
    let server = Server::start(&plan).await?;
    eprintln!(
        "serving the embedded broker (librdkafka's mock cluster) on {}, announced as {}",
        server.local_addr(),
        server.advertised()
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

/// A running stand-in broker. Dropping it stops it.
pub struct Server {
    local: SocketAddr,
    advertised: String,
    accept: JoinHandle<()>,
    _broker: Arc<EmbeddedBroker>,
}

impl Server {
    /// Starts the mock cluster and its forwarder as `plan` says.
    pub async fn start(plan: &Plan) -> Result<Server> {
        let broker = Arc::new(EmbeddedBroker::start()?);
        broker.set_initial_rebalance_delay(plan.initial_rebalance_delay_ms)?;
        let upstream: SocketAddr = broker
            .bootstrap()
            .parse()
            .context("the mock cluster's address")?;
        let listener = TcpListener::bind(plan.listen)
            .await
            .with_context(|| format!("cannot listen on {}", plan.listen))?;
        let local = listener.local_addr()?;
        let port = match plan.advertise_port {
            0 => local.port(),
            port => port,
        };
        broker.advertise(&plan.advertise_host, port)?;
        let state = Arc::new(State {
            broker: broker.clone(),
            created: Mutex::new(HashSet::new()),
        });
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Ok(upstream) = TcpStream::connect(upstream).await {
                        let _ = client.set_nodelay(true);
                        let _ = upstream.set_nodelay(true);
                        forward(client, upstream, state).await;
                    }
                });
            }
        });
        Ok(Server {
            local,
            advertised: format!("{}:{port}", plan.advertise_host),
            accept,
            _broker: broker,
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The address it announces to clients.
    pub fn advertised(&self) -> &str {
        &self.advertised
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

struct State {
    broker: Arc<EmbeddedBroker>,
    /// Topics created through CreateTopics and not deleted since.
    created: Mutex<HashSet<String>>,
}

/// Passes one client connection through to the mock cluster, answering the admin requests
/// the mock lacks. Ends when either side closes.
async fn forward(client: TcpStream, upstream: TcpStream, state: Arc<State>) {
    let (mut client_in, mut client_out) = client.into_split();
    let (mut upstream_in, mut upstream_out) = upstream.into_split();
    let (to_client, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    // ApiVersions and Metadata requests in flight: correlation id -> (api key, version).
    let in_flight: Mutex<HashMap<i32, (i16, i16)>> = Mutex::new(HashMap::new());

    let requests = async {
        let to_client = to_client.clone();
        while let Ok(Some(frame)) = read_frame(&mut client_in).await {
            let Some(header) = RequestHeader::parse(&frame) else {
                return;
            };
            match header.api_key {
                API_CREATE_TOPICS | API_DELETE_TOPICS => {
                    let state = state.clone();
                    let answer = tokio::task::spawn_blocking(move || {
                        answer_admin(&header, &frame[header.body..], &state)
                    })
                    .await;
                    let Ok(Some(response)) = answer else {
                        return;
                    };
                    if to_client.send(response).is_err() {
                        return;
                    }
                }
                key => {
                    if key == API_VERSIONS || key == API_METADATA {
                        in_flight
                            .lock()
                            .expect("poisoned")
                            .insert(header.correlation_id, (key, header.api_version));
                    }
                    if write_frame(&mut upstream_out, &frame).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    let responses = async {
        while let Ok(Some(mut frame)) = read_frame(&mut upstream_in).await {
            if frame.len() >= 4 {
                let correlation_id = i32::from_be_bytes(frame[..4].try_into().expect("4 bytes"));
                let request = in_flight.lock().expect("poisoned").remove(&correlation_id);
                match request {
                    Some((API_VERSIONS, version)) => frame = add_admin_apis(frame, version),
                    Some((_, version)) => name_controller(&mut frame, version),
                    None => {}
                }
            }
            if to_client.send(frame).is_err() {
                return;
            }
        }
    };
    let writer = async {
        while let Some(frame) = outgoing.recv().await {
            if write_frame(&mut client_out, &frame).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = requests => {}
        _ = responses => {}
        _ = writer => {}
    }
}

async fn read_frame(reader: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Option<Vec<u8>>> {
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

async fn write_frame(writer: &mut (impl AsyncWrite + Unpin), frame: &[u8]) -> std::io::Result<()> {
    let mut buffer = Vec::with_capacity(frame.len() + 4);
    buffer.extend_from_slice(&(frame.len() as i32).to_be_bytes());
    buffer.extend_from_slice(frame);
    writer.write_all(&buffer).await
}

/// The start of a request (header v1: the non-flexible one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RequestHeader {
    api_key: i16,
    api_version: i16,
    correlation_id: i32,
    /// Where the body starts (valid for header v1 only).
    body: usize,
}

impl RequestHeader {
    fn parse(frame: &[u8]) -> Option<RequestHeader> {
        let mut reader = Reader::new(frame);
        let api_key = reader.i16()?;
        let api_version = reader.i16()?;
        let correlation_id = reader.i32()?;
        reader.nullable_string()?;
        Some(RequestHeader {
            api_key,
            api_version,
            correlation_id,
            body: reader.position,
        })
    }
}

/// Answers a CreateTopics or DeleteTopics request; `None` for one it cannot read.
fn answer_admin(header: &RequestHeader, body: &[u8], state: &State) -> Option<Vec<u8>> {
    let mut reader = Reader::new(body);
    let mut out = Writer::default();
    out.i32(header.correlation_id);
    let version = header.api_version;
    if header.api_key == API_CREATE_TOPICS {
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
                let code = state.broker.create_topic_code(&name, partitions);
                if code == 0 {
                    state.created.lock().expect("poisoned").insert(name.clone());
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
            let known = state.created.lock().expect("poisoned").remove(&name);
            let code = if known {
                state.broker.hide_topic(&name);
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

/// Adds CreateTopics and DeleteTopics to an ApiVersions response (versions 0 to 2, the
/// non-flexible ones; a flexible request gets the mock's UNSUPPORTED_VERSION and is retried
/// with version 2 by the client). Anything else passes unchanged.
fn add_admin_apis(frame: Vec<u8>, request_version: i16) -> Vec<u8> {
    if !(0..=2).contains(&request_version) {
        return frame;
    }
    let rewrite = || -> Option<Vec<u8>> {
        let mut reader = Reader::new(&frame);
        reader.i32()?; // correlation id
        let error = reader.i16()?;
        if error != 0 {
            return None;
        }
        let count = reader.i32()?;
        let mut keys = Vec::new();
        for _ in 0..count.max(0) {
            keys.push((reader.i16()?, reader.i16()?, reader.i16()?));
        }
        let rest = &frame[reader.position..];
        keys.retain(|(key, _, _)| *key != API_CREATE_TOPICS && *key != API_DELETE_TOPICS);
        keys.push((API_CREATE_TOPICS, 0, CREATE_TOPICS_MAX));
        keys.push((API_DELETE_TOPICS, 0, DELETE_TOPICS_MAX));
        keys.sort();
        let mut out = Writer::default();
        out.0.extend_from_slice(&frame[..6]);
        out.i32(keys.len() as i32);
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

/// Makes a Metadata response (versions 1 to 12) name its first broker as the controller.
fn name_controller(frame: &mut [u8], version: i16) {
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

/// Reads Kafka's big-endian primitive types.
struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, position: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(n)?;
        let slice = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(slice)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    fn i8(&mut self) -> Option<i8> {
        Some(self.take(1)?[0] as i8)
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn nullable_string(&mut self) -> Option<Option<String>> {
        let length = self.i16()?;
        if length < 0 {
            return Some(None);
        }
        let bytes = self.take(length as usize)?;
        Some(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    fn string(&mut self) -> Option<String> {
        self.nullable_string()?
    }

    fn uvarint(&mut self) -> Option<u64> {
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

    /// Skips a (nullable) string, compact in flexible versions.
    fn any_string(&mut self, flexible: bool) -> Option<()> {
        if flexible {
            let length = self.uvarint()?;
            self.skip(length.saturating_sub(1) as usize)
        } else {
            self.nullable_string().map(|_| ())
        }
    }

    /// An array's length, compact in flexible versions (null counts as empty).
    fn array_length(&mut self, flexible: bool) -> Option<usize> {
        if flexible {
            Some(self.uvarint()?.saturating_sub(1) as usize)
        } else {
            Some(self.i32()?.max(0) as usize)
        }
    }

    fn tagged_fields(&mut self) -> Option<()> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?; // tag
            let size = self.uvarint()?;
            self.skip(size as usize)?;
        }
        Some(())
    }
}

/// Writes Kafka's big-endian primitive types.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn i16(&mut self, value: i16) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    fn i32(&mut self, value: i32) {
        self.0.extend_from_slice(&value.to_be_bytes());
    }

    fn string(&mut self, value: &str) {
        self.nullable_string(Some(value));
    }

    fn nullable_string(&mut self, value: Option<&str>) {
        match value {
            None => self.i16(-1),
            Some(value) => {
                self.i16(value.len() as i16);
                self.0.extend_from_slice(value.as_bytes());
            }
        }
    }
}

/// Starts a stand-in broker on a free port of 127.0.0.1 (for tests).
pub async fn start_on_loopback() -> Result<Server> {
    let plan = Plan {
        listen: "127.0.0.1:0".parse().expect("address"),
        advertise_host: "127.0.0.1".to_string(),
        advertise_port: 0,
        initial_rebalance_delay_ms: 0,
    };
    Server::start(&plan).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::records::Outgoing;
    use crate::broker::{Broker, BrokerChoice};

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_plan_follows_the_kafka_image_environment() {
        let vars = crate::broker::container::kafka_env(40123);
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let plan = Plan::new(&ServeOptions::default(), env(&pairs)).unwrap();
        assert_eq!(plan.listen, "0.0.0.0:9092".parse().unwrap());
        assert_eq!(plan.advertise_host, "127.0.0.1");
        assert_eq!(plan.advertise_port, 40123);
        assert_eq!(plan.initial_rebalance_delay_ms, 0);
    }

    #[test]
    fn without_environment_it_stays_on_loopback() {
        let plan = Plan::new(&ServeOptions::default(), env(&[])).unwrap();
        assert_eq!(plan.listen, "127.0.0.1:9092".parse().unwrap());
        assert_eq!(
            (plan.advertise_host.as_str(), plan.advertise_port),
            ("127.0.0.1", 9092)
        );
        assert_eq!(plan.initial_rebalance_delay_ms, 3000);
        let options = ServeOptions {
            port: Some(19092),
            advertise: Some("localhost:29092".into()),
        };
        let plan = Plan::new(&options, env(&[])).unwrap();
        assert_eq!(plan.listen, "127.0.0.1:19092".parse().unwrap());
        assert_eq!(
            (plan.advertise_host.as_str(), plan.advertise_port),
            ("localhost", 29092)
        );
        assert!(Plan::new(
            &ServeOptions::default(),
            env(&[("KAFKA_LISTENERS", "PLAINTEXT://:x")])
        )
        .is_err());
        let plan = Plan::new(
            &ServeOptions::default(),
            env(&[(
                "KAFKA_LISTENERS",
                "CONTROLLER://:9093,PLAINTEXT://127.0.0.2:1",
            )]),
        )
        .unwrap();
        assert_eq!(plan.listen, "127.0.0.2:1".parse().unwrap());
    }

    #[test]
    fn api_versions_gain_the_admin_requests() {
        let mut response = Writer::default();
        response.i32(77); // correlation id
        response.i16(0);
        response.i32(2);
        for (key, min, max) in [(0, 0, 10), (18, 0, 2)] {
            response.i16(key);
            response.i16(min);
            response.i16(max);
        }
        response.i32(0); // throttle
        let rewritten = add_admin_apis(response.0.clone(), 2);
        let mut reader = Reader::new(&rewritten);
        assert_eq!(reader.i32(), Some(77));
        assert_eq!(reader.i16(), Some(0));
        assert_eq!(reader.i32(), Some(4));
        let keys: Vec<_> = (0..4)
            .map(|_| {
                (
                    reader.i16().unwrap(),
                    reader.i16().unwrap(),
                    reader.i16().unwrap(),
                )
            })
            .collect();
        assert_eq!(keys, [(0, 0, 10), (18, 0, 2), (19, 0, 4), (20, 0, 1)]);
        assert_eq!(reader.i32(), Some(0));
        assert_eq!(reader.position, rewritten.len());
        // A flexible request's answer, or an error, passes unchanged.
        assert_eq!(add_admin_apis(response.0.clone(), 3), response.0);
        let mut error = response.0.clone();
        error[4..6].copy_from_slice(&35i16.to_be_bytes()); // UNSUPPORTED_VERSION
        assert_eq!(add_admin_apis(error.clone(), 2), error);
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

    #[tokio::test]
    async fn the_stand_in_serves_the_admin_requests_kafka_has() {
        let server = start_on_loopback().await.unwrap();
        let address = server.local_addr().to_string();
        assert_eq!(server.advertised(), address);
        let broker = Broker::connect(&BrokerChoice::External(address.clone()))
            .await
            .unwrap();
        broker.create_topic("t-serve-abcdef12", 3).await.unwrap();
        assert_eq!(
            broker.end_offsets("t-serve-abcdef12").await.unwrap().len(),
            3
        );
        let error = broker
            .create_topic("t-serve-abcdef12", 3)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("exists already"), "{error}");
        broker.ensure_topic("t-serve-abcdef12", 3).await.unwrap();
        let record = Outgoing {
            key: Some("k".into()),
            partition: Some(2),
            payload: "v".into(),
        };
        broker.produce("t-serve-abcdef12", &[record]).await.unwrap();
        let stored = broker.records("t-serve-abcdef12").await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].partition, stored[0].payload.as_str()), (2, "v"));
        // The run's topic is gone after the run, as on Kafka.
        broker.shutdown().await;
        let gone = tokio::task::spawn_blocking(move || {
            use rdkafka::consumer::{BaseConsumer, Consumer};
            let consumer: BaseConsumer = crate::broker::client_config(&address).create().unwrap();
            let metadata = consumer
                .fetch_metadata(Some("t-serve-abcdef12"), std::time::Duration::from_secs(5))
                .unwrap();
            metadata.topics()[0].error().is_some()
        })
        .await
        .unwrap();
        assert!(gone, "the topic is still served after the run");
    }
}
