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

/// Kafka's INVALID_REQUEST error code.
const INVALID_REQUEST: i16 = 42;

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

    /// Makes the broker announce `host:port` in its metadata instead of the address it
    /// listens on, for clients that reach it through a forwarder (`checker broker serve`).
    pub fn advertise(&self, host: &str, port: u16) -> Result<()> {
        let host = std::ffi::CString::new(host).map_err(|_| anyhow!("bad host name {host:?}"))?;
        // SAFETY: the cluster lives as long as `self.handle`; the string outlives the call,
        // which copies it.
        unsafe {
            rdsys::rd_kafka_mock_broker_set_host_port(
                self.cluster()?,
                1,
                host.as_ptr(),
                i32::from(port),
            );
        }
        Ok(())
    }

    /// Sets how long the first join of an empty group waits for more members.
    pub fn set_initial_rebalance_delay(&self, delay_ms: i32) -> Result<()> {
        // SAFETY: the cluster lives as long as `self.handle`.
        unsafe { rdsys::rd_kafka_mock_group_initial_rebalance_delay_ms(self.cluster()?, delay_ms) };
        Ok(())
    }

    /// Creates a topic and returns the Kafka error code (0 when created, 36 when it exists).
    pub(crate) fn create_topic_code(&self, name: &str, partitions: i32) -> i16 {
        let (Ok(cluster), Ok(name)) = (self.cluster(), std::ffi::CString::new(name)) else {
            return INVALID_REQUEST;
        };
        // SAFETY: the cluster lives as long as `self.handle`; the string outlives the call.
        unsafe { rdsys::rd_kafka_mock_topic_create(cluster, name.as_ptr(), partitions, 1) as i16 }
    }

    /// Makes every metadata answer about `name` say that it does not exist: how the
    /// stand-in broker of `checker broker serve` deletes a topic (the mock cluster cannot).
    pub(crate) fn hide_topic(&self, name: &str) {
        let (Ok(cluster), Ok(name)) = (self.cluster(), std::ffi::CString::new(name)) else {
            return;
        };
        // SAFETY: the cluster lives as long as `self.handle`; the string outlives the call.
        unsafe {
            rdsys::rd_kafka_mock_topic_set_error(
                cluster,
                name.as_ptr(),
                rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
            )
        }
    }

    fn cluster(&self) -> Result<*mut rdsys::rd_kafka_mock_cluster_t> {
        // SAFETY: the client handle owns the mock cluster and outlives this call.
        let cluster =
            unsafe { rdsys::rd_kafka_handle_mock_cluster(self.handle.client().native_ptr()) };
        if cluster.is_null() {
            bail!("the embedded broker is gone");
        }
        Ok(cluster)
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
