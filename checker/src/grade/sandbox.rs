//! Where a submission's program runs: its crate copy as working folder, an empty `HOME`
//! and `TMPDIR`, a scrubbed environment, a marker that finds its leftover processes, and,
//! on Linux with Landlock, an operating-system sandbox ([`crate::confinement`]): it may
//! read its crate, read and write its sandbox folder, and connect to the broker's ports,
//! and nothing else beyond the system's own files.
//!
//! The scenarios start "the program" through [`crate::process`], which knows nothing of
//! grading; the grader hands them a small launcher script instead of the binary. The
//! script changes folder, scrubs the environment and `exec`s the binary, so the program
//! keeps the launcher's process id and group and is killed exactly as `checker verify`
//! kills it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use lab_contract::env;

use crate::broker::{client_config, Broker};
use crate::confinement::{Confinement, Enforced};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The environment variable that marks a sandbox's processes (and their children, which
/// inherit it).
pub const MARKER_VAR: &str = "CHECKER_GRADE_SANDBOX";

/// Variables of the grader's environment a lab may see: the command and library search
/// paths, locale and terminal, and Rust's own switches.
const KEPT: [&str; 9] = [
    "PATH",
    "LD_LIBRARY_PATH",
    "LANG",
    "LANGUAGE",
    "TERM",
    "TZ",
    "RUST_BACKTRACE",
    "RUST_LOG",
    "RUST_MIN_STACK",
];

/// One lab's sandbox inside a submission's workspace.
///
/// Each lab has its own (`run/<lab>/` with `bin/`, `home/` and `tmp/`), and its sweep finds
/// only that lab's processes: a submission's labs are graded side by side, and one lab's
/// sweep must not kill another's programs or builds.
#[derive(Debug)]
pub struct Sandbox {
    root: PathBuf,
    cwd: PathBuf,
    marker: String,
}

impl Sandbox {
    /// The sandbox of lab `dir` in the workspace folder `workspace`, running in `cwd` (the
    /// lab's crate).
    pub fn new(workspace: &Path, cwd: &Path, dir: &str) -> Result<Sandbox> {
        let root = workspace.join("run").join(dir);
        for sub in ["bin", "home", "tmp"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        Ok(Sandbox {
            marker: root.display().to_string(),
            root,
            cwd: cwd.to_path_buf(),
        })
    }

    /// Writes the launcher of `binary` and returns its path: the program the scenario
    /// starts.
    ///
    /// The binary is linked into the sandbox first, so `/proc/<pid>/exe` of every process
    /// it starts points into the sandbox.
    pub fn launcher(&self, binary: &Path) -> Result<PathBuf> {
        let bin = self.root.join("bin");
        std::fs::create_dir_all(&bin)?;
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "lab".to_string());
        let linked = bin.join(&name);
        // link(2) does not follow a symbolic link: link its target.
        let binary = binary.canonicalize()?;
        if !linked.exists() && std::fs::hard_link(&binary, &linked).is_err() {
            std::fs::copy(&binary, &linked)?;
        }
        let script = bin.join(format!("{name}.launch"));
        std::fs::write(&script, self.script(&linked))?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        Ok(script)
    }

    /// The launcher's text. Variables of the grader's environment are unset unless kept
    /// (see [`KEPT`]) or part of the lab contract (`KAFKA_*`, and every variable of
    /// [`lab_contract::env::ALL`] such as `CONSUMER_GROUP_SIZE`), which the scenarios set.
    fn script(&self, binary: &Path) -> String {
        let unset: Vec<String> = std::env::vars_os()
            .map(|(key, _)| key.to_string_lossy().into_owned())
            .filter(|key| is_identifier(key))
            .filter(|key| {
                !(KEPT.contains(&key.as_str()) || key.starts_with("LC_") || is_contract(key))
            })
            .collect();
        let mut text = String::from(
            "#!/bin/sh\n# Written by `checker grade`: runs a submission's program in its sandbox.\n",
        );
        text.push_str(&format!("cd {} || exit 126\n", quote(&self.cwd)));
        if !unset.is_empty() {
            text.push_str(&format!("unset {}\n", unset.join(" ")));
        }
        text.push_str(&format!(
            "HOME={} TMPDIR={} {MARKER_VAR}={}\nexport HOME TMPDIR {MARKER_VAR}\n",
            quote(&self.root.join("home")),
            quote(&self.root.join("tmp")),
            quote(Path::new(&self.marker)),
        ));
        text.push_str(&format!("exec {} \"$@\"\n", quote(binary)));
        text
    }

    /// The operating-system sandbox of the lab's processes: they may read the crate, read
    /// and write this sandbox folder, and connect to `ports`.
    pub fn confinement(&self, ports: &[u16]) -> Confinement {
        Confinement::new(
            std::slice::from_ref(&self.cwd),
            std::slice::from_ref(&self.root),
            ports,
        )
    }

