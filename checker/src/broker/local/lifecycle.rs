//! A local Kafka's lifecycle: a fresh scratch folder, the log folder formatted, the JVM
//! started in a process group of its own, ready once it answers metadata, and killed (its
//! folder deleted) when the checker is done with it, however the checker exits.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use super::installation::{Installation, Java};
use crate::broker::container::free_port;
use crate::broker::embedded::{CONSUMER_HEARTBEAT_INTERVAL, INITIAL_REBALANCE_DELAY};
use crate::broker::probe;
use crate::broker::watchdog::Watchdog;
use crate::cleanup::{Registration, Stage};

/// `server.properties`, with placeholders in braces.
const SETTINGS: &str = include_str!("server.properties");

/// The broker's logging: everything to its stdout, which goes to `broker.log`. The
/// published POM has no logging configuration (the tarball has `config/log4j2.yaml`).
const LOG4J2: &str = "\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
";

/// The cluster id every local Kafka is formatted with: any base64url UUID will do, since
/// each run's log folder is new (the container backend uses the same one).
const CLUSTER_ID: &str = "a2Fma2EtY291cnNlLWxhYg";

/// How long a JVM broker may take to start on a small, busy machine.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Kafka's own `kafka-server-start.sh` heap is 1 GiB; the course's broker needs far less,
/// and lowers the log cleaner's reservation (`server.properties`) to fit.
const JVM_OPTIONS: &[&str] = &[
    "-Xms256m",
    "-Xmx768m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-Djava.awt.headless=true",
];

/// The last lines of a log shown when it has no error entry.
const TAIL_LINES: usize = 15;

/// The error entries of a log shown at most.
const ERROR_ENTRIES: usize = 3;

/// An Apache Kafka the checker started from a local installation. Dropping it kills the
/// broker and deletes its folder.
pub struct LocalKafka {
    installation: Installation,
    java: Java,
    bootstrap: String,
    log: PathBuf,
    /// Killing the JVM and deleting its folder: registered, so that Ctrl-C does it too.
    stop: Registration,
}

/// Where a broker listens: a port that was asked for, or any free one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// Exactly this port; a taken one is an error.
    Fixed(u16),
    /// A free port chosen by the checker (another is tried if it is taken meanwhile).
    Any,
}

