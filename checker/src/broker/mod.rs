//! Brokers the labs run against: embedded (default), an Apache Kafka container the checker
//! starts and removes, or an existing cluster's address.
//!
//! A broker that outlives the checker (an existing cluster, or the session container of
//! `checker broker up`) gets back what a run put on it: every topic the run created is
//! deleted at the end, with the run's consumer groups. A container the checker started for
//! one run is removed instead, even when the run fails or is interrupted.

pub mod container;
pub mod embedded;
pub mod offsets;
pub mod records;
pub mod serve;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

pub use container::ContainerBroker;
pub use embedded::EmbeddedBroker;

/// How long the checker waits for a broker to answer before calling it unreachable.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// How long cleaning up after a run may take, per request.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The Apache Kafka image `--broker container` runs unless `--image` names another.
pub const DEFAULT_IMAGE: &str = "apache/kafka:4.3.1";

/// Which broker to use, as chosen with `--broker` (or `CHECKER_BROKER`, or `checker.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerChoice {
    /// librdkafka's mock cluster inside the checker: nothing to install.
    Embedded,
    /// A single-node Apache Kafka (KRaft) in a Docker or Podman container.
    Container {
        /// The image to run.
        image: String,
    },
    /// An existing Kafka cluster at this bootstrap address.
    External(String),
}

impl std::str::FromStr for BrokerChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "embedded" => Ok(BrokerChoice::Embedded),
            "container" => Ok(BrokerChoice::Container {
                image: DEFAULT_IMAGE.to_string(),
            }),
            address if address.contains(':') && !address.contains(char::is_whitespace) => {
                Ok(BrokerChoice::External(address.to_string()))
            }
            other => Err(format!(
                "{other:?} is not a broker: use `embedded`, `container` or a bootstrap address \
                 such as localhost:9092"
            )),
        }
    }
}

impl BrokerChoice {
    /// The backend's name: `embedded`, `container` or `external`.
    pub fn kind(&self) -> &'static str {
        match self {
            BrokerChoice::Embedded => "embedded",
            BrokerChoice::Container { .. } => "container",
            BrokerChoice::External(_) => "external",
        }
    }
}

impl std::fmt::Display for BrokerChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerChoice::Embedded => write!(f, "embedded"),
            BrokerChoice::Container { image } => write!(f, "container ({image})"),
            BrokerChoice::External(address) => write!(f, "{address}"),
        }
    }
}

/// A broker the checker can run labs against.
pub enum Broker {
    /// The mock cluster, owned by this process.
    Embedded(EmbeddedBroker),
    /// Apache Kafka in a container: one the checker started for this run, or the session
    /// container of `checker broker up`.
    Container(ContainerBroker),
    /// A cluster someone else runs.
    External(ExternalBroker),
}

/// An existing cluster, reached by its bootstrap address.
pub struct ExternalBroker {
    address: String,
    cleanup: CleanupId,
}

impl Broker {
    /// Starts (embedded, container) or reaches (external) the chosen broker.
    ///
    /// A container is ready when this returns: it has answered a metadata request.
    pub async fn connect(choice: &BrokerChoice) -> Result<Broker> {
        let broker = match choice {
            BrokerChoice::Embedded => Broker::Embedded(embedded::start()?),
            BrokerChoice::Container { image } => {
                Broker::Container(ContainerBroker::start(image).await?)
            }
            BrokerChoice::External(address) => Broker::External(ExternalBroker {
                address: address.clone(),
                cleanup: CleanupId::register(Cleanup::topics_on(address)),
            }),
        };
        broker.check_reachable().await?;
        Ok(broker)
    }

    /// The bootstrap address lab processes connect to.
    pub fn bootstrap(&self) -> &str {
        match self {
            Broker::Embedded(broker) => broker.bootstrap(),
            Broker::Container(broker) => broker.bootstrap(),
            Broker::External(broker) => &broker.address,
        }
    }

    /// A one-line description for status output.
    pub fn describe(&self) -> String {
        match self {
            Broker::Embedded(broker) => format!("embedded broker at {}", broker.bootstrap()),
            Broker::Container(broker) => broker.describe(),
            Broker::External(broker) => format!("Kafka at {}", broker.address),
        }
    }

