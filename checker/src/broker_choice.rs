//! Which broker to use when the command line does not say: `CHECKER_BROKER`,
//! `CHECKER_IMAGE` and `KAFKA_HOME` in the environment, then `checker.toml` at the course
//! root.
//!
//! ```toml
//! # checker.toml (next to labs/): run the course on Apache Kafka in a container
//! broker = "container"          # or "embedded", "local", or an address such as "localhost:9092"
//! image = "apache/kafka:4.3.1"  # the image for "container" (optional)
//! kafka_home = "/opt/kafka"     # the installation for "local" (relative: to the course root)
//! ```
//!
//! The order is: `--broker`/`--image`/`--kafka-home`, then the environment, then the file,
//! then the embedded broker.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::broker::local::KAFKA_HOME_VAR;
use crate::broker::{BrokerChoice, DEFAULT_IMAGE};

/// The file's name, at the course root.
pub const FILE_NAME: &str = "checker.toml";
/// The environment variable naming the broker (`embedded`, `container`, `HOST:PORT`).
pub const BROKER_VAR: &str = "CHECKER_BROKER";
/// The environment variable naming the container image.
pub const IMAGE_VAR: &str = "CHECKER_IMAGE";

/// What `checker.toml` says.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `embedded`, `container`, `local` or a bootstrap address.
    pub broker: Option<String>,
    /// The image for the container backend.
    pub image: Option<String>,
    /// The Kafka installation for the local backend.
    pub kafka_home: Option<PathBuf>,
}

impl ConfigFile {
    /// Reads `checker.toml` from the course root; no file is an empty configuration.
    pub fn load(root: &Path) -> Result<ConfigFile> {
        let path = root.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => ConfigFile::parse(&text).with_context(|| format!("{}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Parses the text of a `checker.toml`.
    pub fn parse(text: &str) -> Result<ConfigFile> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.message()))
    }
}

/// Where the broker choice came from, for `checker doctor` and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--broker` on the command line.
    Flag,
    /// `CHECKER_BROKER`.
    Env,
    /// `checker.toml` at this path.
    File(PathBuf),
    /// Nothing said anything: the embedded broker.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => write!(f, "--broker"),
            Source::Env => write!(f, "{BROKER_VAR}"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Default => write!(f, "the default"),
        }
    }
}

/// The broker to use, and where that came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The broker, with the container image filled in.
    pub choice: BrokerChoice,
    /// Who chose the broker.
    pub source: Source,
    /// The image the container backend runs (whichever broker is chosen), for
    /// `checker doctor` and `checker broker up --broker container`.
    pub image: String,
    /// An external cluster named by the environment or the file (even when the flag chose
    /// another broker), for `checker doctor`.
    pub configured_external: Option<(String, Source)>,
    /// The Kafka installation the local backend runs (whichever broker is chosen), for
    /// `checker doctor`.
    pub kafka_home: Option<PathBuf>,
}

/// What the command line says about the broker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--broker`.
    pub broker: Option<BrokerChoice>,
    /// `--image`.
    pub image: Option<String>,
    /// `--kafka-home`.
    pub kafka_home: Option<PathBuf>,
}

/// Decides the broker from the command line (`flags`), the process environment and
/// `checker.toml` in `root` (if the checker runs inside the course).
pub fn resolve(flags: Flags, root: Option<&Path>) -> Result<Selection> {
    let (file, path) = match root {
        Some(root) => (ConfigFile::load(root)?, Some(root.join(FILE_NAME))),
        None => (ConfigFile::default(), None),
    };
    resolve_with(
        flags,
        |key| std::env::var(key).ok().filter(|v| !v.trim().is_empty()),
        &file,
        path.as_deref(),
    )
}

