//! The temporary workspace a submission is built and run in, made from the course's files.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::integrity::fingerprint;
use super::locate::Located;
use super::sandbox::Sandbox;
use crate::cleanup::{Registration, Stage};
use crate::info_file::{InfoFile, LabInfo};

/// The most a lab's `src/` may hold; a bigger one is not copied (and so does not compile).
pub const MAX_SOURCE_BYTES: u64 = 10 << 20;

/// A grading run's scratch folder, under the system's temp folder and readable only by the
/// grading user. Deleted by [`Scratch::release`], when dropped, or on Ctrl-C.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
    removal: Registration,
}

impl Scratch {
    /// Creates a fresh scratch folder for one grading run.
    pub fn create() -> Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("checker-grade-{}-{nanos:08x}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let removal = Registration::new(Stage::Files, {
            let dir = dir.clone();
            move || {
                let _ = std::fs::remove_dir_all(dir);
            }
        });
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(Scratch { dir, removal })
    }

    /// Ends the run's use of the folder: deletes it, unless `keep`.
    pub fn release(&self, keep: bool) {
        match self.removal.take() {
            Some(remove) if !keep => remove(),
            _ => {}
        }
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.dir
    }
}

/// One submission's workspace: `ws/` is a cargo workspace of the course's files and the
/// submission's sources, `run/<lab>/` each lab's sandbox (see [`Sandbox`]).
pub struct Workspace {
    dir: PathBuf,
    notes: HashMap<usize, Vec<String>>,
    keep: bool,
}

