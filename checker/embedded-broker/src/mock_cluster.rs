//! librdkafka's mock cluster (`rdkafka::mocking`), with the few calls of its C API that
//! rdkafka does not wrap.
//!
//! It serves produce, fetch, metadata and everything else the labs use except the group
//! APIs, which the coordinator in front of it answers. It listens on a random port of
//! 127.0.0.1 only (`rd_kafka_mock_broker_new` binds port 0), and serves neither
//! CreateTopics nor DeleteTopics: topics are created through its own API.

use anyhow::{anyhow, bail, Result};
use rdkafka::bindings as rdsys;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::ClientConfig;

/// Kafka's INVALID_REQUEST error code.
const INVALID_REQUEST: i16 = 42;

/// A one-broker mock cluster. Dropping it stops the broker.
pub struct MockCluster {
    // The mock cluster belongs to this client handle and lives as long as it does.
    handle: BaseProducer,
    bootstrap: String,
}

// SAFETY: the handle is a librdkafka client, which is thread-safe; the raw cluster pointer
// is only used through librdkafka's own locking API.
unsafe impl Sync for MockCluster {}

impl MockCluster {
    /// Starts a one-broker mock cluster on a free port of 127.0.0.1.
    pub fn start() -> Result<MockCluster> {
        let handle: BaseProducer = ClientConfig::new()
            .set("test.mock.num.brokers", "1")
            .create()
            .map_err(|e| anyhow!("cannot start the embedded broker: {e}"))?;
        let bootstrap = handle
            .client()
            .mock_cluster()
            .ok_or_else(|| anyhow!("librdkafka did not start its mock cluster"))?
            .bootstrap_servers();
        let cluster = MockCluster { handle, bootstrap };
        cluster.cluster()?;
        Ok(cluster)
    }

    /// Where the mock itself listens, `127.0.0.1:<port>`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
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

    /// Makes the broker announce `host:port` in metadata and FindCoordinator answers
    /// instead of its own address, so that clients come back through the forwarder.
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

    /// Sets the mock's own `group.initial.rebalance.delay.ms` (it still coordinates
    /// KIP-848 consumer-protocol groups).
    pub fn set_initial_rebalance_delay(&self, delay_ms: i32) -> Result<()> {
        // SAFETY: the cluster lives as long as `self.handle`.
        unsafe { rdsys::rd_kafka_mock_group_initial_rebalance_delay_ms(self.cluster()?, delay_ms) };
        Ok(())
    }

    /// Sets the timers of KIP-848 consumer-protocol groups, which the mock coordinates:
    /// `group.consumer.heartbeat.interval.ms` and `group.consumer.session.timeout.ms`.
    pub fn set_consumer_group_timers(&self, heartbeat_ms: i32, session_ms: i32) -> Result<()> {
        let cluster = self.cluster()?;
        // SAFETY: the cluster lives as long as `self.handle`.
        unsafe {
            rdsys::rd_kafka_mock_set_group_consumer_heartbeat_interval_ms(cluster, heartbeat_ms);
            rdsys::rd_kafka_mock_set_group_consumer_session_timeout_ms(cluster, session_ms);
        }
        Ok(())
    }

    /// Creates a topic; the Kafka error code (0 when created, 36 when it exists).
    pub fn create_topic_code(&self, name: &str, partitions: i32) -> i16 {
        let (Ok(cluster), Ok(name)) = (self.cluster(), std::ffi::CString::new(name)) else {
            return INVALID_REQUEST;
        };
        // SAFETY: the cluster lives as long as `self.handle`; the string outlives the call.
        unsafe { rdsys::rd_kafka_mock_topic_create(cluster, name.as_ptr(), partitions, 1) as i16 }
    }

    /// Makes every metadata answer about `name` say that it does not exist: how a topic is
    /// deleted here (the mock cluster cannot drop one).
    pub fn hide_topic(&self, name: &str) {
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

    /// Creates a topic, failing with librdkafka's message (`... already exists`).
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