impl LocalKafka {
    /// Starts Kafka from `installation` with `java`, listening on 127.0.0.1 at `port`, and
    /// waits until it answers metadata. Whatever goes wrong, nothing stays behind.
    pub async fn start(installation: Installation, java: Java, port: Port) -> Result<LocalKafka> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let installation = installation.clone();
            let java = java.clone();
            let started = tokio::task::spawn_blocking(move || {
                LocalKafka::start_once(installation, java, port)
            })
            .await?;
            // A port chosen here was taken meanwhile: try others.
            let retry = started
                .as_ref()
                .err()
                .and_then(|e| e.downcast_ref::<PortTaken>());
            match retry {
                Some(taken) if attempt < 3 && Port::Fixed(taken.0) != port => {}
                _ => return started,
            }
        }
    }

    fn start_once(installation: Installation, java: Java, port: Port) -> Result<LocalKafka> {
        let broker_port = match port {
            Port::Fixed(port) => port,
            Port::Any => free_port()?,
        };
        let controller_port = free_port()?;
        let scratch = scratch_dir()?;
        // From here on the folder goes whatever happens; once the JVM runs, with it.
        let folder = Registration::new(Stage::Files, {
            let scratch = scratch.clone();
            move || {
                let _ = std::fs::remove_dir_all(&scratch);
            }
        });
        let settings = scratch.join("server.properties");
        std::fs::write(
            &settings,
            server_properties(broker_port, controller_port, &scratch.join("data")),
        )?;
        std::fs::write(scratch.join("log4j2.properties"), LOG4J2)?;
        format_storage(&installation, &java, &scratch, &settings)?;

        let log = scratch.join("broker.log");
        let log_file = std::fs::File::create(&log)?;
        let mut command = Command::new(&java.program);
        command
            .args(JVM_OPTIONS)
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                scratch.join("log4j2.properties").display()
            ))
            .arg(format!("-Dkafka.logs.dir={}", scratch.display()))
            .arg("-cp")
            .arg(installation.class_path())
            .arg("kafka.Kafka")
            .arg(&settings)
            .current_dir(&scratch)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        // Its own group: the terminal's Ctrl-C reaches the checker, which kills it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", java.program.display()))?;
        let group = child.id().to_string();
        let watchdog = Watchdog::arm(
            "/bin/sh",
            &[
                "-c",
                r#"kill -9 -"$0"; rm -rf "$1""#,
                &group,
                &scratch.to_string_lossy(),
            ],
        );
        let child = Arc::new(Mutex::new(Some(child)));
        folder.dismiss();
        let stop = Registration::new(Stage::Brokers, {
            let child = child.clone();
            let scratch = scratch.clone();
            move || {
                if let Some(mut child) = lock(&child).take() {
                    // The log folder is thrown away: there is nothing to shut down cleanly.
                    let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
                    let _ = child.wait();
                }
                let _ = std::fs::remove_dir_all(&scratch);
                watchdog.disarm();
            }
        });
        let kafka = LocalKafka {
            installation,
            java,
            bootstrap: format!("127.0.0.1:{broker_port}"),
            log,
            stop,
        };
        kafka.wait_ready(&child)?;
        Ok(kafka)
    }

    /// Waits until the broker answers a metadata request, or its JVM has exited.
    fn wait_ready(&self, child: &Mutex<Option<Child>>) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let exited = lock(child)
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                if let Some(taken) = port_taken(&log) {
                    return Err(anyhow!(PortTaken(taken)));
                }
                bail!(
                    "Kafka {} stopped while starting ({status}). From its log:\n{}",
                    self.installation.version,
                    excerpt(&log)
                );
            }
            if probe(&self.bootstrap, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "Kafka {} did not answer at {} within {} s. From its log:\n{}",
                    self.installation.version,
                    self.bootstrap,
                    STARTUP_TIMEOUT.as_secs(),
                    excerpt(&std::fs::read_to_string(&self.log).unwrap_or_default())
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Where clients reach it: `127.0.0.1:<port>`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The installation it runs from.
    pub fn installation(&self) -> &Installation {
        &self.installation
    }

    /// The Java it runs on.
    pub fn java(&self) -> &Java {
        &self.java
    }

    /// Its log, kept in its scratch folder while it runs.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Kills the broker now and deletes its folder (dropping it does the same).
    pub fn stop(self) {
        self.stop.run();
    }
}

/// The broker could not bind its port: another program has it.
#[derive(Debug)]
struct PortTaken(u16);

impl std::fmt::Display for PortTaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "port {} of 127.0.0.1 is taken by another program: free it, or choose another port",
            self.0
        )
    }
}

impl std::error::Error for PortTaken {}

/// `server.properties` for a broker on `broker_port`, its controller on `controller_port`,
/// its log in `log_dir`, with the course's group timers.
fn server_properties(broker_port: u16, controller_port: u16, log_dir: &Path) -> String {
    SETTINGS
        .replace("{broker_port}", &broker_port.to_string())
        .replace("{controller_port}", &controller_port.to_string())
        .replace("{log_dir}", &log_dir.to_string_lossy())
        .replace(
            "{initial_rebalance_delay_ms}",
            &INITIAL_REBALANCE_DELAY.as_millis().to_string(),
        )
        .replace(
            "{consumer_heartbeat_interval_ms}",
            &CONSUMER_HEARTBEAT_INTERVAL.as_millis().to_string(),
        )
}

/// Formats the log folder (`kafka-storage.sh format`): Kafka refuses to start without it.
fn format_storage(
    installation: &Installation,
    java: &Java,
    scratch: &Path,
    settings: &Path,
) -> Result<()> {
    let output = Command::new(&java.program)
        .args(["-Xmx256m", "-XX:TieredStopAtLevel=1"])
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            scratch.join("log4j2.properties").display()
        ))
        .arg("-cp")
        .arg(installation.class_path())
        .args(["kafka.tools.StorageTool", "format", "-t", CLUSTER_ID, "-c"])
        .arg(settings)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", java.program.display()))?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        bail!(
            "Kafka {} could not format its log folder ({}):\n{}",
            installation.version,
            output.status,
            last_lines(&text, TAIL_LINES)
        );
    }
    Ok(())
}