/// [`resolve`] with the environment and the file given, for tests.
pub fn resolve_with(
    flags: Flags,
    env: impl Fn(&str) -> Option<String>,
    file: &ConfigFile,
    file_path: Option<&Path>,
) -> Result<Selection> {
    let Flags {
        broker: flag_broker,
        image: flag_image,
        kafka_home: flag_home,
    } = flags;
    let file_source = || Source::File(file_path.unwrap_or(Path::new(FILE_NAME)).to_path_buf());
    let parse = |text: &str, source: &Source| -> Result<BrokerChoice> {
        text.parse::<BrokerChoice>()
            .map_err(|e| anyhow::anyhow!("{e} (from {source})"))
    };

    let from_env = match env(BROKER_VAR) {
        Some(text) => Some(parse(&text, &Source::Env)?),
        None => None,
    };
    let from_file = match &file.broker {
        Some(text) => Some(parse(text, &file_source())?),
        None => None,
    };
    let configured_external = match (&from_env, &from_file) {
        (Some(BrokerChoice::External(address)), _) => Some((address.clone(), Source::Env)),
        (_, Some(BrokerChoice::External(address))) => Some((address.clone(), file_source())),
        _ => None,
    };
    let (choice, source) = match (flag_broker, from_env, from_file) {
        (Some(choice), _, _) => (choice, Source::Flag),
        (None, Some(choice), _) => (choice, Source::Env),
        (None, None, Some(choice)) => (choice, file_source()),
        (None, None, None) => (BrokerChoice::Embedded, Source::Default),
    };

    let image = flag_image
        .clone()
        .or_else(|| env(IMAGE_VAR))
        .or_else(|| file.image.clone())
        .unwrap_or_else(|| DEFAULT_IMAGE.to_string());
    if image.trim().is_empty() || image.contains(char::is_whitespace) {
        bail!("{image:?} is not an image name");
    }
    // A relative `kafka_home` in the file is the course's, wherever the checker runs.
    let file_home = file
        .kafka_home
        .as_ref()
        .map(|home| match file_path.and_then(Path::parent) {
            Some(root) if home.is_relative() => root.join(home),
            _ => home.clone(),
        });
    let kafka_home = flag_home
        .clone()
        .or_else(|| env(KAFKA_HOME_VAR).map(PathBuf::from))
        .or(file_home);
    if flag_image.is_some() && !matches!(choice, BrokerChoice::Container { .. }) {
        bail!("--image is for the container broker: add --broker container");
    }
    if flag_home.is_some() && !matches!(choice, BrokerChoice::Local { .. }) {
        bail!("--kafka-home is for the local broker: add --broker local");
    }
    let choice = match choice {
        BrokerChoice::Container { .. } => BrokerChoice::Container {
            image: image.clone(),
        },
        BrokerChoice::Local { .. } => BrokerChoice::Local {
            home: kafka_home.clone(),
        },
        other => other,
    };
    Ok(Selection {
        choice,
        source,
        image,
        configured_external,
        kafka_home,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn resolve_test(
        flag: Option<&str>,
        image: Option<&str>,
        env: &[(&str, &str)],
        file: &str,
    ) -> Result<Selection> {
        let file = ConfigFile::parse(file)?;
        let flags = Flags {
            broker: flag.map(|f| f.parse().unwrap()),
            image: image.map(String::from),
            kafka_home: None,
        };
        resolve_with(
            flags,
            |key| {
                env.iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            },
            &file,
            Some(Path::new("/course/checker.toml")),
        )
    }

    #[test]
    fn nothing_said_means_embedded() {
        let selection =
            resolve_with(Flags::default(), no_env, &ConfigFile::default(), None).unwrap();
        assert_eq!(selection.choice, BrokerChoice::Embedded);
        assert_eq!(selection.source, Source::Default);
        assert_eq!(selection.image, DEFAULT_IMAGE);
        assert_eq!(selection.configured_external, None);
    }

    #[test]
    fn the_file_chooses_the_container_and_its_image() {
        let selection = resolve_test(
            None,
            None,
            &[],
            "broker = \"container\"\nimage = \"apache/kafka:4.0.0\"\n",
        )
        .unwrap();
        assert_eq!(
            selection.choice,
            BrokerChoice::Container {
                image: "apache/kafka:4.0.0".into()
            }
        );
        assert_eq!(
            selection.source,
            Source::File("/course/checker.toml".into())
        );
    }

    #[test]
    fn the_container_defaults_to_the_pinned_image() {
        let selection = resolve_test(None, None, &[], "broker = \"container\"").unwrap();
        assert_eq!(
            selection.choice,
            BrokerChoice::Container {
                image: DEFAULT_IMAGE.into()
            }
        );
    }

    #[test]
    fn flag_beats_environment_beats_file() {
        let file = "broker = \"localhost:9092\"\nimage = \"file:1\"";
        let env = [(BROKER_VAR, "container"), (IMAGE_VAR, "env:1")];
        let from_env = resolve_test(None, None, &env, file).unwrap();
        assert_eq!(
            from_env.choice,
            BrokerChoice::Container {
                image: "env:1".into()
            }
        );
        assert_eq!(from_env.source, Source::Env);
        // The file's external cluster is still known, for `checker doctor`.
        assert_eq!(
            from_env.configured_external,
            Some((
                "localhost:9092".into(),
                Source::File("/course/checker.toml".into())
            ))
        );

        let from_flag = resolve_test(Some("container"), Some("flag:1"), &env, file).unwrap();
        assert_eq!(
            from_flag.choice,
            BrokerChoice::Container {
                image: "flag:1".into()
            }
        );
        assert_eq!(from_flag.source, Source::Flag);

        let embedded = resolve_test(Some("embedded"), None, &env, file).unwrap();
        assert_eq!(embedded.choice, BrokerChoice::Embedded);
    }

    #[test]
    fn the_local_broker_finds_its_installation() {
        let local = Some(BrokerChoice::Local { home: None });
        // The file's relative folder is the course's.
        let file = ConfigFile::parse("broker = \"local\"\nkafka_home = \"kafka\"").unwrap();
        let path = Path::new("/course/checker.toml");
        let from_file = resolve_with(Flags::default(), no_env, &file, Some(path)).unwrap();
        assert_eq!(
            from_file.choice,
            BrokerChoice::Local {
                home: Some("/course/kafka".into())
            }
        );
        let env = |key: &str| (key == KAFKA_HOME_VAR).then(|| "/opt/kafka".to_string());
        let from_env = resolve_with(Flags::default(), env, &file, Some(path)).unwrap();
        assert_eq!(from_env.kafka_home, Some("/opt/kafka".into()));
        let flags = Flags {
            broker: local.clone(),
            kafka_home: Some("/flag/kafka".into()),
            ..Flags::default()
        };
        let from_flag = resolve_with(flags, env, &file, Some(path)).unwrap();
        assert_eq!(
            from_flag.choice,
            BrokerChoice::Local {
                home: Some("/flag/kafka".into())
            }
        );
        // Nothing names one: starting the broker says how to.
        let flags = Flags {
            broker: local,
            ..Flags::default()
        };
        let unnamed = resolve_with(flags, no_env, &ConfigFile::default(), None).unwrap();
        assert_eq!(unnamed.choice, BrokerChoice::Local { home: None });
        let flags = Flags {
            kafka_home: Some("/x".into()),
            ..Flags::default()
        };
        let error = resolve_with(flags, no_env, &ConfigFile::default(), None).unwrap_err();
        assert!(error.to_string().contains("--broker local"), "{error}");
    }

    #[test]
    fn image_without_container_is_an_error() {
        let error = resolve_test(None, Some("x:1"), &[], "").unwrap_err();
        assert!(error.to_string().contains("--broker container"), "{error}");
        // The file's image alone does not matter while another broker is chosen.
        let selection = resolve_test(None, None, &[], "image = \"x:1\"").unwrap();
        assert_eq!(selection.choice, BrokerChoice::Embedded);
        assert_eq!(selection.image, "x:1");
    }

    #[test]
    fn wrong_values_say_where_they_come_from() {
        let error = resolve_test(None, None, &[(BROKER_VAR, "kafka")], "").unwrap_err();
        assert!(
            error.to_string().contains("(from CHECKER_BROKER)"),
            "{error}"
        );
        let error = resolve_test(None, None, &[], "broker = \"kafka\"").unwrap_err();
        assert!(
            error.to_string().contains("(from /course/checker.toml)"),
            "{error}"
        );
        let error = ConfigFile::parse("brokr = \"container\"").unwrap_err();
        assert!(error.to_string().contains("unknown field"), "{error}");
        assert!(ConfigFile::parse("broker = 3").is_err());
    }

    #[test]
    fn a_missing_file_is_no_configuration() {
        let dir = std::env::temp_dir().join(format!("checker-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(ConfigFile::load(&dir).unwrap(), ConfigFile::default());
        std::fs::write(dir.join(FILE_NAME), "broker = \"container\"\n").unwrap();
        assert_eq!(
            ConfigFile::load(&dir).unwrap().broker.as_deref(),
            Some("container")
        );
        std::fs::write(dir.join(FILE_NAME), "broker = \n").unwrap();
        let error = ConfigFile::load(&dir).unwrap_err();
        assert!(format!("{error:#}").contains("checker.toml"), "{error:#}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
