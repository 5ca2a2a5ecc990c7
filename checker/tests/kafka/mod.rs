//! The Apache Kafka that tests run on: one broker of the local backend (`--broker local`)
//! per test binary, started from `$KAFKA_HOME` on first use and shared by the binary's
//! tests. Each run has its own topics and groups and deletes them when it ends, as on any
//! broker that outlives a run; the broker goes when the test binary exits (its watchdog).
//!
//! `bash checker/kafka/install.sh DIR` makes such an installation from Maven Central, as
//! `.ci/run` does. Without one (or without Java 17) the tests pass without checking
//! anything and say so with a boxed SKIPPED notice, unless `REQUIRE_KAFKA=1` is set: then
//! they fail.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use checker::broker::local::{Installation, Java, LocalKafka, Port, KAFKA_HOME_VAR};
use checker::broker::{Broker, LocalBroker};
use tokio::sync::OnceCell;

use crate::skip;

/// The variable that turns a missing Kafka into a failure.
pub const REQUIRE: &str = "REQUIRE_KAFKA";

static KAFKA: OnceCell<Result<Arc<LocalKafka>, String>> = OnceCell::const_new();

/// Whether Kafka must be there (CI).
pub fn required() -> bool {
    std::env::var(REQUIRE).is_ok_and(|v| v == "1")
}

/// The installation `$KAFKA_HOME` names, and a Java for it; why not, where they are missing.
pub fn installation() -> Result<(Installation, Java), String> {
    let home = std::env::var_os(KAFKA_HOME_VAR)
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| {
            format!(
                "{KAFKA_HOME_VAR} is not set (make an installation with \
                 `bash checker/kafka/install.sh DIR` and set {KAFKA_HOME_VAR}=DIR)"
            )
        })?;
    let installation = Installation::open(&home).map_err(|e| e.to_string())?;
    let java = Java::find().map_err(|e| e.to_string())?;
    Ok((installation, java))
}

/// The shared broker, or `None` (the test is skipped, loudly) where there is no Kafka here.
pub async fn shared() -> Option<Arc<LocalKafka>> {
    let found = KAFKA
        .get_or_init(|| async {
            let (installation, java) = match installation() {
                Ok(found) => found,
                Err(why) if required() => panic!("{REQUIRE}=1, but {why}"),
                Err(why) => return Err(why),
            };
            let kafka = LocalKafka::start(installation, java, Port::Any)
                .await
                .unwrap_or_else(|e| panic!("Apache Kafka did not start: {e:#}"));
            Ok(Arc::new(kafka))
        })
        .await;
    match found {
        Ok(kafka) => Some(kafka.clone()),
        Err(why) => {
            skip::missing(why, REQUIRE);
            None
        }
    }
}

/// A run's broker on the shared Kafka, or `None` (skipped, loudly).
pub async fn broker() -> Option<Broker> {
    Some(Broker::Local(LocalBroker::shared(shared().await?)))
}