/// A new, empty scratch folder for one broker.
fn scratch_dir() -> Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kafka-course-local-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The port of 127.0.0.1 a broker's log says it could not bind, if it says so.
fn port_taken(log: &str) -> Option<u16> {
    log.lines()
        .filter(|line| line.contains("Address already in use"))
        .find_map(|line| {
            let (_, rest) = line.split_once("failed to bind to 127.0.0.1:")?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
}

/// What a learner should see of a broker's log: its first error entries, each with its
/// exception and causes, without repeats; else its last lines.
fn excerpt(log: &str) -> String {
    let mut shown: Vec<&str> = Vec::new();
    let mut entries = 0;
    let mut in_error = false;
    for line in log.lines() {
        if line.starts_with('[') {
            in_error = line.contains("] ERROR ") || line.contains("] FATAL ");
            if in_error {
                entries += 1;
                if entries > ERROR_ENTRIES {
                    break;
                }
            }
        } else if in_error && line.starts_with('\t') {
            // A stack frame.
            continue;
        }
        if in_error && !shown.contains(&line) {
            shown.push(line);
        }
    }
    if shown.is_empty() {
        return last_lines(log, TAIL_LINES);
    }
    shown.iter().map(|line| format!("  {line}\n")).collect()
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..]
        .iter()
        .map(|line| format!("  {line}\n"))
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let text = server_properties(40123, 40124, Path::new("/tmp/x/data"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(!line.contains(['{', '}']), "{line}");
        }
        let get = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("no {key}"))
        };
        assert_eq!(
            get("listeners"),
            "PLAINTEXT://127.0.0.1:40123,CONTROLLER://127.0.0.1:40124"
        );
        assert_eq!(get("advertised.listeners"), "PLAINTEXT://127.0.0.1:40123");
        assert_eq!(get("controller.quorum.voters"), "1@127.0.0.1:40124");
        assert_eq!(get("log.dirs"), "/tmp/x/data");
        // The same group timers as the embedded broker, so scenarios wait alike on both.
        assert_eq!(get("group.initial.rebalance.delay.ms"), "300");
        assert_eq!(get("group.consumer.heartbeat.interval.ms"), "500");
        assert_eq!(get("group.consumer.min.heartbeat.interval.ms"), "500");
        assert_eq!(get("offsets.topic.replication.factor"), "1");
    }

    const BIND_FAILURE: &str = "\
[2026-12-02 23:28:19,700] INFO Awaiting socket connections on 127.0.0.1:19093. (kafka.network.DataPlaneAcceptor)
[2026-12-02 23:28:19,712] ERROR Unable to start acceptor for PLAINTEXT (kafka.network.DataPlaneAcceptor)
org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:19092: Address already in use.
\tat kafka.network.Acceptor.openServerSocket(SocketServer.scala:749)
Caused by: java.net.BindException: Address already in use
\tat java.base/sun.nio.ch.Net.bind0(Native Method)
[2026-12-02 23:28:19,715] ERROR [BrokerServer id=1] Fatal error during broker startup. (kafka.server.BrokerServer)
java.lang.RuntimeException: Unable to start acceptor for PLAINTEXT
Caused by: java.net.BindException: Address already in use
[2026-12-02 23:28:19,991] INFO [QuorumController id=1] closed event queue.
";

    #[test]
    fn a_bind_failure_names_its_port() {
        assert_eq!(port_taken(BIND_FAILURE), Some(19092));
        assert_eq!(port_taken("[x] ERROR something else"), None);
    }

    #[test]
    fn the_excerpt_is_the_error_entries_without_stack_frames_or_repeats() {
        let excerpt = excerpt(BIND_FAILURE);
        assert!(
            excerpt.contains("ERROR Unable to start acceptor"),
            "{excerpt}"
        );
        assert!(
            excerpt.contains("failed to bind to 127.0.0.1:19092"),
            "{excerpt}"
        );
        assert!(
            excerpt.contains("Fatal error during broker startup"),
            "{excerpt}"
        );
        assert!(!excerpt.contains("\tat "), "{excerpt}");
        assert!(!excerpt.contains("INFO"), "{excerpt}");
        assert_eq!(excerpt.matches("Caused by").count(), 1, "{excerpt}");
        // No error entry: the last lines.
        assert_eq!(
            self::excerpt("[a] INFO one\n[b] INFO two\n"),
            "  [a] INFO one\n  [b] INFO two\n"
        );
    }

    #[test]
    fn the_tail_is_the_last_lines() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "  b\n  c\n");
        assert_eq!(last_lines("a", 5), "  a\n");
        assert_eq!(last_lines("", 5), "");
    }
}
