//! Proof that grading left the submission folder alone: a fingerprint of every file before
//! and after, and what changed between the two.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// Folders of a submission that are not fingerprinted: build output and version control,
/// which a student's tools may change while grading runs.
const IGNORED: [&str; 2] = ["target", ".git"];

/// Whether the submission folder was left exactly as it was.
#[derive(Debug, Clone, Serialize)]
pub struct Integrity {
    /// True when no file under the submission changed, appeared or vanished.
    pub unchanged: bool,
    /// The paths that did, relative to the submission (at most 20).
    pub changed: Vec<String>,
}

/// Every file, folder and link under `root` (not following links, skipping `target/` and
/// `.git/`), each with a hash of its contents: equal fingerprints mean byte-identical trees.
pub fn fingerprint(root: &Path) -> Result<BTreeMap<String, u64>> {
    let mut entries = BTreeMap::new();
    if root.is_dir() {
        walk(root, root, &mut entries)?;
    }
    Ok(entries)
}

fn walk(root: &Path, dir: &Path, entries: &mut BTreeMap<String, u64>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let kind = entry.file_type()?;
        let mut hasher = DefaultHasher::new();
        if kind.is_dir() {
            if IGNORED.contains(&entry.file_name().to_string_lossy().as_ref()) {
                continue;
            }
            "dir".hash(&mut hasher);
            entries.insert(relative, hasher.finish());
            walk(root, &path, entries)?;
        } else if kind.is_symlink() {
            std::fs::read_link(&path)?.hash(&mut hasher);
            entries.insert(relative, hasher.finish());
        } else {
            let mut file = std::fs::File::open(&path)?;
            let mut buffer = vec![0u8; 64 << 10];
            loop {
                let read = file.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                buffer[..read].hash(&mut hasher);
            }
            entries.insert(relative, hasher.finish());
        }
    }
    Ok(())
}

/// What changed between two fingerprints of a submission.
pub fn compare(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Integrity {
    let mut changed: Vec<String> = before
        .iter()
        .filter(|(path, hash)| after.get(*path) != Some(hash))
        .map(|(path, _)| path.clone())
        .chain(
            after
                .keys()
                .filter(|path| !before.contains_key(*path))
                .cloned(),
        )
        .collect();
    changed.sort();
    changed.dedup();
    let unchanged = changed.is_empty();
    changed.truncate(20);
    Integrity { unchanged, changed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_sees_every_change_but_build_output() {
        let dir = std::env::temp_dir().join(format!("fingerprint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("labs/01-orders/src")).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join("labs/01-orders/src/main.rs"), "fn main() {}").unwrap();
        let before = fingerprint(&dir).unwrap();
        std::fs::write(dir.join("target/junk"), "x").unwrap();
        assert!(compare(&before, &fingerprint(&dir).unwrap()).unchanged);
        std::fs::write(dir.join("labs/01-orders/src/main.rs"), "fn main() { }").unwrap();
        std::fs::write(dir.join("escaped.txt"), "x").unwrap();
        let integrity = compare(&before, &fingerprint(&dir).unwrap());
        assert!(!integrity.unchanged);
        assert_eq!(
            integrity.changed,
            ["escaped.txt", "labs/01-orders/src/main.rs"]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
