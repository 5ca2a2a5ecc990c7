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

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use tokio::process::Command;

use super::{probe, Cleanup, CleanupId};
use crate::process::last_lines;

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

/// How long Apache Kafka may take to start (a JVM on a small machine, an image on `vfs`).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(180);
/// How long an engine command other than `pull` and `run` may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of a container's log an error message quotes.
const LOG_LINES: usize = 40;
/// A fixed KRaft cluster id (a UUID in base64url: 16 bytes, 22 characters), so every
/// container formats its storage the same way.
const CLUSTER_ID: &str = "a2Fma2EtY291cnNlLWxhYg";
/// The labels that say what a container is for, where it listens and who started it.
const ROLE_LABEL: &str = "kafka-course.role";
const BOOTSTRAP_LABEL: &str = "kafka-course.bootstrap";
const PID_LABEL: &str = "kafka-course.pid";
const IMAGE_LABEL: &str = "kafka-course.image";

const USE_EMBEDDED: &str = "or use the embedded broker (--broker embedded, the default)";

/// Which command-line engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Docker (or anything answering like it).
    Docker,
    /// Podman.
    Podman,
}

/// A container engine whose command line answers.
#[derive(Debug, Clone)]
pub struct Engine {
    kind: EngineKind,
    program: PathBuf,
    version: String,
}

/// What `survey` found out about one engine.
#[derive(Debug)]
pub struct EngineReport {
    /// `docker` or `podman`, or the program named by `CHECKER_ENGINE`.
    pub name: String,
    /// Where it is, if installed.
    pub program: Option<PathBuf>,
    /// The engine, when it answers; else why not.
    pub status: Result<Engine, String>,
    /// Whether `CHECKER_ENGINE` named it.
    pub forced: bool,
}

impl Engine {
    /// Finds an engine that answers: `CHECKER_ENGINE` if set, else Docker, else Podman.
    ///
    /// The error is one line that says what to do, for a learner who asked for
    /// `--broker container` on a machine without a working engine.
    pub async fn detect() -> Result<Engine> {
        let reports = survey().await;
        pick(reports)
    }

