//! One container engine's command line: images, the course's containers, their logs, and
//! removing them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use tokio::process::Command;

use super::{BOOTSTRAP_LABEL, IMAGE_LABEL, LABEL, PID_LABEL, ROLE_LABEL, USE_EMBEDDED};
use crate::process::last_lines;

/// How long an engine command other than `pull` and `run` may take.
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of a container's log an error message quotes.
const LOG_LINES: usize = 40;

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
    pub(super) kind: EngineKind,
    pub(super) program: PathBuf,
    pub(super) version: String,
}

impl Engine {
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

    /// The arguments of `rm` for `names`.
    pub(super) fn remove_args(&self, names: &[&str]) -> Vec<String> {
        let mut args = vec!["rm".to_string(), "-f".to_string()];
        if self.kind == EngineKind::Podman {
            // Podman's `rm -f` asks the container to stop and waits 10 s by default.
            args.extend(["--time".to_string(), "0".to_string()]);
        }
        args.extend(names.iter().map(|n| n.to_string()));
        args
    }

    /// Runs the engine, and returns its stdout, or its last line of stderr as the error.
    pub(super) async fn run_ok(&self, args: &[&str], timeout: Duration) -> Result<String> {
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

/// Runs `program` with `args` and collects its output, within `timeout` unless that is
/// `Duration::MAX`.
pub(super) async fn run_program(
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
pub(super) fn last_line(stderr: &[u8], stdout: &[u8]) -> String {
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

/// Whether an image reference starts with a registry host (`docker.io/`, `localhost/`,
/// `registry:5000/`).
fn has_registry(image: &str) -> bool {
    match image.split_once('/') {
        Some((first, _)) => first.contains('.') || first.contains(':') || first == "localhost",
        None => false,
    }
}

/// An engine value for tests that never run it.
#[cfg(test)]
pub(super) fn test_engine(kind: EngineKind) -> Engine {
    Engine {
        kind,
        program: PathBuf::from("/usr/bin/engine"),
        version: "1".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_gets_qualified_image_names() {
        let podman = test_engine(EngineKind::Podman);
        assert_eq!(
            podman.qualify("apache/kafka:4.3.1"),
            "docker.io/apache/kafka:4.3.1"
        );
        assert_eq!(podman.qualify("localhost/test:1"), "localhost/test:1");
        assert_eq!(podman.qualify("quay.io/x/y:1"), "quay.io/x/y:1");
        assert_eq!(podman.qualify("registry:5000/y"), "registry:5000/y");
        let docker = test_engine(EngineKind::Docker);
        assert_eq!(docker.qualify("apache/kafka:4.3.1"), "apache/kafka:4.3.1");
    }

    #[test]
    fn removal_does_not_wait_for_a_graceful_stop() {
        assert_eq!(
            test_engine(EngineKind::Podman).remove_args(&["a"]),
            ["rm", "-f", "--time", "0", "a"]
        );
        assert_eq!(
            test_engine(EngineKind::Docker).remove_args(&["a"]),
            ["rm", "-f", "a"]
        );
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
    fn engine_errors_keep_their_last_line() {
        assert_eq!(last_line(b"a\nb\n\n", b""), "b");
        assert_eq!(last_line(b"", b"out\n"), "out");
        assert_eq!(last_line(b"", b""), "no message");
    }
}
