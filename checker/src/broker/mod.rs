//! Brokers the labs run against: embedded (default), or an existing cluster's address.

mod embedded;
pub mod offsets;
pub mod records;

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

pub use embedded::EmbeddedBroker;

/// How long the checker waits for a broker to answer before calling it unreachable.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// Which broker to use, as chosen with `--broker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerChoice {
    /// librdkafka's mock cluster inside the checker: nothing to install.
    Embedded,
    /// An existing Kafka cluster at this bootstrap address.
    External(String),
}

impl std::str::FromStr for BrokerChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "embedded" => Ok(BrokerChoice::Embedded),
            address if address.contains(':') => Ok(BrokerChoice::External(address.to_string())),
            other => Err(format!(
                "{other:?} is not a broker: use `embedded` or a bootstrap address such as localhost:9092"
            )),
        }
    }
}

/// A broker the checker can run labs against.
pub enum Broker {
    /// The mock cluster, owned by this process.
    Embedded(EmbeddedBroker),
    /// A cluster someone else runs.
    External(String),
}

impl Broker {
    /// Starts (embedded) or reaches (external) the chosen broker.
    pub async fn connect(choice: &BrokerChoice) -> Result<Broker> {
        let broker = match choice {
            BrokerChoice::Embedded => Broker::Embedded(EmbeddedBroker::start()?),
            BrokerChoice::External(address) => Broker::External(address.clone()),
        };
        broker.check_reachable().await?;
        Ok(broker)
    }

    /// The bootstrap address lab processes connect to.
    pub fn bootstrap(&self) -> &str {
        match self {
            Broker::Embedded(broker) => broker.bootstrap(),
            Broker::External(address) => address,
        }
    }

    /// A one-line description for status output.
    pub fn describe(&self) -> String {
        match self {
            Broker::Embedded(broker) => format!("embedded broker at {}", broker.bootstrap()),
            Broker::External(address) => format!("Kafka at {address}"),
        }
    }

    /// Creates `name` with `partitions` partitions and waits until the broker serves it.
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<()> {
        match self {
            Broker::Embedded(broker) => broker.create_topic(name, partitions)?,
            Broker::External(address) => {
                let admin: AdminClient<DefaultClientContext> =
                    client_config(address).create().context("admin client")?;
                let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
                let results = admin
                    .create_topics([&topic], &AdminOptions::new())
                    .await
                    .with_context(|| format!("cannot create topic {name}"))?;
                for result in results {
                    result.map_err(|(topic, e)| anyhow!("cannot create topic {topic}: {e}"))?;
                }
            }
        }
        self.wait_for_topic(name, partitions).await
    }

    async fn wait_for_topic(&self, name: &str, partitions: i32) -> Result<()> {
        let bootstrap = self.bootstrap().to_string();
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = client_config(&bootstrap).create()?;
            let deadline = std::time::Instant::now() + REACH_TIMEOUT;
            loop {
                let metadata = consumer.fetch_metadata(Some(&name), REACH_TIMEOUT)?;
                let ready = metadata.topics().iter().any(|t| {
                    t.name() == name
                        && t.error().is_none()
                        && t.partitions().len() == partitions as usize
                });
                if ready {
                    return Ok(());
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
            let consumer: BaseConsumer = client_config(&bootstrap).create()?;
            consumer
                .fetch_metadata(None, REACH_TIMEOUT)
                .map(|_| ())
                .map_err(|e| {
                    anyhow!(
                        "cannot reach Kafka at {bootstrap}: {e}. Is the broker running? \
                         Leave out --broker to use the embedded one."
                    )
                })
        })
        .await?
    }
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
            "localhost:9092".parse(),
            Ok(BrokerChoice::External("localhost:9092".into()))
        );
        assert!("kafka"
            .parse::<BrokerChoice>()
            .unwrap_err()
            .contains("not a broker"));
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
    }
}
