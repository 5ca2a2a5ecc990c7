//! Finding what the local backend runs: an Apache Kafka installation (its `libs/`) and a
//! Java new enough for its broker.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The oldest Java a Kafka 4 broker runs on (Kafka's `minNonClientJavaVersion`).
pub const MIN_JAVA: u32 = 17;

/// The oldest Kafka the course runs on: 4.0 made KRaft the only mode and the consumer
/// protocol (KIP-848, lab 11) generally available.
pub const MIN_KAFKA_MAJOR: u32 = 4;

/// The variable that names a Kafka installation, as Kafka's own scripts and Homebrew use it.
pub const KAFKA_HOME_VAR: &str = "KAFKA_HOME";

/// An Apache Kafka installation: a folder whose `libs/` holds the broker's jars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// The folder named by `--kafka-home`, `KAFKA_HOME` or `kafka_home`.
    pub home: PathBuf,
    /// Its jars: `home/libs`, or `home/libexec/libs` (Homebrew's layout).
    pub libs: PathBuf,
    /// The Kafka release, read from the broker jar's name (`kafka_2.13-4.3.1.jar`).
    pub version: String,
}

impl Installation {
    /// Opens the installation at `home`, or says in one line what is wrong with it.
    pub fn open(home: &Path) -> Result<Installation> {
        if !home.is_dir() {
            bail!(
                "the Kafka installation {} does not exist: point --kafka-home or \
                 {KAFKA_HOME_VAR} at the folder you unpacked Kafka into (the one with libs/)",
                home.display()
            );
        }
        let libs = [home.join("libs"), home.join("libexec/libs")]
            .into_iter()
            .find(|libs| libs.is_dir());
        let Some(libs) = libs else {
            bail!(
                "{} has no libs/ folder, so it is not a Kafka installation: point \
                 --kafka-home or {KAFKA_HOME_VAR} at the folder you unpacked Kafka into \
                 (the one with bin/ and libs/)",
                home.display()
            );
        };
        let names: Vec<String> = std::fs::read_dir(&libs)
            .with_context(|| format!("cannot read {}", libs.display()))?
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        let Some(version) = names.iter().find_map(|name| broker_jar_version(name)) else {
            bail!(
                "{} holds no Kafka broker jar (kafka_2.13-<version>.jar): is this a Kafka \
                 installation, or only its clients?",
                libs.display()
            );
        };
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok());
        if major.is_none_or(|major| major < MIN_KAFKA_MAJOR) {
            bail!(
                "{} is Kafka {version}; the course needs Kafka {MIN_KAFKA_MAJOR}.0 or newer \
                 (KRaft only, and the consumer protocol of lab 11)",
                home.display()
            );
        }
        Ok(Installation {
            home: home.to_path_buf(),
            libs,
            version,
        })
    }

    /// The Java class path of its jars (`libs/*`, which the JVM expands itself).
    pub fn class_path(&self) -> String {
        format!("{}/*", self.libs.display())
    }
}

/// The release in a broker jar's name: `kafka_2.13-4.3.1.jar` is `4.3.1`; other jars
/// (`kafka-clients-…`, `kafka_2.13-4.3.1-test.jar`) are not the broker's.
fn broker_jar_version(name: &str) -> Option<String> {
    let rest = name.strip_prefix("kafka_")?.strip_suffix(".jar")?;
    let (scala, version) = rest.split_once('-')?;
    let numeric =
        |text: &str| !text.is_empty() && text.split('.').all(|p| p.parse::<u32>().is_ok());
    (numeric(scala) && numeric(version)).then(|| version.to_string())
}

/// A Java runtime: `$JAVA_HOME/bin/java`, else `java` on the `PATH`, as Kafka's scripts
/// choose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Java {
    /// The program to run.
    pub program: PathBuf,
    /// Its feature release: 17 for `17.0.15`, 8 for `1.8.0_292`.
    pub version: u32,
    /// The first line it prints of its version (`openjdk version "17.0.15" 2025-04-15`).
    pub banner: String,
}

impl Java {
    /// Finds the Java Kafka's scripts would use, and checks that it is new enough.
    pub fn find() -> Result<Java> {
        let program = match std::env::var_os("JAVA_HOME").filter(|home| !home.is_empty()) {
            Some(home) => Path::new(&home).join("bin/java"),
            None => PathBuf::from("java"),
        };
        let java = Java::probe(&program)?;
        if java.version < MIN_JAVA {
            bail!(
                "{} is Java {}; Kafka's broker needs Java {MIN_JAVA} or newer: install one \
                 (Debian: `apt install openjdk-17-jre-headless`) or set JAVA_HOME to it",
                program.display(),
                java.version
            );
        }
        Ok(java)
    }

