//! The course's embedded broker: librdkafka's mock cluster behind a forwarder whose group
//! coordinator behaves like Apache Kafka's.
//!
//! librdkafka's mock cluster (inside `rdkafka`, so nothing to install) speaks the Kafka
//! protocol well enough for producing and fetching, but its classic group coordinator is
//! not Kafka's: a rebalance waits `session.timeout.ms − 1 s` even when every member has
//! rejoined, commits are refused while a rebalance is prepared, DescribeGroups and
//! ListGroups are not served, and `group.instance.id` is ignored. Consumer groups are the
//! course's subject, so the forwarder in front of the mock answers the group APIs itself,
//! from a coordinator written after Kafka's (`group/`), and passes everything else on.
//!
//! ```text
//!  lab process ──▶ forwarder (bootstrap address) ──▶ mock cluster (produce, fetch, metadata)
//!                     └─ group coordinator (join, sync, heartbeat, leave, offsets, describe)
//! ```

mod api_versions;
mod fetch_wait;
mod forwarder;
pub mod group;
mod kip848_offsets;
mod list_offsets;
mod log_start;
mod mock_cluster;
pub mod stand_in;
mod topic_admin;
mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};

pub use group::events::{now_millis, GroupEvent, Happened};
pub use group::messages::{GroupDescription, MemberDescription};
use group::Coordinator;
pub use group::Settings as GroupSettings;
pub use group::{GroupState, Rebalance};
use mock_cluster::MockCluster;

/// Apache Kafka's `group.consumer.heartbeat.interval.ms`.
pub const KAFKA_CONSUMER_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(5000);
/// Apache Kafka's `group.consumer.session.timeout.ms` (the mock's own default is 30 s).
pub const KAFKA_CONSUMER_SESSION_TIMEOUT: Duration = Duration::from_millis(45_000);

/// Where the embedded broker listens and what it announces.
#[derive(Debug, Clone)]
pub struct Options {
    /// The address clients connect to (port 0: any free port).
    pub listen: SocketAddr,
    /// The `host:port` announced in metadata; `None`: the address listened on.
    pub advertise: Option<(String, u16)>,
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay: Duration,
    /// `group.consumer.heartbeat.interval.ms`: how often members of a KIP-848 group
    /// (`group.protocol=consumer`) heartbeat, and so how soon they hear of a change.
    pub consumer_heartbeat_interval: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertise: None,
            initial_rebalance_delay: GroupSettings::default().initial_rebalance_delay,
            consumer_heartbeat_interval: KAFKA_CONSUMER_HEARTBEAT_INTERVAL,
        }
    }
}

/// A running embedded broker. Dropping it stops it.
pub struct EmbeddedBroker {
    mock: Arc<MockCluster>,
    coordinator: Arc<Coordinator>,
    runtime: Option<tokio::runtime::Runtime>,
    local: SocketAddr,
    bootstrap: String,
}

impl EmbeddedBroker {
    /// Starts a broker on a free port of 127.0.0.1 with Kafka's default settings.
    pub fn start() -> Result<EmbeddedBroker> {
        EmbeddedBroker::start_with(Options::default())
    }

    /// Starts a broker as `options` say. Callable from inside or outside a tokio runtime:
    /// the broker runs on a runtime of its own.
    pub fn start_with(options: Options) -> Result<EmbeddedBroker> {
        let mock = Arc::new(MockCluster::start()?);
        mock.set_initial_rebalance_delay(options.initial_rebalance_delay.as_millis() as i32)?;
        mock.set_consumer_group_timers(
            options.consumer_heartbeat_interval.as_millis() as i32,
            KAFKA_CONSUMER_SESSION_TIMEOUT.as_millis() as i32,
        )?;
        let upstream: SocketAddr = mock
            .bootstrap()
            .parse()
            .context("the mock cluster's address")?;
        let listener = std::net::TcpListener::bind(options.listen)
            .with_context(|| format!("cannot listen on {}", options.listen))?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let (host, port) = options
            .advertise
            .clone()
            .unwrap_or_else(|| (advertised_host(local), local.port()));
        let port = if port == 0 { local.port() } else { port };
        mock.advertise(&host, port)?;
        let coordinator = Coordinator::new(GroupSettings {
            initial_rebalance_delay: options.initial_rebalance_delay,
            ..GroupSettings::default()
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("embedded-broker")
            .enable_all()
            .build()
            .context("cannot start the embedded broker's runtime")?;
        let shared = Arc::new(forwarder::Shared {
            upstream,
            coordinator: coordinator.clone(),
            topics: topic_admin::Topics {
                mock: mock.clone(),
                created: Mutex::new(Default::default()),
                log_starts: Default::default(),
            },
        });
        let timers = coordinator.clone();
        runtime.spawn(async move {
            let _timers = timers.spawn_timers();
            match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => forwarder::serve(listener, shared).await,
                Err(error) => eprintln!("embedded broker: cannot listen: {error}"),
            }
        });
        Ok(EmbeddedBroker {
            mock,
            coordinator,
            runtime: Some(runtime),
            local,
            bootstrap: format!("{host}:{port}"),
        })
    }

    /// The address clients bootstrap from (what it announces).
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sets `group.initial.rebalance.delay.ms`, for the coordinator and the mock alike.
    pub fn set_initial_rebalance_delay(&self, delay: Duration) -> Result<()> {
        self.coordinator.set_initial_rebalance_delay(delay);
        self.mock
            .set_initial_rebalance_delay(delay.as_millis() as i32)
    }

    /// Creates a topic (the mock serves no CreateTopics request of its own).
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<()> {
        self.mock.create_topic(name, partitions)
    }

    /// A group as DescribeGroups would show it.
    pub fn describe_group(&self, group_id: &str) -> GroupDescription {
        self.coordinator.describe(group_id)
    }

    /// What happens to the classic groups from now on, as the coordinator does it: joins,
    /// leaves, expired sessions, rebalances and their reasons, generations and assignments.
    /// (KIP-848 groups are the mock's, which tells nothing.)
    pub fn group_events(&self) -> tokio::sync::broadcast::Receiver<GroupEvent> {
        self.coordinator.subscribe()
    }

    /// The groups' completed rebalances (the last few of each), in the order they began:
    /// how long members waited on the coordinator, and how much of it was the initial delay.
    pub fn rebalances(&self) -> Vec<Rebalance> {
        self.coordinator.rebalances()
    }

    /// Stops serving. Also what dropping it does.
    pub fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Safe inside an async context too, unlike dropping the runtime.
            runtime.shutdown_background();
        }
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The host to announce for a listening address: loopback for "every interface".
fn advertised_host(local: SocketAddr) -> String {
    if local.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        local.ip().to_string()
    }
}