    /// `docker` or `podman`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        }
    }

    /// Which engine this is.
    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// The engine's program.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The engine's version, as it reports it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// How the engine should name `image`: Podman wants a registry in front of
    /// Docker Hub's short names (it may refuse to guess one without a terminal).
    pub fn qualify(&self, image: &str) -> String {
        if self.kind == EngineKind::Podman && !has_registry(image) {
            format!("docker.io/{image}")
        } else {
            image.to_string()
        }
    }

    /// Whether `image` is on this machine already.
    pub async fn has_image(&self, image: &str) -> bool {
        let image = self.qualify(image);
        self.run_ok(
            &["image", "inspect", "--format", "{{.Id}}", &image],
            COMMAND_TIMEOUT,
        )
        .await
        .is_ok()
    }

    /// Pulls `image` unless it is here already.
    pub async fn ensure_image(&self, image: &str) -> Result<()> {
        if self.has_image(image).await {
            return Ok(());
        }
        eprintln!("Pulling {image} with {} (first time only)...", self.name());
        let qualified = self.qualify(image);
        self.run_ok(&["pull", "--quiet", &qualified], Duration::MAX)
            .await
            .map(|_| ())
            .map_err(|e| {
                anyhow!(
                    "cannot pull {image} with {}: {e}. Check the network or the image's name \
                     (--image), {USE_EMBEDDED}",
                    self.name()
                )
            })
    }

    /// Every container with the course's label: (name, running, bootstrap label).
    pub async fn course_containers(&self) -> Result<Vec<ContainerInfo>> {
        let filter = format!("label={LABEL}=1");
        let ids = self
            .run_ok(&["ps", "-a", "-q", "--filter", &filter], COMMAND_TIMEOUT)
            .await?;
        let mut found = Vec::new();
        for id in ids.split_whitespace() {
            if let Some(info) = self.inspect(id).await {
                found.push(info);
            }
        }
        Ok(found)
    }

    /// What the engine says about the container `name`, if it exists.
    pub async fn inspect(&self, name: &str) -> Option<ContainerInfo> {
        let label = |name: &str| format!("{{{{index .Config.Labels \"{name}\"}}}}");
        let template = format!(
            "{{{{.Name}}}}\t{{{{.State.Running}}}}\t{}\t{}\t{}\t{}",
            label(ROLE_LABEL),
            label(BOOTSTRAP_LABEL),
            label(PID_LABEL),
            label(IMAGE_LABEL)
        );
        let text = self
            .run_ok(
                &["container", "inspect", "--format", &template, name],
                COMMAND_TIMEOUT,
            )
            .await
            .ok()?;
        ContainerInfo::parse(text.lines().next()?)
    }

    /// The last lines a container printed, for error messages.
    pub async fn logs(&self, name: &str) -> String {
        // Not `--tail`: Podman 4 stores a line written in pieces as partial records and its
        // `--tail` drops the leading pieces, which cut the reason off an error line.
        match self.output(&["logs", name], COMMAND_TIMEOUT).await {
            Ok(output) => {
                let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&output.stderr));
                last_lines(text.trim_end(), LOG_LINES)
            }
            Err(e) => format!("(no logs: {e})"),
        }
    }

    /// Removes containers at once, without waiting for a graceful stop. Blocking, so it
    /// works from `Drop` and from the Ctrl-C handler.
    pub fn remove_blocking(&self, names: &[&str]) {
        if names.is_empty() {
            return;
        }
        let _ = std::process::Command::new(&self.program)
            .args(self.remove_args(names))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn remove_args(&self, names: &[&str]) -> Vec<String> {
        let mut args = vec!["rm".to_string(), "-f".to_string()];
        if self.kind == EngineKind::Podman {
            // Podman's `rm -f` asks the container to stop and waits 10 s by default.
            args.extend(["--time".to_string(), "0".to_string()]);
        }
        args.extend(names.iter().map(|n| n.to_string()));
        args
    }

    /// Runs the engine, and returns its stdout, or its last line of stderr as the error.
    async fn run_ok(&self, args: &[&str], timeout: Duration) -> Result<String> {
        let output = self.output(args, timeout).await?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
        } else {
            Err(anyhow!("{}", last_line(&output.stderr, &output.stdout)))
        }
    }

    async fn output(&self, args: &[&str], timeout: Duration) -> Result<std::process::Output> {
        run_program(&self.program, args, timeout).await
    }
}

/// A course container, as `inspect` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Its name.
    pub name: String,
    /// Whether it is running.
    pub running: bool,
    /// `run` or `session`.
    pub role: String,
    /// The address clients reach its Kafka at.
    pub bootstrap: String,
    /// The checker process that started a run's container.
    pub pid: Option<i32>,
    /// The image, as the checker was asked for it.
    pub image: String,
}

impl ContainerInfo {
    fn parse(line: &str) -> Option<ContainerInfo> {
        let mut fields = line.split('\t');
        let name = fields.next()?.trim_start_matches('/').to_string();
        let running = fields.next()? == "true";
        let clean = |field: Option<&str>| {
            let field = field.unwrap_or_default();
            // A missing label prints as `<no value>` with Docker, empty with Podman.
            if field == "<no value>" {
                String::new()
            } else {
                field.to_string()
            }
        };
        let role = clean(fields.next());
        let bootstrap = clean(fields.next());
        let pid = clean(fields.next()).parse().ok();
        let image = clean(fields.next());
        Some(ContainerInfo {
            name,
            running,
            role,
            bootstrap,
            pid,
            image,
        })
    }
}

/// Looks for Docker and Podman (or the engine `CHECKER_ENGINE` names) and asks each one
/// whether it works.
pub async fn survey() -> Vec<EngineReport> {
    survey_in(
        std::env::var_os("PATH"),
        std::env::var(ENGINE_VAR)
            .ok()
            .filter(|v| !v.trim().is_empty()),
    )
    .await
}

/// [`survey`] with an explicit `PATH` and engine choice.
pub async fn survey_in(path: Option<OsString>, forced: Option<String>) -> Vec<EngineReport> {
    let names = match &forced {
        Some(name) => vec![name.clone()],
        None => vec!["docker".to_string(), "podman".to_string()],
    };
    let mut reports = Vec::new();
    for name in names {
        let program = find_program(&name, path.as_deref());
        let status = match &program {
            None => Err("not installed".to_string()),
            Some(program) => answer(program).await,
        };
        reports.push(EngineReport {
            name,
            program,
            status,
            forced: forced.is_some(),
        });
    }
    reports
}