    /// Kills every process left from this sandbox: those carrying its marker, running in
    /// it, or running a program from it. Returns their ids.
    ///
    /// The scenario kills each program's process group; this catches what left the group
    /// (`setsid`, a double fork into a new group).
    pub fn sweep(&self) -> Vec<i32> {
        let mut killed = Vec::new();
        // A process may fork while we look: a few passes catch its children too.
        for _ in 0..3 {
            let found = self.processes();
            if found.is_empty() {
                break;
            }
            for pid in found {
                if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() && !killed.contains(&pid) {
                    killed.push(pid);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        killed
    }

    /// The live processes that belong to this sandbox.
    pub fn processes(&self) -> Vec<i32> {
        let marker = format!("{MARKER_VAR}={}", self.marker);
        let own = std::process::id() as i32;
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_string_lossy().parse::<i32>().ok())
            .filter(|pid| *pid != own)
            .filter(|pid| {
                let proc = PathBuf::from(format!("/proc/{pid}"));
                if is_zombie(&proc) {
                    return false;
                }
                let inside = |link: &str| {
                    std::fs::read_link(proc.join(link))
                        .is_ok_and(|p| p.starts_with(&self.root) || p.starts_with(&self.cwd))
                };
                let marked = std::fs::read(proc.join("environ")).is_ok_and(|environ| {
                    environ
                        .split(|b| *b == 0)
                        .any(|var| var == marker.as_bytes())
                });
                marked || inside("cwd") || inside("exe")
            })
            .collect()
    }
}

/// The TCP ports a graded program may connect to: those of the bootstrap address and of
/// every broker the cluster's metadata names (an external cluster's brokers may listen on
/// ports of their own).
pub async fn broker_ports(broker: &Broker) -> Vec<u16> {
    let bootstrap = broker.bootstrap().to_string();
    let mut ports: Vec<u16> = bootstrap
        .split(',')
        .filter_map(|address| address.rsplit_once(':')?.1.parse().ok())
        .collect();
    let from_metadata = tokio::task::spawn_blocking(move || -> Option<Vec<u16>> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let client: BaseConsumer = client_config(&bootstrap).create().ok()?;
        let metadata = client
            .fetch_metadata(None, std::time::Duration::from_secs(10))
            .ok()?;
        Some(
            metadata
                .brokers()
                .iter()
                .filter_map(|b| u16::try_from(b.port()).ok())
                .collect(),
        )
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    ports.extend(from_metadata);
    ports.sort();
    ports.dedup();
    ports
}

/// A failure's message, with the sandbox named where the program's own words (its panic,
/// its error, in `details`) show that the sandbox refused it something.
pub fn name_refusals(message: String, details: &[String], enforced: Enforced) -> String {
    let refused = |text: &str| text.contains("Permission denied") || text.contains("os error 13");
    if enforced == Enforced::Nothing || !(refused(&message) || details.iter().any(|d| refused(d))) {
        return message;
    }
    format!(
        "{message} (the grader's sandbox refused it: a graded program may read only its \
         crate and the system's files, write only in its sandbox folder, and connect only \
         to the broker)"
    )
}

fn is_zombie(proc: &Path) -> bool {
    std::fs::read_to_string(proc.join("stat")).is_ok_and(|stat| {
        // The state follows the parenthesised command name, which may hold spaces.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            == Some("Z")
    })
}

/// Whether `name` is a variable of the lab contract, which the scenarios set and a sandbox
/// must let through.
fn is_contract(name: &str) -> bool {
    name.starts_with(env::KAFKA_PREFIX) || env::ALL.contains(&name)
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `path` in single quotes for sh.
fn quote(path: &Path) -> String {
    format!("'{}'", path.to_string_lossy().replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launcher_runs_in_the_sandbox_with_a_scrubbed_environment() {
        let root = std::env::temp_dir().join(format!("sandbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let cwd = root.join("ws/labs/01-orders");
        std::fs::create_dir_all(&cwd).unwrap();
        let sandbox = Sandbox::new(&root, &cwd, "01-orders").unwrap();
        let script = sandbox.launcher(Path::new("/bin/sh")).unwrap();
        let output = std::process::Command::new(&script)
            .args(["-c", "pwd; echo \"$HOME\"; env"])
            .env(env::CONSUMER_GROUP_SIZE, "3")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{text}{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(&script).unwrap()
        );
        let mut lines = text.lines();
        assert_eq!(
            Path::new(lines.next().unwrap()).canonicalize().unwrap(),
            cwd.canonicalize().unwrap()
        );
        assert_eq!(
            lines.next().unwrap(),
            root.join("run/01-orders/home").to_string_lossy()
        );
        // Set by the caller after the launcher was written: a scenario's variable.
        assert!(
            text.contains(&format!("{}=3", env::CONSUMER_GROUP_SIZE)),
            "{text}"
        );
        assert!(text.contains(MARKER_VAR), "{text}");
        // In the grader's environment when the launcher was written (cargo sets it for
        // tests): scrubbed.
        if std::env::var_os("CARGO_PKG_NAME").is_some() {
            assert!(!text.contains("CARGO_PKG_NAME="), "{text}");
        }
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn contract_variables_are_kept_and_others_are_not() {
        for name in env::ALL {
            assert!(is_contract(name), "{name}");
        }
        assert!(is_contract(&format!("{}SASL_PASSWORD", env::KAFKA_PREFIX)));
        for name in ["CARGO_PKG_NAME", "GITHUB_TOKEN", "SIGTERM", "TEST_GROUP"] {
            assert!(!is_contract(name), "{name}");
        }
    }

    #[test]
    fn zombies_are_recognised_by_state() {
        assert!(!is_zombie(Path::new("/proc/self")));
    }
}