    /// Runs `program -version` and reads its version.
    fn probe(program: &Path) -> Result<Java> {
        let output = Command::new(program).arg("-version").output();
        let output = match output {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no Java found ({}): Kafka's broker needs Java {MIN_JAVA} or newer: install \
                 one (Debian: `apt install openjdk-17-jre-headless`) or set JAVA_HOME to it",
                program.display()
            ),
            Err(e) => bail!("cannot run {}: {e}", program.display()),
        };
        // `java -version` prints to stderr.
        let text = String::from_utf8_lossy(&output.stderr);
        let banner = text.lines().next().unwrap_or_default().trim().to_string();
        let Some(version) = java_feature_version(&text) else {
            bail!(
                "{} -version printed no version Kafka's scripts would read: {banner:?}",
                program.display()
            );
        };
        Ok(Java {
            program: program.to_path_buf(),
            version,
            banner,
        })
    }
}

/// The feature release in `java -version`'s output: the quoted version's first number, or
/// its second for the old `1.x` scheme.
fn java_feature_version(output: &str) -> Option<u32> {
    let quoted = output.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '_', '-', '+']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_versions_are_read_as_kafkas_scripts_read_them() {
        let v17 = "openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime Environment";
        assert_eq!(java_feature_version(v17), Some(17));
        assert_eq!(java_feature_version("java version \"1.8.0_292\""), Some(8));
        assert_eq!(
            java_feature_version("openjdk version \"21\" 2023-09-19"),
            Some(21)
        );
        assert_eq!(java_feature_version("openjdk version \"25-ea\""), Some(25));
        assert_eq!(java_feature_version("no version here"), None);
    }

    #[test]
    fn the_broker_jar_names_the_release() {
        assert_eq!(
            broker_jar_version("kafka_2.13-4.3.1.jar").as_deref(),
            Some("4.3.1")
        );
        assert_eq!(broker_jar_version("kafka_2.13-4.3.1-test.jar"), None);
        assert_eq!(broker_jar_version("kafka-clients-4.3.1.jar"), None);
        assert_eq!(broker_jar_version("kafka_2.13-4.3.1-sources.jar"), None);
    }

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("checker-install-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn an_installation_needs_libs_with_a_broker_jar() {
        let dir = scratch("libs");
        let error = Installation::open(&dir.join("absent")).unwrap_err();
        assert!(error.to_string().contains("does not exist"), "{error}");
        let error = Installation::open(&dir).unwrap_err();
        assert!(error.to_string().contains("has no libs/ folder"), "{error}");
        std::fs::create_dir_all(dir.join("libs")).unwrap();
        std::fs::write(dir.join("libs/kafka-clients-4.3.1.jar"), "").unwrap();
        let error = Installation::open(&dir).unwrap_err();
        assert!(
            error.to_string().contains("holds no Kafka broker jar"),
            "{error}"
        );
        std::fs::write(dir.join("libs/kafka_2.13-3.9.1.jar"), "").unwrap();
        let error = Installation::open(&dir).unwrap_err();
        assert!(
            error.to_string().contains("needs Kafka 4.0 or newer"),
            "{error}"
        );
        std::fs::remove_file(dir.join("libs/kafka_2.13-3.9.1.jar")).unwrap();
        std::fs::write(dir.join("libs/kafka_2.13-4.3.1.jar"), "").unwrap();
        let found = Installation::open(&dir).unwrap();
        assert_eq!(found.version, "4.3.1");
        assert_eq!(found.class_path(), format!("{}/libs/*", dir.display()));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn homebrews_layout_is_an_installation() {
        let dir = scratch("brew");
        std::fs::create_dir_all(dir.join("libexec/libs")).unwrap();
        std::fs::write(dir.join("libexec/libs/kafka_2.13-4.1.0.jar"), "").unwrap();
        let found = Installation::open(&dir).unwrap();
        assert_eq!(found.libs, dir.join("libexec/libs"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_java_is_named() {
        let error = Java::probe(Path::new("/nonexistent/bin/java")).unwrap_err();
        assert!(error.to_string().contains("no Java found"), "{error}");
    }
}