/// The first engine that answers, or a one-line error that says what to do.
pub fn pick(reports: Vec<EngineReport>) -> Result<Engine> {
    let mut installed = Vec::new();
    let mut forced = None;
    for report in reports {
        if report.forced {
            forced = Some(report.name.clone());
        }
        match report.status {
            Ok(engine) => return Ok(engine),
            Err(why) if report.program.is_some() => installed.push((report.name, why)),
            Err(_) => {}
        }
    }
    match installed.first() {
        None if forced.is_some() => bail!(
            "{ENGINE_VAR}={} names no program on PATH: unset it to use Docker or Podman, \
             {USE_EMBEDDED}",
            forced.unwrap_or_default()
        ),
        None => bail!(
            "no container engine found: install Docker or Podman to run Kafka in a container, \
             {USE_EMBEDDED}"
        ),
        Some((name, why)) => bail!(
            "{name} is installed but does not answer ({why}): start it (Docker: start Docker \
             Desktop or `sudo systemctl start docker`), {USE_EMBEDDED}"
        ),
    }
}

/// Asks the engine at `program` for its version, and whether its daemon (Docker) or its
/// storage (Podman) works.
async fn answer(program: &Path) -> Result<Engine, String> {
    let version = run_program(program, &["--version"], Duration::from_secs(20))
        .await
        .map_err(|e| e.to_string())?;
    let version_text = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let kind = if version_text.to_ascii_lowercase().contains("podman") {
        EngineKind::Podman
    } else {
        EngineKind::Docker
    };
    let check: &[&str] = match kind {
        EngineKind::Docker => &["version", "--format", "{{.Server.Version}}"],
        EngineKind::Podman => &["info", "--format", "{{.Version.Version}}"],
    };
    let output = run_program(program, check, Duration::from_secs(20))
        .await
        .map_err(|e| e.to_string())?;
    let server = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || server.is_empty() {
        return Err(last_line(&output.stderr, &output.stdout));
    }
    Ok(Engine {
        kind,
        program: program.to_path_buf(),
        version: server,
    })
}

async fn run_program(
    program: &Path,
    args: &[&str],
    timeout: Duration,
) -> Result<std::process::Output> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let running = command.output();
    let output = if timeout == Duration::MAX {
        running.await
    } else {
        tokio::time::timeout(timeout, running).await.map_err(|_| {
            anyhow!(
                "`{} {}` did not finish within {} s",
                program.display(),
                args.join(" "),
                timeout.as_secs()
            )
        })?
    };
    output.with_context(|| format!("cannot run {}", program.display()))
}

/// The last non-empty line of an engine's error output.
fn last_line(stderr: &[u8], stdout: &[u8]) -> String {
    let stderr = String::from_utf8_lossy(stderr);
    let stdout = String::from_utf8_lossy(stdout);
    stderr
        .lines()
        .chain(stdout.lines())
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or("no message")
        .to_string()
}

/// The executable called `name` in `path` (or `name` itself when it is a path).
fn find_program(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |candidate: &Path| {
        candidate
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let candidate = PathBuf::from(name);
        return executable(&candidate).then_some(candidate);
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|candidate| executable(candidate))
}

/// Whether an image reference starts with a registry host (`docker.io/`, `localhost/`,
/// `registry:5000/`).
fn has_registry(image: &str) -> bool {
    match image.split_once('/') {
        Some((first, _)) => first.contains('.') || first.contains(':') || first == "localhost",
        None => false,
    }
}

