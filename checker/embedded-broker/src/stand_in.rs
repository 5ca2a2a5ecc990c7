//! The embedded broker as a stand-in for the `apache/kafka` container image, where no registry
//! can be reached: `checker broker serve` runs it, and the container backend's tests build an
//! image around it.
//!
//! It reads the same environment as the `apache/kafka` image, so the container backend
//! starts it exactly like Kafka: it listens on the `PLAINTEXT` listener of
//! `KAFKA_LISTENERS` (an empty host means every interface, as in Kafka), announces the
//! `PLAINTEXT` address of `KAFKA_ADVERTISED_LISTENERS`, and takes
//! `KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS`.
//!
use std::net::SocketAddr;
use std::time::Duration;

use crate::{EmbeddedBroker, Options};
use anyhow::{anyhow, Context, Result};

/// What the stand-in was told on its command line (`checker broker serve`).
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

/// Runs the stand-in broker until SIGTERM or SIGINT.
pub async fn run(options: ServeOptions) -> Result<()> {
    let plan = Plan::new(&options, |key| std::env::var(key).ok())?;
    let server = Server::start(&plan).await?;
    eprintln!(
        "serving the embedded broker on {}, announced as {}",
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
    broker: EmbeddedBroker,
}

impl Server {
    /// Starts the embedded broker as `plan` says.
    pub async fn start(plan: &Plan) -> Result<Server> {
        let broker = EmbeddedBroker::start_with(Options {
            listen: plan.listen,
            advertise: Some((plan.advertise_host.clone(), plan.advertise_port)),
            initial_rebalance_delay: Duration::from_millis(
                plan.initial_rebalance_delay_ms.max(0) as u64
            ),
            ..Options::default()
        })?;
        Ok(Server { broker })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.broker.local_addr()
    }

    /// The address it announces to clients.
    pub fn advertised(&self) -> &str {
        self.broker.bootstrap()
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

/// Splits `HOST:PORT`.
fn split_host_port(address: &str) -> Result<(String, u16)> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| anyhow!("{address:?} is not HOST:PORT"))?;
    let port = port
        .parse()
        .with_context(|| format!("{address:?} is not HOST:PORT"))?;
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
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
}