    /// Creates `name` with `partitions` partitions and waits until the broker serves it.
    ///
    /// On a broker that outlives the run, the topic is deleted again by [`Broker::shutdown`]
    /// (or when the broker is dropped, or by [`cleanup_on_exit`]).
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<()> {
        match self {
            Broker::Embedded(broker) => broker.create_topic(name, partitions)?,
            _ => {
                if !self.admin_create_topic(name, partitions).await? {
                    bail!("cannot create topic {name}: it exists already");
                }
                if let Some(id) = self.cleanup_id() {
                    id.track_topic(name);
                }
            }
        }
        self.wait_for_topic(name, partitions).await
    }

    /// Creates `name` unless it exists, and checks its partition count. Never deleted by
    /// the checker: for the course's own topics (`checker broker up`).
    pub async fn ensure_topic(&self, name: &str, partitions: i32) -> Result<()> {
        match self {
            Broker::Embedded(broker) => {
                if let Err(error) = broker.create_topic(name, partitions) {
                    if !error.to_string().contains("already exists") {
                        return Err(error);
                    }
                }
            }
            _ => {
                self.admin_create_topic(name, partitions).await?;
            }
        }
        self.wait_for_topic(name, partitions).await
    }

    /// Ends a run: deletes what the run created on a broker that outlives it, and removes
    /// the container the checker started for it. Errors are reported on stderr, not
    /// returned: the run's verdict stands either way.
    pub async fn shutdown(self) {
        let Some(id) = self.cleanup_id() else {
            return;
        };
        if let Some(cleanup) = id.take() {
            let _ = tokio::task::spawn_blocking(move || cleanup.run()).await;
        }
    }

    fn cleanup_id(&self) -> Option<&CleanupId> {
        match self {
            Broker::Embedded(_) => None,
            Broker::Container(broker) => Some(broker.cleanup_id()),
            Broker::External(broker) => Some(&broker.cleanup),
        }
    }

    /// Sends CreateTopics; `Ok(false)` when the topic exists already.
    async fn admin_create_topic(&self, name: &str, partitions: i32) -> Result<bool> {
        let admin: AdminClient<DefaultClientContext> = client_config(self.bootstrap())
            .create()
            .context("admin client")?;
        let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        let options = AdminOptions::new().request_timeout(Some(CLEANUP_TIMEOUT));
        let results = admin
            .create_topics([&topic], &options)
            .await
            .with_context(|| format!("cannot create topic {name}"))?;
        for result in results {
            match result {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => return Ok(false),
                Err((topic, e)) => bail!("cannot create topic {topic}: {e}"),
            }
        }
        Ok(true)
    }

    async fn wait_for_topic(&self, name: &str, partitions: i32) -> Result<()> {
        let bootstrap = self.bootstrap().to_string();
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = client_config(&bootstrap).create()?;
            let deadline = std::time::Instant::now() + REACH_TIMEOUT;
            loop {
                let metadata = consumer.fetch_metadata(Some(&name), REACH_TIMEOUT)?;
                let found = metadata
                    .topics()
                    .iter()
                    .find(|t| t.name() == name && t.error().is_none())
                    .map(|t| t.partitions().len());
                match found {
                    Some(found) if found == partitions as usize => return Ok(()),
                    Some(found) if found > 0 => bail!(
                        "topic {name} exists with {found} partitions, not {partitions}: \
                         delete it, or use a fresh broker"
                    ),
                    _ => {}
                }
                if std::time::Instant::now() > deadline {
                    bail!("topic {name} did not appear with {partitions} partitions");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .await?
    }

    async fn check_reachable(&self) -> Result<()> {
        let bootstrap = self.bootstrap().to_string();
        tokio::task::spawn_blocking(move || {
            probe(&bootstrap, REACH_TIMEOUT).map_err(|e| {
                anyhow!(
                    "cannot reach Kafka at {bootstrap}: {e}. Is the broker running? \
                     Use --broker embedded for the broker built into the checker."
                )
            })
        })
        .await?
    }
}

impl Drop for ExternalBroker {
    fn drop(&mut self) {
        // A run that ended early (an error, a panic) still deletes what it created.
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run();
        }
    }
}

/// Asks `bootstrap` for cluster metadata: `Ok` once a broker answers and names itself.
///
/// This is the readiness check of every backend: a port that accepts connections is not
/// yet a broker (a container's published port does long before Kafka has started).
pub fn probe(bootstrap: &str, timeout: Duration) -> Result<()> {
    let consumer: BaseConsumer = client_config(bootstrap).create()?;
    let metadata = consumer.fetch_metadata(None, timeout)?;
    if metadata.brokers().is_empty() {
        bail!("the cluster has no broker yet");
    }
    Ok(())
}

/// The configuration every checker-side client starts from.
pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        // A wrong address should fail in seconds, not after librdkafka's long retries.
        .set("socket.connection.setup.timeout.ms", "5000")
        .set_log_level(rdkafka::config::RDKafkaLogLevel::Error);
    config
}

