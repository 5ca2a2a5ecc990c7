//! The embedded broker: librdkafka's mock cluster, running inside the checker process.
//!
//! It speaks the Kafka protocol on 127.0.0.1, so lab processes connect to it like to any
//! broker, and it needs nothing installed. It differs from Apache Kafka in ways the book
//! spells out (no CreateTopics request, its own group timers); the scenarios wait on events,
//! so their verdicts do not depend on those differences.

use anyhow::{anyhow, bail, Result};
use rdkafka::bindings as rdsys;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::ClientConfig;

/// How long the group coordinator waits for more members after the first one joins an empty
/// group (Apache Kafka's `group.initial.rebalance.delay.ms`, 3000 by default on both).
///
/// The mock cluster makes any member who joins after that wait for a whole rebalance of
/// `session.timeout.ms - 1000`. A lab starts all its members at once, so one second lets
/// them all into the first generation while keeping the first assignment quick.
pub const INITIAL_REBALANCE_DELAY_MS: i32 = 1000;

/// A running mock cluster with one broker. Dropping it stops the broker.
pub struct EmbeddedBroker {
    // The mock cluster belongs to this client handle and lives as long as it does.
    handle: BaseProducer,
    bootstrap: String,
}

impl EmbeddedBroker {
    /// Starts a one-broker mock cluster on a free port of 127.0.0.1.
    pub fn start() -> Result<EmbeddedBroker> {
        let handle: BaseProducer = ClientConfig::new()
            .set("test.mock.num.brokers", "1")
            .create()
            .map_err(|e| anyhow!("cannot start the embedded broker: {e}"))?;
        let bootstrap = {
            let cluster = handle
                .client()
                .mock_cluster()
                .ok_or_else(|| anyhow!("librdkafka did not start its mock cluster"))?;
            cluster.bootstrap_servers()
        };
        // SAFETY: the client handle owns the mock cluster and outlives this call.
        unsafe {
            let cluster = rdsys::rd_kafka_handle_mock_cluster(handle.client().native_ptr());
            if cluster.is_null() {
                bail!("librdkafka did not start its mock cluster");
            }
            rdsys::rd_kafka_mock_group_initial_rebalance_delay_ms(
                cluster,
                INITIAL_REBALANCE_DELAY_MS,
            );
        }
        Ok(EmbeddedBroker { handle, bootstrap })
    }

    /// The broker's address, `127.0.0.1:<port>`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Creates a topic through the mock cluster's own API (it does not serve CreateTopics).
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<()> {
        let cluster = self
            .handle
            .client()
            .mock_cluster()
            .ok_or_else(|| anyhow!("the embedded broker is gone"))?;
        cluster
            .create_topic(name, partitions, 1)
            .map_err(|e| anyhow!("cannot create topic {name}: {e}"))
    }
}
