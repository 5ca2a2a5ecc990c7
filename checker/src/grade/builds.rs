//! The grading run's builds: one target folder shared by every submission (librdkafka is
//! compiled once, before any submission), the lock that keeps two builds from sharing it at
//! once, and each lab source's result, so identical sources are built once per run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::sync::{Mutex, OnceCell};

use super::workspace::Workspace;
use crate::cargo_build::{Built, CargoBuild};
use crate::info_file::LabInfo;

/// The first build of a grading run compiles librdkafka (C): minutes on a small machine.
pub const PRIME_TIMEOUT: Duration = Duration::from_secs(1_800);

/// The builds of one grading run.
pub struct Builds {
    target_dir: PathBuf,
    timeout: Duration,
    /// Where built programs are kept, out of the shared target folder.
    bin: PathBuf,
    /// Each lab source's build result, by source hash. Held while building, so a second
    /// submission with the same source waits for the first.
    cache: Mutex<HashMap<u64, Built>>,
    primed: OnceCell<std::result::Result<(), String>>,
}

impl Builds {
    /// Builds into `target_dir`, each lab within `timeout`, its program kept in `bin`.
    pub fn new(target_dir: &Path, timeout: Duration, bin: PathBuf) -> Builds {
        Builds {
            target_dir: target_dir.to_path_buf(),
            timeout,
            bin,
            cache: Mutex::new(HashMap::new()),
            primed: OnceCell::new(),
        }
    }

    /// Builds the course's `lab-contract` once, in the workspace `create` makes, so
    /// librdkafka is compiled before any submission's build and under its own, longer time
    /// limit. Later calls return the first one's result.
    pub async fn prime(&self, create: impl FnOnce() -> Result<Workspace>) -> Result<()> {
        let primed = self
            .primed
            .get_or_init(|| async {
                let _cache = self.cache.lock().await;
                let result = async {
                    let _lock = BuildLock::acquire(&self.target_dir).await?;
                    let workspace = create()?;
                    let built = self
                        .untrusted(&workspace, "lab-contract", PRIME_TIMEOUT)
                        .library()
                        .await?;
                    if let Err(messages) = built {
                        bail!("the course's lab-contract does not build:\n{messages}");
                    }
                    Ok(())
                }
                .await;
                result.map_err(|e: anyhow::Error| format!("{e:#}"))
            })
            .await;
        primed.clone().map_err(anyhow::Error::msg)
    }

    /// The program of `lab` in `workspace`: built, or found among this run's builds of the
    /// same source. `Err` only for the grader's own failures.
    pub async fn program(&self, workspace: &Workspace, lab: &LabInfo) -> Result<Built> {
        let mut cache = self.cache.lock().await;
        let key = workspace.source_hash(lab)?;
        if let Some(built) = cache.get(&key) {
            return Ok(built.clone());
        }
        let _lock = BuildLock::acquire(&self.target_dir).await?;
        let built = self
            .untrusted(workspace, &lab.package(), self.timeout)
            .program()
            .await?;
        // Copied out while the lock is held: the next build of the same package name
        // overwrites cargo's copy in the shared target folder.
        let built = match built {
            Built::Binary(binary) => {
                Built::Binary(self.store(&binary, &format!("{}-{key:016x}", lab.dir()))?)
            }
            other => other,
        };
        cache.insert(key, built.clone());
        Ok(built)
    }

    /// A build of code the grader does not trust: into the shared target folder, within
    /// `limit`, its output capped and plain.
    fn untrusted(&self, workspace: &Workspace, package: &str, limit: Duration) -> CargoBuild {
        CargoBuild::new(&workspace.root(), package)
            .target_dir(&self.target_dir)
            .time_limit(limit)
            .capped_output()
            .colour(false)
    }

    /// Copies a freshly built program out of the shared target folder into the run's own
    /// `bin/`, where later submissions with the same sources find it.
    fn store(&self, binary: &Path, name: &str) -> Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(&self.bin)?;
        let stored = self.bin.join(name);
        std::fs::copy(binary, &stored)
            .with_context(|| format!("cannot copy {}", binary.display()))?;
        std::fs::set_permissions(&stored, std::fs::Permissions::from_mode(0o755))?;
        Ok(stored)
    }
}

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