impl Workspace {
    /// Creates `scratch/name` with the course's workspace files and, for every lab in
    /// `located`, the course's `Cargo.toml` and the submission's `src/`.
    pub fn create(
        scratch: &Path,
        name: &str,
        course: &Path,
        info: &InfoFile,
        located: &Located,
    ) -> Result<Workspace> {
        let dir = scratch.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let ws = dir.join("ws");
        for sub in ["ws/labs", "ws/checker"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let mut workspace = Workspace {
            dir,
            notes: HashMap::new(),
            keep: false,
        };
        std::fs::write(ws.join("Cargo.toml"), workspace_manifest(course)?)?;
        std::fs::copy(course.join("Cargo.lock"), ws.join("Cargo.lock"))
            .context("cannot copy the course's Cargo.lock")?;
        std::fs::copy(course.join("labs/info.toml"), ws.join("labs/info.toml"))?;
        let contract = course.join("checker/lab-contract");
        copy_tree(&contract, &ws.join("checker/lab-contract"), &mut Vec::new())?;
        for (number, submitted) in &located.labs {
            let Some(lab) = info.labs.iter().find(|lab| lab.number == *number) else {
                continue;
            };
            let notes = workspace.add_lab(course, lab, submitted)?;
            workspace.notes.insert(*number, notes);
        }
        Ok(workspace)
    }

    /// Copies one lab: the course's manifest, the submission's `src/`. Returns notes on
    /// what was left out.
    fn add_lab(&self, course: &Path, lab: &LabInfo, submitted: &Path) -> Result<Vec<String>> {
        let target = self.root().join("labs").join(lab.dir());
        std::fs::create_dir_all(&target)?;
        let manifest = course.join("labs").join(lab.dir()).join("Cargo.toml");
        let ours = std::fs::read(&manifest)
            .with_context(|| format!("the course has no {}", manifest.display()))?;
        let mut notes = Vec::new();
        if let Ok(theirs) = std::fs::read(submitted.join("Cargo.toml")) {
            if theirs != ours && !is_solution_manifest(&theirs, lab) {
                notes.push(
                    "the submitted Cargo.toml differs from the course's and was not used: a lab \
                     builds with the course's dependencies"
                        .to_string(),
                );
            }
        }
        if submitted.join("build.rs").exists() {
            notes.push("build.rs is not used: labs have no build script".to_string());
        }
        let source = submitted.join("src");
        if source.is_dir() {
            let size = tree_size(&source)?;
            if size > MAX_SOURCE_BYTES {
                notes.push(format!(
                    "src/ holds {} MB, more than the {} MB the grader copies: it was left out",
                    size >> 20,
                    MAX_SOURCE_BYTES >> 20
                ));
            } else {
                copy_tree(&source, &target.join("src"), &mut notes)?;
            }
        }
        let hash = self.source_hash(lab)?;
        std::fs::write(target.join("Cargo.toml"), versioned_manifest(&ours, hash)?)?;
        Ok(notes)
    }

    /// The cargo workspace's root.
    pub fn root(&self) -> PathBuf {
        self.dir.join("ws")
    }

    /// Notes about lab `number`'s copy.
    pub fn notes(&self, number: usize) -> Vec<String> {
        self.notes.get(&number).cloned().unwrap_or_default()
    }

    /// A hash of everything that decides lab `lab`'s binary: its package name and sources
    /// (the manifest and the rest are the course's, the same for every submission).
    pub fn source_hash(&self, lab: &LabInfo) -> Result<u64> {
        let mut hasher = DefaultHasher::new();
        lab.package().hash(&mut hasher);
        let src = self.root().join("labs").join(lab.dir()).join("src");
        for (path, contents) in fingerprint(&src)? {
            path.hash(&mut hasher);
            contents.hash(&mut hasher);
        }
        Ok(hasher.finish())
    }

    /// The sandbox lab `lab`'s programs run in: its crate copy as working folder.
    pub fn sandbox(&self, lab: &LabInfo) -> Result<Sandbox> {
        Sandbox::new(
            &self.dir,
            &self.root().join("labs").join(lab.dir()),
            &lab.dir(),
        )
    }

    /// Keeps the workspace on disk and returns where it is.
    pub fn keep(mut self) -> PathBuf {
        self.keep = true;
        self.dir.clone()
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The course's workspace manifest with only the lab-contract and the starters as members:
/// the checker and the solutions are not in the copy.
fn workspace_manifest(course: &Path) -> Result<String> {
    let text = std::fs::read_to_string(course.join("Cargo.toml"))
        .context("cannot read the course's Cargo.toml")?;
    let mut manifest: toml::Table = toml::from_str(&text)?;
    let Some(workspace) = manifest
        .get_mut("workspace")
        .and_then(toml::Value::as_table_mut)
    else {
        bail!("the course's Cargo.toml has no [workspace]");
    };
    workspace.insert(
        "members".into(),
        toml::Value::Array(vec!["checker/lab-contract".into(), "labs/*".into()]),
    );
    workspace.remove("default-members");
    Ok(format!(
        "# Written by `checker grade` from the course's Cargo.toml.\n{}",
        toml::to_string(&manifest)?
    ))
}

/// The course's lab manifest with the source hash as the version's build metadata
/// (`0.1.0+src<hash>`).
///
/// Cargo names a path package's build artifacts after its name and version and its path
/// *relative to the workspace*, the same in every submission's workspace, and decides
/// whether they are fresh by file times. Two submissions sharing the target folder would
/// then share one artifact, and a copy made before the other's build would look fresh and
/// run the other's program. With the source hash in the version, artifacts are shared only
/// between identical sources, where sharing is right.
fn versioned_manifest(manifest: &[u8], hash: u64) -> Result<String> {
    let mut table: toml::Table = toml::from_str(std::str::from_utf8(manifest)?)?;
    let Some(package) = table.get_mut("package").and_then(toml::Value::as_table_mut) else {
        bail!("a lab's Cargo.toml has no [package]");
    };
    let version = package
        .get("version")
        .and_then(toml::Value::as_str)
        .unwrap_or("0.1.0")
        .split('+')
        .next()
        .unwrap_or("0.1.0")
        .to_string();
    package.insert(
        "version".into(),
        toml::Value::String(format!("{version}+src{hash:016x}")),
    );
    Ok(format!(
        "# Written by `checker grade` from the course's manifest.\n{}",
        toml::to_string(&table)?
    ))
}

/// A solution's manifest differs from the starter's only in its name and description: a
/// submission made of solution crates is not worth a note.
fn is_solution_manifest(manifest: &[u8], lab: &LabInfo) -> bool {
    String::from_utf8_lossy(manifest).contains(&format!("\"{}\"", lab.solution_package()))
}

/// Copies the regular files and folders under `from` to `to`. Symbolic links are not
/// followed (one could point at another student's work or at a device); each is noted.
pub fn copy_tree(from: &Path, to: &Path, notes: &mut Vec<String>) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target, notes)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        } else {
            notes.push(format!(
                "{} is not a regular file and was not copied",
                entry.path().display()
            ));
        }
    }
    Ok(())
}

fn tree_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += tree_size(&entry.path())?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_version_carries_its_source_hash() {
        let manifest =
            b"[package]\nname = \"lab01-orders\"\nversion = \"0.1.0\"\nedition.workspace = true\n";
        let text = versioned_manifest(manifest, 0xabc).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            table["package"]["version"].as_str(),
            Some("0.1.0+src0000000000000abc")
        );
        assert!(table["package"]["edition"]["workspace"].as_bool().unwrap());
    }

    #[test]
    fn the_manifest_keeps_only_the_contract_and_the_starters() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let manifest: toml::Table = toml::from_str(&workspace_manifest(&root).unwrap()).unwrap();
        let workspace = manifest["workspace"].as_table().unwrap();
        assert_eq!(
            workspace["members"].as_array().unwrap(),
            &vec![
                toml::Value::from("checker/lab-contract"),
                toml::Value::from("labs/*")
            ]
        );
        assert!(!workspace.contains_key("default-members"));
        assert!(workspace.contains_key("dependencies"));
    }
}
