//! Finding the lab crates in a submission: a folder holding `labs/`, a copy of `labs/`, or
//! one lab's crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::info_file::InfoFile;

/// The lab crates found in a submission.
#[derive(Debug, Default, Clone)]
pub struct Located {
    /// Each submitted lab's crate folder, by lab number.
    pub labs: BTreeMap<usize, PathBuf>,
    /// Set when the path is one lab's crate: only that lab is graded (the others are not
    /// "missing", they were not asked for).
    pub single: Option<usize>,
}

impl Located {
    /// Whether no lab crate was found.
    pub fn is_empty(&self) -> bool {
        self.labs.is_empty()
    }
}

/// Finds the lab crates under `path`. A folder that holds none is an empty submission (every
/// lab missing), not an error; a path that does not exist or is not a folder is.
pub fn locate(path: &Path, info: &InfoFile) -> Result<Located> {
    if !path.is_dir() {
        bail!("{} is not a folder", path.display());
    }
    let labs_dir = path.join("labs");
    if labs_dir.is_dir() {
        return Ok(in_labs_folder(&labs_dir, info));
    }
    let found = in_labs_folder(path, info);
    if !found.is_empty() {
        return Ok(found);
    }
    if let Some(number) = lab_of_crate(path, info) {
        return Ok(Located {
            labs: BTreeMap::from([(number, path.to_path_buf())]),
            single: Some(number),
        });
    }
    Ok(Located::default())
}

fn in_labs_folder(dir: &Path, info: &InfoFile) -> Located {
    let labs = info
        .labs
        .iter()
        .map(|lab| (lab.number, dir.join(lab.dir())))
        .filter(|(_, crate_dir)| crate_dir.is_dir())
        .collect();
    Located { labs, single: None }
}

/// The lab whose crate `dir` is: by folder name (`03-modulo-assignment`), else by the
/// package name in its `Cargo.toml` (starter or solution).
fn lab_of_crate(dir: &Path, info: &InfoFile) -> Option<usize> {
    let name = dir.file_name()?.to_string_lossy().into_owned();
    if let Some(lab) = info.labs.iter().find(|lab| lab.dir() == name) {
        return Some(lab.number);
    }
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let manifest: toml::Value = toml::from_str(&manifest).ok()?;
    let package = manifest.get("package")?.get("name")?.as_str()?;
    info.labs
        .iter()
        .find(|lab| package == lab.package() || package == lab.solution_package())
        .map(|lab| lab.number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("locate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_repository_a_labs_folder_and_a_crate_are_found() {
        let info = InfoFile::load();
        let repo = temp("repo");
        std::fs::create_dir_all(repo.join("labs/01-orders/src")).unwrap();
        std::fs::create_dir_all(repo.join("labs/03-modulo-assignment")).unwrap();
        let located = locate(&repo, &info).unwrap();
        assert_eq!(located.labs.keys().copied().collect::<Vec<_>>(), [1, 3]);
        assert_eq!(located.single, None);

        let labs = locate(&repo.join("labs"), &info).unwrap();
        assert_eq!(labs.labs.len(), 2);

        let one = locate(&repo.join("labs/03-modulo-assignment"), &info).unwrap();
        assert_eq!(one.single, Some(3));

        let renamed = repo.join("my-lab");
        std::fs::create_dir_all(&renamed).unwrap();
        std::fs::write(
            renamed.join("Cargo.toml"),
            "[package]\nname = \"lab04-group-consumer-solution\"\n",
        )
        .unwrap();
        assert_eq!(locate(&renamed, &info).unwrap().single, Some(4));

        let empty = temp("empty");
        assert!(locate(&empty, &info).unwrap().is_empty());
        assert!(locate(&empty.join("nope"), &info).is_err());
        std::fs::remove_dir_all(repo).unwrap();
        std::fs::remove_dir_all(empty).unwrap();
    }
}
