//! The local backend: an Apache Kafka installed on this machine (the tarball from the Kafka
//! site, Homebrew's `kafka`, or the `libs/` that `checker/kafka/install.sh` lays out from
//! Maven Central), run by the checker with no container.
//!
//! For each run the checker formats a fresh KRaft log folder in a scratch folder, writes a
//! one-node `server.properties` (broker and controller together, on free loopback ports,
//! with the course's settings) and starts `kafka.Kafka` on Java 17 or newer. The broker is
//! ready once it answers metadata. It is killed, and its folder deleted, when the run ends,
//! on Ctrl-C, and, through a watchdog process, when the checker itself is killed.
//!
//! - [`Installation`], [`Java`]: finding what to run, or saying in one line what is wrong;
//! - [`LocalKafka`]: one broker process, from format to kill;
//! - [`LocalBroker`]: a run's handle on one, its own or shared with other runs.

mod installation;
mod lifecycle;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Result};

pub use installation::{Installation, Java, KAFKA_HOME_VAR, MIN_JAVA};
pub use lifecycle::{LocalKafka, Port};

use super::teardown::{Pending, Teardown};

/// A run's local Kafka.
pub struct LocalBroker {
    kafka: Arc<LocalKafka>,
    /// Deleting what the run created, on a broker other runs share; nothing on the run's own.
    teardown: Pending,
}

impl LocalBroker {
    /// Starts a broker of its own for one run, from the installation at `home`.
    pub async fn start(home: Option<&Path>, port: Port) -> Result<LocalBroker> {
        let kafka = start_kafka(home, port).await?;
        Ok(LocalBroker {
            kafka: Arc::new(kafka),
            teardown: Pending::register(Teardown::default()),
        })
    }

    /// A run on `kafka`, which other runs share: the run deletes its topics and groups when
    /// it ends.
    pub fn shared(kafka: Arc<LocalKafka>) -> LocalBroker {
        LocalBroker {
            teardown: Pending::register(Teardown::topics_on(kafka.bootstrap())),
            kafka,
        }
    }

    /// Where clients reach it.
    pub fn bootstrap(&self) -> &str {
        self.kafka.bootstrap()
    }

    /// The broker process.
    pub fn kafka(&self) -> &LocalKafka {
        &self.kafka
    }

    /// A one-line description for status output.
    pub fn describe(&self) -> String {
        format!(
            "local Apache Kafka {} (from {}) at {}",
            self.kafka.installation().version,
            self.kafka.installation().home.display(),
            self.kafka.bootstrap()
        )
    }

    /// What ending a run on it must undo.
    pub(super) fn teardown(&self) -> &Pending {
        &self.teardown
    }
}

/// Finds the installation at `home` and a Java for it, and starts a broker.
pub async fn start_kafka(home: Option<&Path>, port: Port) -> Result<LocalKafka> {
    let installation = Installation::open(&require_home(home)?)?;
    let java = Java::find()?;
    LocalKafka::start(installation, java, port).await
}

/// The installation folder, or what to do when none was named.
pub fn require_home(home: Option<&Path>) -> Result<PathBuf> {
    match home {
        Some(home) => Ok(home.to_path_buf()),
        None => bail!(
            "--broker local needs a Kafka installation: name it with --kafka-home DIR, \
             {KAFKA_HOME_VAR}=DIR or `kafka_home = \"DIR\"` in checker.toml (the folder you \
             unpacked Kafka into, with libs/; `bash checker/kafka/install.sh DIR` makes one \
             with Maven)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maven_installation_is_the_release_the_container_pins() {
        let pom = include_str!("../../../kafka/pom.xml");
        let (_, tag) = crate::broker::DEFAULT_IMAGE.split_once(':').unwrap();
        assert!(
            pom.contains(&format!("<kafka.version>{tag}</kafka.version>")),
            "checker/kafka/pom.xml is not on Kafka {tag}"
        );
    }

    #[test]
    fn an_unnamed_installation_says_how_to_name_one() {
        let error = require_home(None).unwrap_err().to_string();
        for way in ["--kafka-home", KAFKA_HOME_VAR, "kafka_home", "install.sh"] {
            assert!(error.contains(way), "{error}");
        }
    }
}