/// Cleans up after every broker still in use: deletes their runs' topics and groups and
/// removes the containers the checker started. For the Ctrl-C handler, right before the
/// process exits (destructors do not run then). Blocks for at most a few seconds.
pub fn cleanup_on_exit() {
    let pending = std::mem::take(&mut *PENDING.lock().expect("cleanup registry poisoned"));
    let workers: Vec<_> = pending
        .into_values()
        .map(|cleanup| std::thread::spawn(move || cleanup.run()))
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}

/// What must happen when a broker is done with: a registry entry, so that Ctrl-C finds it.
#[derive(Default)]
struct Cleanup {
    /// Where to delete topics and groups (`None`: nothing to delete there).
    bootstrap: Option<String>,
    /// Topics this run created.
    topics: Vec<String>,
    /// A container to remove.
    container: Option<container::Removal>,
}

impl Cleanup {
    fn topics_on(bootstrap: &str) -> Cleanup {
        Cleanup {
            bootstrap: Some(bootstrap.to_string()),
            ..Cleanup::default()
        }
    }

    /// Does it all, blocking; reports failures on stderr.
    fn run(self) {
        if let Some(container) = self.container {
            // Removing the container removes everything in it.
            container.run();
            return;
        }
        let Some(bootstrap) = self.bootstrap else {
            return;
        };
        if self.topics.is_empty() {
            return;
        }
        if let Err(error) = delete_run_data(&bootstrap, &self.topics) {
            eprintln!(
                "warning: could not delete this run's topics on {bootstrap} ({}): {error:#}",
                self.topics.join(", ")
            );
        }
    }
}

static PENDING: Mutex<BTreeMap<u64, Cleanup>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A broker's entry in the cleanup registry.
struct CleanupId(u64);

impl CleanupId {
    fn register(cleanup: Cleanup) -> CleanupId {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        PENDING
            .lock()
            .expect("cleanup registry poisoned")
            .insert(id, cleanup);
        CleanupId(id)
    }

    fn track_topic(&self, topic: &str) {
        if let Some(cleanup) = PENDING
            .lock()
            .expect("cleanup registry poisoned")
            .get_mut(&self.0)
        {
            cleanup.topics.push(topic.to_string());
        }
    }

    /// Puts `cleanup` in place of the entry, and returns what was there.
    fn replace(&self, cleanup: Cleanup) -> Option<Cleanup> {
        PENDING
            .lock()
            .expect("cleanup registry poisoned")
            .insert(self.0, cleanup)
    }

    /// Takes the entry out of the registry (once: later calls get `None`).
    fn take(&self) -> Option<Cleanup> {
        PENDING
            .lock()
            .expect("cleanup registry poisoned")
            .remove(&self.0)
    }
}

/// Deletes `topics` and the consumer groups of the same runs.
///
/// The scenarios name a run's topics and groups `<base>-<nonce>`; a group is the run's when
/// its name ends with the nonce of one of the run's topics.
fn delete_run_data(bootstrap: &str, topics: &[String]) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(bootstrap).create()?;
    let options = AdminOptions::new()
        .request_timeout(Some(CLEANUP_TIMEOUT))
        .operation_timeout(Some(CLEANUP_TIMEOUT));

    let groups = run_groups(bootstrap, topics);
    if !groups.is_empty() {
        let names: Vec<&str> = groups.iter().map(String::as_str).collect();
        // Best effort: a group that still has members, or a broker without DeleteGroups,
        // keeps it (Kafka expires empty groups by itself).
        let _ = block_on(admin.delete_groups(&names, &options));
    }

    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let results = block_on(admin.delete_topics(&names, &options))?;
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(|result| match result {
            Ok(_) | Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => None,
            Err((topic, code)) => Some(format!("{topic}: {code}")),
        })
        .collect();
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}