/// The environment of a single-node KRaft Apache Kafka whose clients reach it at
/// `127.0.0.1:<host_port>`: combined broker and controller, replication factor 1 for the
/// internal topics, and no initial rebalance delay (the course's groups form at once).
/// `group.min.session.timeout.ms` keeps its default (6000), as in any Kafka.
pub fn kafka_env(host_port: u16) -> Vec<(&'static str, String)> {
    let advertised = format!("PLAINTEXT://127.0.0.1:{host_port},INTERNAL://localhost:9094");
    let settings = [
        ("KAFKA_NODE_ID", "1"),
        ("KAFKA_PROCESS_ROLES", "broker,controller"),
        // PLAINTEXT for clients, INTERNAL for the broker itself (its advertised PLAINTEXT
        // address is the host's, which does not exist inside the container).
        (
            "KAFKA_LISTENERS",
            "PLAINTEXT://:9092,CONTROLLER://:9093,INTERNAL://:9094",
        ),
        ("KAFKA_ADVERTISED_LISTENERS", &advertised),
        (
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
            "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
        ),
        ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER"),
        ("KAFKA_INTER_BROKER_LISTENER_NAME", "INTERNAL"),
        ("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093"),
        ("CLUSTER_ID", CLUSTER_ID),
        ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0"),
        ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1"),
        ("KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS", "1"),
        ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1"),
        ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1"),
        (
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
            "1",
        ),
        ("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1"),
        ("KAFKA_LOG_DIRS", "/tmp/kraft-combined-logs"),
    ];
    settings
        .iter()
        .map(|(key, value)| (*key, value.to_string()))
        .collect()
}

/// The arguments of `run` for a course container.
fn run_args(engine: &Engine, name: &str, image: &str, host_port: u16, role: &str) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "run".into(),
        "-d".into(),
        "--name".into(),
        name.into(),
        "--label".into(),
        format!("{LABEL}=1"),
        "--label".into(),
        format!("{ROLE_LABEL}={role}"),
        "--label".into(),
        format!("{BOOTSTRAP_LABEL}=127.0.0.1:{host_port}"),
        "--label".into(),
        format!("{PID_LABEL}={}", std::process::id()),
        "--label".into(),
        format!("{IMAGE_LABEL}={image}"),
        // Only this machine may reach the broker.
        "-p".into(),
        format!("127.0.0.1:{host_port}:{CONTAINER_PORT}"),
    ];
    for (key, value) in kafka_env(host_port) {
        args.push("-e".into());
        args.push(format!("{key}={value}"));
    }
    args.push(engine.qualify(image));
    args
}

/// A port of 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Removing a container, registered so that an interrupted checker still does it.
pub(super) struct Removal {
    engine: Engine,
    name: String,
    watchdog: Option<Child>,
}

impl Removal {
    pub(super) fn run(self) {
        self.engine.remove_blocking(&[&self.name]);
        self.disarm();
    }

    /// Lets the watchdog go without removing anything.
    fn disarm(mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            if let Some(mut stdin) = watchdog.stdin.take() {
                let _ = stdin.write_all(b"done\n");
            }
            let _ = watchdog.wait();
        }
    }
}

/// Starts a process that removes container `name` when the checker's end of its stdin
/// closes without saying `done`: when the checker exits in any way, even killed by
/// SIGKILL. It leads its own process group, so the terminal's Ctrl-C does not stop it.
fn watchdog(engine: &Engine, name: &str) -> Option<Child> {
    let script = r#"read line; [ "$line" = done ] || exec "$@" >/dev/null 2>&1"#;
    let mut command = std::process::Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(script)
        .arg("kafka-course-watchdog")
        .arg(&engine.program)
        .args(engine.remove_args(&[name]))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn().ok()
}

/// Kafka in a container, ready to serve.
pub struct ContainerBroker {
    engine: Engine,
    name: String,
    image: String,
    bootstrap: String,
    session: bool,
    cleanup: CleanupId,
}

