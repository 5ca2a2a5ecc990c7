//! The grading run's builds: one target folder shared by every submission (librdkafka is
//! compiled once), and the lock that keeps two builds from sharing it at once.

use std::path::Path;

use anyhow::{Context, Result};

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