/// The groups on `bootstrap` that belong to the runs that created `topics`.
fn run_groups(bootstrap: &str, topics: &[String]) -> Vec<String> {
    let suffixes: Vec<&str> = topics
        .iter()
        .filter_map(|topic| topic.rsplit_once('-').map(|(_, nonce)| nonce))
        .filter(|nonce| nonce.len() >= 6)
        .collect();
    if suffixes.is_empty() {
        return Vec::new();
    }
    let Ok(consumer) = client_config(bootstrap).create::<BaseConsumer>() else {
        return Vec::new();
    };
    let Ok(list) = consumer.fetch_group_list(None, CLEANUP_TIMEOUT) else {
        return Vec::new();
    };
    list.groups()
        .iter()
        .map(|group| group.name().to_string())
        .filter(|name| {
            suffixes
                .iter()
                .any(|nonce| name.strip_suffix(nonce).is_some_and(|s| s.ends_with('-')))
        })
        .collect()
}

/// Waits for `future` on the current thread. rdkafka's admin futures are completed by its
/// own background thread, so they need no async runtime: this works in `Drop` and in the
/// Ctrl-C handler, where awaiting is not possible.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = TaskContext::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_choices_parse() {
        assert_eq!("embedded".parse(), Ok(BrokerChoice::Embedded));
        assert_eq!(
            "container".parse(),
            Ok(BrokerChoice::Container {
                image: DEFAULT_IMAGE.into()
            })
        );
        assert_eq!(
            "localhost:9092".parse(),
            Ok(BrokerChoice::External("localhost:9092".into()))
        );
        assert_eq!(
            "a:9092,b:9092".parse(),
            Ok(BrokerChoice::External("a:9092,b:9092".into()))
        );
        for wrong in ["kafka", "docker", "", "a b:1"] {
            let error = wrong.parse::<BrokerChoice>().unwrap_err();
            assert!(error.contains("not a broker"), "{error}");
            assert!(error.contains("container"), "{error}");
        }
    }

    #[test]
    fn choices_name_their_backend() {
        assert_eq!(BrokerChoice::Embedded.kind(), "embedded");
        let container = BrokerChoice::Container {
            image: "x:1".into(),
        };
        assert_eq!(container.kind(), "container");
        assert_eq!(container.to_string(), "container (x:1)");
        assert_eq!(BrokerChoice::External("h:1".into()).kind(), "external");
    }

    #[test]
    fn the_default_image_is_pinned() {
        let (name, tag) = DEFAULT_IMAGE.split_once(':').unwrap();
        assert_eq!(name, "apache/kafka");
        assert!(
            tag.split('.').all(|part| part.parse::<u32>().is_ok()),
            "{tag}"
        );
    }

    #[test]
    fn block_on_waits_for_another_thread() {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.send(7).unwrap();
        });
        assert_eq!(block_on(receiver).unwrap(), 7);
    }

    #[tokio::test]
    async fn an_unreachable_broker_is_reported_clearly() {
        let choice = BrokerChoice::External("127.0.0.1:1".into());
        let error = Broker::connect(&choice)
            .await
            .err()
            .expect("port 1 has no Kafka");
        let message = error.to_string();
        assert!(
            message.contains("cannot reach Kafka at 127.0.0.1:1"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn the_embedded_broker_creates_topics() {
        let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
        assert!(broker.bootstrap().starts_with("127.0.0.1:"));
        broker.create_topic("t-created", 3).await.unwrap();
        // The course's topics may exist already: ensuring them again is fine.
        broker.ensure_topic("t-created", 3).await.unwrap();
        let error = broker.ensure_topic("t-created", 2).await.unwrap_err();
        assert!(error.to_string().contains("3 partitions, not 2"), "{error}");
        broker.shutdown().await;
    }
}