impl ContainerBroker {
    /// A broker for one run: the session container of `checker broker up` if one of
    /// `image` is running, else a new container of `image`, removed when the run ends.
    pub async fn start(image: &str) -> Result<ContainerBroker> {
        let engine = Engine::detect().await?;
        if let Some(session) = engine.inspect(SESSION_NAME).await {
            if session.running && session.role == "session" && session.image == image {
                let broker = ContainerBroker::session(engine, session);
                broker.wait_ready().await?;
                return Ok(broker);
            }
        }
        remove_orphans(&engine).await;
        engine.ensure_image(image).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let name = format!("kafka-course-run-{}-{port}", std::process::id());
            match ContainerBroker::launch(&engine, &name, image, port, "run").await {
                Ok(broker) => return Ok(broker),
                // Another program took the port between our check and the engine's bind.
                Err(e) if attempt < 3 && e.to_string().contains("address already in use") => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The session container of `checker broker up`: the running one (whatever its
    /// image: see [`ContainerBroker::image`]), or a new one of `image` on 127.0.0.1:9092 if
    /// that port is free (the labs' default address), else on a free port. Returns whether
    /// it was running already. It outlives the checker.
    pub async fn up(image: &str) -> Result<(ContainerBroker, bool)> {
        let engine = Engine::detect().await?;
        if let Some(session) = engine.inspect(SESSION_NAME).await {
            if session.running && session.role == "session" && !session.bootstrap.is_empty() {
                let broker = ContainerBroker::session(engine, session);
                broker.wait_ready().await?;
                return Ok((broker, true));
            }
            // Stopped (after a reboot, say): its port may be taken now; start afresh.
            engine.remove_blocking(&[SESSION_NAME]);
        }
        engine.ensure_image(image).await?;
        let port = if port_is_free(SESSION_PORT) {
            SESSION_PORT
        } else {
            free_port()?
        };
        let broker = ContainerBroker::launch(&engine, SESSION_NAME, image, port, "session").await?;
        // Ready: from now on it stays when the checker exits.
        let starting = broker
            .cleanup
            .replace(Cleanup::topics_on(&broker.bootstrap));
        if let Some(removal) = starting.and_then(|c| c.container) {
            removal.disarm();
        }
        Ok((broker, false))
    }

    /// Removes every course container, running or not (`checker broker down`), and
    /// returns their names.
    pub async fn down() -> Result<Vec<String>> {
        let engine = Engine::detect().await?;
        let names: Vec<String> = engine
            .course_containers()
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        engine.remove_blocking(&refs);
        let left = engine.course_containers().await?;
        if !left.is_empty() {
            bail!(
                "{} did not remove {}",
                engine.name(),
                left.iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(names)
    }

    /// The running session container, used without being removed afterwards.
    fn session(engine: Engine, info: ContainerInfo) -> ContainerBroker {
        ContainerBroker {
            cleanup: CleanupId::register(Cleanup::topics_on(&info.bootstrap)),
            engine,
            name: info.name,
            image: info.image,
            bootstrap: info.bootstrap,
            session: true,
        }
    }

    /// Starts container `name` and waits until Kafka in it answers. Whatever goes wrong,
    /// the container does not stay behind.
    async fn launch(
        engine: &Engine,
        name: &str,
        image: &str,
        port: u16,
        role: &str,
    ) -> Result<ContainerBroker> {
        // Registered before `run`: a container that was created but failed to start
        // (a port conflict, say) is removed too.
        let watchdog = watchdog(engine, name);
        let cleanup = CleanupId::register(Cleanup {
            container: Some(Removal {
                engine: engine.clone(),
                name: name.to_string(),
                watchdog,
            }),
            ..Cleanup::default()
        });
        let broker = ContainerBroker {
            engine: engine.clone(),
            name: name.to_string(),
            image: image.to_string(),
            bootstrap: format!("127.0.0.1:{port}"),
            session: role == "session",
            cleanup,
        };
        let args = run_args(engine, name, image, port, role);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        engine
            .run_ok(&args, Duration::from_secs(300))
            .await
            .map_err(|e| anyhow!("{} cannot start {image}: {e}", engine.name()))?;
        broker.wait_ready().await?;
        Ok(broker)
    }

    /// Waits until the broker answers a metadata request, or its container has stopped.
    async fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let bootstrap = self.bootstrap.clone();
            let answered =
                tokio::task::spawn_blocking(move || probe(&bootstrap, Duration::from_secs(2)))
                    .await?;
            if answered.is_ok() {
                return Ok(());
            }
            let running = self
                .engine
                .inspect(&self.name)
                .await
                .is_some_and(|c| c.running);
            if !running {
                bail!(
                    "the Kafka container {} stopped while starting. Its last lines:\n{}",
                    self.name,
                    self.engine.logs(&self.name).await
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "Kafka in container {} did not answer at {} within {} s. Its last lines:\n{}",
                    self.name,
                    self.bootstrap,
                    STARTUP_TIMEOUT.as_secs(),
                    self.engine.logs(&self.name).await
                );
            }
        }
    }

    /// Where clients reach it: `127.0.0.1:<port>`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The container's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The image it runs.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The engine running it.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether this is the session container of `checker broker up` (which stays).
    pub fn is_session(&self) -> bool {
        self.session
    }

    /// A one-line description for status output.
    pub fn describe(&self) -> String {
        format!(
            "Kafka ({}) in {} container {} at {}",
            self.image,
            self.engine.name(),
            self.name,
            self.bootstrap
        )
    }

    pub(super) fn cleanup_id(&self) -> &CleanupId {
        &self.cleanup
    }
}

impl Drop for ContainerBroker {
    fn drop(&mut self) {
        // A run that failed or returned early removes its container all the same.
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run();
        }
    }
}

/// Removes run containers whose checker is gone (killed before its watchdog could act).
async fn remove_orphans(engine: &Engine) {
    let Ok(containers) = engine.course_containers().await else {
        return;
    };
    let orphans: Vec<&str> = containers
        .iter()
        .filter(|c| c.role == "run")
        .filter(|c| match c.pid {
            Some(pid) => !process_alive(pid),
            None => false,
        })
        .map(|c| c.name.as_str())
        .collect();
    engine.remove_blocking(&orphans);
}

fn process_alive(pid: i32) -> bool {
    use nix::errno::Errno;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_engine(dir: &Path, name: &str, script: &str) {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "checker-engine-{tag}-{}-{}",
            std::process::id(),
            free_port().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn no_engine_is_one_clear_line() {
        let dir = temp_dir("none");
        let error = pick(survey_in(Some(dir.clone().into()), None).await).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("no container engine found"),
            "{message}"
        );
        assert!(message.contains("--broker embedded"), "{message}");
        assert!(!message.contains('\n'), "{message}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_engine_that_does_not_answer_is_named() {
        let dir = temp_dir("down");
        fake_engine(
            &dir,
            "docker",
            r#"case "$1" in
                 --version) echo "Docker version 28.2.2, build e6534b4";;
                 *) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1;;
               esac"#,
        );
        let error = pick(survey_in(Some(dir.clone().into()), None).await).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("docker is installed but does not answer (Cannot connect"),
            "{message}"
        );
        assert!(message.contains("--broker embedded"), "{message}");
        assert!(!message.contains('\n'), "{message}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn the_first_engine_that_answers_wins() {
        let dir = temp_dir("pick");
        fake_engine(
            &dir,
            "docker",
            r#"[ "$1" = --version ] && echo "Docker version 28" || exit 1"#,
        );
        fake_engine(
            &dir,
            "podman",
            r#"case "$1" in --version) echo "podman version 4.3.1";; info) echo 4.3.1;; esac"#,
        );
        let engine = pick(survey_in(Some(dir.clone().into()), None).await).unwrap();
        assert_eq!(engine.kind(), EngineKind::Podman);
        assert_eq!(engine.version(), "4.3.1");
        assert_eq!(engine.program(), dir.join("podman"));
        // CHECKER_ENGINE names one engine, and only that one is tried.
        let forced = survey_in(Some(dir.clone().into()), Some("docker".into())).await;
        assert_eq!(forced.len(), 1);
        assert!(pick(forced).is_err());
        let missing = survey_in(Some(dir.clone().into()), Some("nerdctl".into())).await;
        let error = pick(missing).unwrap_err().to_string();
        assert!(
            error.starts_with("CHECKER_ENGINE=nerdctl names no program"),
            "{error}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn engine(kind: EngineKind) -> Engine {
        Engine {
            kind,
            program: PathBuf::from("/usr/bin/engine"),
            version: "1".into(),
        }
    }

    #[test]
    fn podman_gets_qualified_image_names() {
        let podman = engine(EngineKind::Podman);
        assert_eq!(
            podman.qualify("apache/kafka:4.3.1"),
            "docker.io/apache/kafka:4.3.1"
        );
        assert_eq!(podman.qualify("localhost/test:1"), "localhost/test:1");
        assert_eq!(podman.qualify("quay.io/x/y:1"), "quay.io/x/y:1");
        assert_eq!(podman.qualify("registry:5000/y"), "registry:5000/y");
        let docker = engine(EngineKind::Docker);
        assert_eq!(docker.qualify("apache/kafka:4.3.1"), "apache/kafka:4.3.1");
    }

    #[test]
    fn removal_does_not_wait_for_a_graceful_stop() {
        assert_eq!(
            engine(EngineKind::Podman).remove_args(&["a"]),
            ["rm", "-f", "--time", "0", "a"]
        );
        assert_eq!(
            engine(EngineKind::Docker).remove_args(&["a"]),
            ["rm", "-f", "a"]
        );
    }

    #[test]
    fn the_container_is_published_on_loopback_and_labelled() {
        let args = run_args(&engine(EngineKind::Docker), "n", "img:1", 40123, "run");
        let text = args.join(" ");
        assert!(
            text.starts_with("run -d --name n --label kafka-course=1"),
            "{text}"
        );
        assert!(text.contains("-p 127.0.0.1:40123:9092"), "{text}");
        assert!(text.contains("--label kafka-course.bootstrap=127.0.0.1:40123"));
        assert!(text.contains(&format!("--label kafka-course.pid={}", std::process::id())));
        assert!(text.contains("--label kafka-course.image=img:1"));
        assert_eq!(args.last().unwrap(), "img:1");
    }

    #[test]
    fn kafka_is_configured_for_a_fast_single_node_course() {
        let env: std::collections::BTreeMap<_, _> = kafka_env(40123).into_iter().collect();
        assert_eq!(
            env["KAFKA_ADVERTISED_LISTENERS"],
            "PLAINTEXT://127.0.0.1:40123,INTERNAL://localhost:9094"
        );
        assert!(env["KAFKA_LISTENERS"].contains("PLAINTEXT://:9092"));
        assert_eq!(env["KAFKA_PROCESS_ROLES"], "broker,controller");
        assert_eq!(env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"], "0");
        assert_eq!(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], "1");
        assert_eq!(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"], "1");
        assert_eq!(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"], "1");
        // The session timeout floor stays Kafka's own (6000 ms).
        assert!(!env.contains_key("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS"));
        // Every listener has a security protocol.
        for listener in env["KAFKA_LISTENERS"].split(',') {
            let name = listener.split("://").next().unwrap();
            assert!(
                env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].contains(&format!("{name}:")),
                "{name}"
            );
        }
    }

    #[test]
    fn the_cluster_id_is_a_kafka_uuid() {
        assert_eq!(CLUSTER_ID.len(), 22);
        assert!(CLUSTER_ID
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn the_compose_file_runs_kafka_as_the_checker_does() {
        let compose = include_str!("../../compose.yaml");
        assert!(compose.contains(&format!("image: {}", super::super::DEFAULT_IMAGE)));
        assert!(compose.contains("\"127.0.0.1:9092:9092\""), "{compose}");
        for (key, value) in kafka_env(9092) {
            assert!(
                compose.contains(&format!("{key}: \"{value}\"")),
                "compose.yaml lacks {key}: \"{value}\""
            );
        }
    }

    #[test]
    fn inspect_lines_parse_for_both_engines() {
        let docker = ContainerInfo::parse(
            "/kafka-course-run-7-40123\ttrue\trun\t127.0.0.1:40123\t7\tapache/kafka:4.3.1",
        )
        .unwrap();
        assert_eq!(docker.image, "apache/kafka:4.3.1");
        assert_eq!(docker.name, "kafka-course-run-7-40123");
        assert!(docker.running);
        assert_eq!(docker.role, "run");
        assert_eq!(docker.bootstrap, "127.0.0.1:40123");
        assert_eq!(docker.pid, Some(7));
        let unlabelled =
            ContainerInfo::parse("other\tfalse\t<no value>\t<no value>\t<no value>\t<no value>")
                .unwrap();
        assert_eq!(unlabelled.image, "");
        assert_eq!(unlabelled.role, "");
        assert_eq!(unlabelled.pid, None);
        let podman = ContainerInfo::parse("kafka-course\tfalse\tsession\t\t\t").unwrap();
        assert_eq!(podman.role, "session");
        assert_eq!(podman.bootstrap, "");
    }

    #[test]
    fn a_free_port_is_free() {
        let port = free_port().unwrap();
        assert!(port_is_free(port));
        let _taken = TcpListener::bind(("127.0.0.1", port)).unwrap();
        assert!(!port_is_free(port));
    }

    #[test]
    fn engine_errors_keep_their_last_line() {
        assert_eq!(last_line(b"a\nb\n\n", b""), "b");
        assert_eq!(last_line(b"", b"out\n"), "out");
        assert_eq!(last_line(b"", b""), "no message");
    }
}
