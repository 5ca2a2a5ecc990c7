//! Brokers the labs run against: embedded (default), an Apache Kafka container the checker
//! starts and removes, an Apache Kafka installed on this machine that the checker starts and
//! kills, or an existing cluster's address.
//!
//! A broker that outlives the run (an existing cluster, the session container of
//! `checker broker up`, a local Kafka that several runs share) gets back what a run put on
//! it: every topic the run created is deleted at the end, with the run's consumer groups. A
//! container or local Kafka the checker started for one run is removed instead, even when
//! the run fails or is interrupted (see [`teardown`]).

pub mod container;
pub mod embedded;
pub mod local;
pub mod offsets;
pub mod records;
pub mod serve;
mod teardown;
mod watchdog;
pub mod wire;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

pub use container::ContainerBroker;
pub use embedded::EmbeddedBroker;
pub use local::LocalBroker;
use teardown::{Pending, Teardown};

/// How long the checker waits for a broker to answer before calling it unreachable.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// How long cleaning up after a run may take, per request.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Apache Kafka's default `group.initial.rebalance.delay.ms` (`GroupCoordinatorConfig`).
pub const KAFKA_INITIAL_REBALANCE_DELAY: Duration = Duration::from_millis(3000);

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
    /// Apache Kafka installed on this machine, started by the checker (KRaft, no container).
    Local {
        /// The installation (`--kafka-home`, `KAFKA_HOME`, `kafka_home`); `None`: not named,
        /// which starting the broker reports.
        home: Option<PathBuf>,
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
            "local" => Ok(BrokerChoice::Local { home: None }),
            address if address.contains(':') && !address.contains(char::is_whitespace) => {
                Ok(BrokerChoice::External(address.to_string()))
            }
            other => Err(format!(
                "{other:?} is not a broker: use `embedded`, `container`, `local` or a bootstrap \
                 address such as localhost:9092"
            )),
        }
    }
}

impl BrokerChoice {
    /// The backend's name: `embedded`, `container`, `local` or `external`.
    pub fn kind(&self) -> &'static str {
        match self {
            BrokerChoice::Embedded => "embedded",
            BrokerChoice::Container { .. } => "container",
            BrokerChoice::Local { .. } => "local",
            BrokerChoice::External(_) => "external",
        }
    }
}

impl std::fmt::Display for BrokerChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokerChoice::Embedded => write!(f, "embedded"),
            BrokerChoice::Container { image } => write!(f, "container ({image})"),
            BrokerChoice::Local { home: Some(home) } => write!(f, "local ({})", home.display()),
            BrokerChoice::Local { home: None } => write!(f, "local"),
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
    /// Apache Kafka from a local installation: one the checker started for this run, or one
    /// that several runs share.
    Local(LocalBroker),
    /// A cluster someone else runs.
    External(ExternalBroker),
}

/// An existing cluster, reached by its bootstrap address.
pub struct ExternalBroker {
    address: String,
    /// Deleting what the run created there.
    teardown: Pending,
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
            BrokerChoice::Local { home } => {
                Broker::Local(LocalBroker::start(home.as_deref(), local::Port::Any).await?)
            }
            BrokerChoice::External(address) => Broker::External(ExternalBroker {
                address: address.clone(),
                teardown: Pending::register(Teardown::topics_on(address)),
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
            Broker::Local(broker) => broker.bootstrap(),
            Broker::External(broker) => &broker.address,
        }
    }

    /// How long this broker's coordinator waits for more members before the first rebalance
    /// of a new group (`group.initial.rebalance.delay.ms`). Scenarios derive their waits
    /// from it. An external cluster's setting cannot be read over the protocol, so Kafka's
    /// default is assumed there.
    pub fn initial_rebalance_delay(&self) -> Duration {
        match self {
            // The local Kafka is configured with the embedded broker's timers.
            Broker::Embedded(_) | Broker::Local(_) => embedded::INITIAL_REBALANCE_DELAY,
            Broker::Container(_) => container::initial_rebalance_delay(),
            Broker::External(_) => KAFKA_INITIAL_REBALANCE_DELAY,
        }
    }

    /// `group.consumer.heartbeat.interval.ms`: how often the members of a KIP-848 group
    /// heartbeat, and so how soon they hear of a change to their assignment.
    pub fn consumer_heartbeat_interval(&self) -> Duration {
        match self {
            Broker::Embedded(_) | Broker::Local(_) => embedded::CONSUMER_HEARTBEAT_INTERVAL,
            Broker::Container(_) => container::consumer_heartbeat_interval(),
            Broker::External(_) => embedded_broker::KAFKA_CONSUMER_HEARTBEAT_INTERVAL,
        }
    }

    /// What happens to the broker's groups, told as it happens, where the broker can tell:
    /// the embedded broker's coordinator does. Kafka's are read by polling.
    pub fn group_events(
        &self,
    ) -> Option<tokio::sync::broadcast::Receiver<embedded_broker::GroupEvent>> {
        match self {
            Broker::Embedded(broker) => Some(broker.group_events()),
            _ => None,
        }
    }

    /// A one-line description for status output.
    pub fn describe(&self) -> String {
        match self {
            Broker::Embedded(broker) => format!("embedded broker at {}", broker.bootstrap()),
            Broker::Container(broker) => broker.describe(),
            Broker::Local(broker) => broker.describe(),
            Broker::External(broker) => format!("Kafka at {}", broker.address),
        }
    }

    /// Creates `name` with `partitions` partitions and waits until the broker serves it.
    ///
    /// On a broker that outlives the run, the topic is deleted again by [`Broker::shutdown`]
    /// (or when the broker is dropped, or on Ctrl-C).
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<()> {
        match self {
            Broker::Embedded(broker) => broker.create_topic(name, partitions)?,
            _ => {
                if !self.admin_create_topic(name, partitions).await? {
                    bail!("cannot create topic {name}: it exists already");
                }
                if let Some(teardown) = self.teardown() {
                    teardown.track_topic(name);
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
        let Some(teardown) = self.teardown() else {
            return;
        };
        if let Some(work) = teardown.take() {
            let _ = tokio::task::spawn_blocking(work).await;
        }
    }

    /// What ending the run must undo; nothing for the embedded broker, which goes with it.
    fn teardown(&self) -> Option<&Pending> {
        match self {
            Broker::Embedded(_) => None,
            Broker::Container(broker) => Some(broker.teardown()),
            Broker::Local(broker) => Some(broker.teardown()),
            Broker::External(broker) => Some(&broker.teardown),
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
        assert_eq!("local".parse(), Ok(BrokerChoice::Local { home: None }));
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
        let local = BrokerChoice::Local {
            home: Some("/opt/kafka".into()),
        };
        assert_eq!(local.kind(), "local");
        assert_eq!(local.to_string(), "local (/opt/kafka)");
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
