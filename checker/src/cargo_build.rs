//! Building a lab's crate with cargo and finding the program it produced: the one builder
//! for the learner's own code (`checker verify`, watch mode) and for submissions
//! (`checker grade`).
//!
//! By default cargo runs as the learner would run it: in the terminal's process group, in
//! the course's target folder, its whole output read, with no time limit. The grader builds
//! code it does not trust and asks for more: cargo leads a process group that is killed
//! whole when the time is up (killing cargo alone would leave a runaway rustc behind, say
//! one expanding `include_bytes!("/dev/zero")`), and what cargo prints is capped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Bytes of cargo's stderr (the compiler's messages) a capped build keeps; the head, where
/// the first errors are.
pub const MAX_BUILD_OUTPUT: usize = 64 << 10;
/// Bytes of cargo's JSON messages a capped build keeps: enough for a lab's artifact lines.
const MAX_MESSAGES: usize = 4 << 20;

/// The target folder cargo builds the workspace at `root` into: `$CARGO_TARGET_DIR`
/// (relative to `root`, where cargo runs), else `root/target`.
pub fn target_folder(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// What a build of a program produced.
#[derive(Debug, Clone)]
pub enum Built {
    /// The program.
    Binary(PathBuf),
    /// The compiler's messages (or why the build was stopped).
    DoesNotCompile(String),
}

/// A cargo build of one package of a workspace, with the options its caller needs.
#[derive(Debug, Clone)]
pub struct CargoBuild {
    root: PathBuf,
    package: String,
    target_dir: Option<PathBuf>,
    time_limit: Option<Duration>,
    own_process_group: bool,
    capped_output: bool,
    colour: bool,
}

impl CargoBuild {
    /// A build of `package` of the workspace at `root`, as the learner would run it; the
    /// compiler's messages are coloured when stderr is a terminal.
    pub fn new(root: &Path, package: &str) -> CargoBuild {
        CargoBuild {
            root: root.to_path_buf(),
            package: package.to_string(),
            target_dir: None,
            time_limit: None,
            own_process_group: false,
            capped_output: false,
            colour: console::colors_enabled_stderr(),
        }
    }

    /// Builds into `dir` instead of the course's target folder, whatever the environment of
    /// the cargo that runs the checker says.
    pub fn target_dir(mut self, dir: &Path) -> CargoBuild {
        self.target_dir = Some(dir.to_path_buf());
        self
    }

    /// Stops the build after `limit`; it then counts as not compiling. Implies
    /// [`CargoBuild::own_process_group`], so the whole build goes, not cargo alone.
    pub fn time_limit(mut self, limit: Duration) -> CargoBuild {
        self.time_limit = Some(limit);
        self.own_process_group = true;
        self
    }

    /// Keeps only the head of what cargo prints ([`MAX_BUILD_OUTPUT`] of messages), so a
    /// build that floods its output cannot fill the grader's memory.
    pub fn capped_output(mut self) -> CargoBuild {
        self.capped_output = true;
        self
    }

    /// Makes cargo the leader of a process group of its own, killed whole when the build
    /// ends or is stopped: nothing cargo started outlives it.
    pub fn own_process_group(mut self) -> CargoBuild {
        self.own_process_group = true;
        self
    }

    /// Whether the compiler's messages are coloured.
    pub fn colour(mut self, colour: bool) -> CargoBuild {
        self.colour = colour;
        self
    }

    /// Builds the package and finds its program in cargo's messages. `Err` when cargo
    /// itself cannot run or answers unexpectedly.
    pub async fn program(self) -> Result<Built> {
        Ok(match self.run().await? {
            Ok(messages) => Built::Binary(binary_path(&messages, &self.package)?),
            Err(compiler) => Built::DoesNotCompile(compiler),
        })
    }

    /// Builds the package (a library: no program is looked for). `Ok(Err(messages))` when
    /// it does not compile; `Err` when cargo itself cannot run.
    pub async fn library(self) -> Result<std::result::Result<(), String>> {
        Ok(self.run().await?.map(|_| ()))
    }

    /// Runs cargo: its JSON messages when the build succeeded, the compiler's messages (or
    /// why the build was stopped) when not.
    async fn run(&self) -> Result<std::result::Result<String, String>> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let colour = if self.colour { "always" } else { "never" };
        let mut command = tokio::process::Command::new(cargo);
        command
            .current_dir(&self.root)
            .args(["build", "--quiet", "--package", &self.package])
            .args([
                "--message-format",
                "json-render-diagnostics",
                "--color",
                colour,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &self.target_dir {
            // Set by `cargo run`/`cargo test` around the checker; they would point this
            // build at another workspace's settings.
            command
                .arg("--target-dir")
                .arg(dir)
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("CARGO_MANIFEST_DIR");
        }
        if self.own_process_group {
            command.process_group(0);
        }
        let mut child = command.spawn().context("cannot run cargo")?;
        // Whatever cargo started and left (or all of it, on a timeout or Ctrl-C) goes with
        // its group.
        let _group = if self.own_process_group {
            let leader = child.id().context("cargo exited at once")?;
            Some(crate::process::GroupGuard::new(leader as i32))
        } else {
            None
        };
        let stdout = child.stdout.take().context("stdout not captured")?;
        let stderr = child.stderr.take().context("stderr not captured")?;
        let (max_messages, max_output) = if self.capped_output {
            (MAX_MESSAGES, MAX_BUILD_OUTPUT)
        } else {
            (usize::MAX, usize::MAX)
        };
        let finished = async {
            tokio::join!(
                read_capped(stdout, max_messages),
                read_capped(stderr, max_output),
                child.wait()
            )
        };
        let (stdout, stderr, status) = match self.time_limit {
            None => finished.await,
            Some(limit) => match tokio::time::timeout(limit, finished).await {
                Ok(finished) => finished,
                Err(_) => {
                    return Ok(Err(format!(
                        "the build did not finish within {} s and was stopped",
                        limit.as_secs()
                    )))
                }
            },
        };
        let status = status.context("cannot wait for cargo")?;
        if !status.success() {
            return Ok(Err(compiler_messages(&stderr)));
        }
        Ok(Ok(stdout))
    }
}

/// Reads `pipe` to its end, keeping the first `max` bytes (and draining the rest, so the
/// writer never blocks on a full pipe).
async fn read_capped(mut pipe: impl AsyncRead + Unpin, max: usize) -> String {
    let mut kept = Vec::new();
    let mut chunk = vec![0u8; 16 << 10];
    let mut cut = false;
    while let Ok(read) = pipe.read(&mut chunk).await {
        if read == 0 {
            break;
        }
        let room = max.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..read.min(room)]);
        cut |= read > room;
    }
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    if cut {
        text.push_str("\n[... output cut]");
    }
    text
}

