//! Building a submission's crate: cargo in its own process group, with a time limit and a
//! cap on what it may print.
//!
//! `checker verify` builds the learner's own code with [`crate::cargo_build`]. The grader
//! builds code it does not trust, so cargo leads a process group that is killed whole when
//! the time is up: killing cargo alone would leave a runaway rustc behind (say one expanding
//! `include_bytes!("/dev/zero")`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::cargo_build::{binary_path, compiler_messages};

/// Bytes of cargo's stderr (the compiler's messages) kept; the head, where the first
/// errors are.
pub const MAX_BUILD_OUTPUT: usize = 64 << 10;
/// Bytes of cargo's JSON messages kept: enough for a lab's artifact lines.
const MAX_MESSAGES: usize = 4 << 20;

/// Builds into the shared target folder, one at a time in this process.
static BUILDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Exclusive use of a shared target folder, from the build to the copy of its program.
///
/// Cargo locks a target folder only while it builds, and it copies each program to
/// `debug/<package>`, a path every submission's build of the same lab shares: without this
/// lock, another build could replace the program between our build and our copy of it.
pub struct BuildLock {
    _in_process: tokio::sync::MutexGuard<'static, ()>,
    _across_processes: nix::fcntl::Flock<std::fs::File>,
}

impl BuildLock {
    /// Waits for the target folder `target_dir`: first for this process's other builds,
    /// then for other grading runs (an `flock` on `grade.lock` in it).
    pub async fn acquire(target_dir: &Path) -> Result<BuildLock> {
        let in_process = BUILDS.lock().await;
        std::fs::create_dir_all(target_dir)
            .with_context(|| format!("cannot create {}", target_dir.display()))?;
        let path = target_dir.join("grade.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        // Blocking: another run may hold it for a whole librdkafka build.
        let locked = tokio::task::spawn_blocking(move || {
            nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
                .map_err(|(_, errno)| errno)
        })
        .await?
        .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(BuildLock {
            _in_process: in_process,
            _across_processes: locked,
        })
    }
}

/// What a build produced.
#[derive(Debug, Clone)]
pub enum Built {
    /// The program.
    Binary(PathBuf),
    /// The compiler's messages (or why the build was stopped).
    DoesNotCompile(String),
}

/// Builds `package` of the workspace at `root` into `target_dir`, within `timeout`.
///
/// With `want_binary`, the package's executable is looked up in cargo's messages (a
/// library build returns an empty path). `Err` when cargo itself cannot run.
pub async fn cargo_build(
    root: &Path,
    package: &str,
    target_dir: &Path,
    timeout: Duration,
    want_binary: bool,
) -> Result<Built> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = tokio::process::Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--quiet", "--package", package])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--color",
            "never",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        // Set by `cargo run`/`cargo test` around the checker; they would point this build
        // at another workspace's settings.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_MANIFEST_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().context("cannot run cargo")?;
    // Whatever cargo started and left (or all of it, on a timeout or Ctrl-C) goes with
    // its group.
    let _group =
        crate::process::GroupGuard::new(child.id().context("cargo exited at once")? as i32);
    let stdout = child.stdout.take().context("stdout not captured")?;
    let stderr = child.stderr.take().context("stderr not captured")?;
    let outcome = tokio::time::timeout(timeout, async {
        let (out, err, status) = tokio::join!(
            read_capped(stdout, MAX_MESSAGES),
            read_capped(stderr, MAX_BUILD_OUTPUT),
            child.wait()
        );
        (out, err, status)
    })
    .await;
    let Ok((stdout, stderr, status)) = outcome else {
        return Ok(Built::DoesNotCompile(format!(
            "the build did not finish within {} s and was stopped",
            timeout.as_secs()
        )));
    };
    let status = status.context("cannot wait for cargo")?;
    if !status.success() {
        return Ok(Built::DoesNotCompile(compiler_messages(&stderr)));
    }
    if !want_binary {
        return Ok(Built::Binary(PathBuf::new()));
    }
    binary_path(&stdout, package).map(Built::Binary)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_past_the_cap_is_cut() {
        let text = read_capped(&b"abcdefgh"[..], 3).await;
        assert_eq!(text, "abc\n[... output cut]");
    }
}
