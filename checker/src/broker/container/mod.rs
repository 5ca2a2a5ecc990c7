//! The container backend: a single-node Apache Kafka (KRaft) in Docker or Podman.
//!
//! The checker drives the engine's command line (`run`, `inspect`, `rm`, ...) and needs no
//! library for it. Every container it starts carries the label `kafka-course=1`:
//!
//! - a run's container (`--broker container`), named `kafka-course-run-<pid>-<port>`, is
//!   removed when the run ends, whether it passed, failed or was interrupted. A watchdog
//!   process removes it even if the checker is killed outright;
//! - the session container of `checker broker up --broker container`, named
//!   `kafka-course`, keeps running until `checker broker down`. While it runs, runs with
//!   `--broker container` use it instead of starting their own, and delete what they
//!   created on it.
//!
//! Kafka is published on 127.0.0.1 only, on a port chosen before the container starts,
//! because the broker must advertise the address clients reach it at.
//!
//! - [`survey`](survey()): which engines are installed and answer (`checker doctor`);
//! - [`Engine`]: one engine's command line, and what it says about the course's containers;
//! - [`kafka_env`]: Kafka's environment in the container, from `kafka.env`;
//! - [`ContainerBroker`]: a container's lifecycle, from `run` through ready to removed.

mod engine;
mod kafka;
mod lifecycle;
mod survey;

pub use engine::{ContainerInfo, Engine, EngineKind};
pub use kafka::{consumer_heartbeat_interval, initial_rebalance_delay, kafka_env};
pub(super) use lifecycle::Removal;
pub use lifecycle::{free_port, port_is_free, ContainerBroker};
pub use survey::{pick, survey, survey_in, EngineReport};

/// The label on every container the course starts (`--label kafka-course=1`).
pub const LABEL: &str = "kafka-course";
/// The name of the session container of `checker broker up`.
pub const SESSION_NAME: &str = "kafka-course";
/// Kafka's client port inside the container.
pub const CONTAINER_PORT: u16 = 9092;
/// The host port the session container takes when it is free (the labs' default address).
pub const SESSION_PORT: u16 = 9092;
/// The environment variable that picks an engine: `docker`, `podman`, or a program's path.
pub const ENGINE_VAR: &str = "CHECKER_ENGINE";

/// The labels that say what a container is for, where it listens and who started it.
const ROLE_LABEL: &str = "kafka-course.role";
const BOOTSTRAP_LABEL: &str = "kafka-course.bootstrap";
const PID_LABEL: &str = "kafka-course.pid";
const IMAGE_LABEL: &str = "kafka-course.image";

/// The way out that every engine error offers.
const USE_EMBEDDED: &str = "or use the embedded broker (--broker embedded, the default)";