/// The executable of `package`'s binary target, from cargo's JSON messages.
fn binary_path(messages: &str, package: &str) -> Result<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| {
            message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"))
        })
        .find(|message| message["target"]["name"] == package)
        .and_then(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| anyhow!("cargo built {package} but reported no program for it"))
}

/// The compiler's diagnostics without cargo's progress lines.
fn compiler_messages(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| {
            let plain = line.trim_start();
            !(plain.starts_with("Compiling")
                || plain.starts_with("Blocking")
                || plain.starts_with("Finished"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_is_found_in_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"lab_contract"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"lab01-orders"},"executable":"/t/debug/lab01-orders"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            binary_path(messages, "lab01-orders").unwrap(),
            PathBuf::from("/t/debug/lab01-orders")
        );
        assert!(binary_path(messages, "lab02-x").is_err());
    }

    #[test]
    fn progress_lines_are_dropped() {
        let stderr = "   Compiling lab01-orders v0.1.0\nerror[E0425]: cannot find value `x`\n    Finished dev";
        assert_eq!(
            compiler_messages(stderr),
            "error[E0425]: cannot find value `x`"
        );
    }

    #[tokio::test]
    async fn output_past_the_cap_is_cut() {
        let text = read_capped(&b"abcdefgh"[..], 3).await;
        assert_eq!(text, "abc\n[... output cut]");
    }
}
