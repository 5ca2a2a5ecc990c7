//! Naming a lab on the command line, and finding its crates on disk.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::info_file::{InfoFile, LabInfo};

/// Which crate of a lab to run: the learner's starter or the reference solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `labs/NN-name`: the learner's work.
    Starter,
    /// `solutions/NN-name`: the reviewed solution.
    Solution,
}

impl Variant {
    /// The top-level folder holding this variant's crates.
    pub fn folder(self) -> &'static str {
        match self {
            Variant::Starter => "labs",
            Variant::Solution => "solutions",
        }
    }

    /// The cargo package of `lab` in this variant.
    pub fn package(self, lab: &LabInfo) -> String {
        match self {
            Variant::Starter => lab.package(),
            Variant::Solution => lab.solution_package(),
        }
    }
}

/// Finds a lab by its number (`3`, `03`) or its name (`modulo-assignment`, `03-modulo-assignment`).
pub fn find<'a>(info: &'a InfoFile, query: &str) -> Result<&'a LabInfo> {
    let query = query.trim().to_ascii_lowercase();
    let found = info.labs.iter().find(|lab| {
        query.parse::<usize>().ok() == Some(lab.number)
            || query == lab.name
            || query == lab.dir()
            || query == lab.package()
    });
    match found {
        Some(lab) => Ok(lab),
        None => {
            let known: Vec<String> = info
                .labs
                .iter()
                .map(|lab| format!("  {:>2}  {:<24} {}", lab.number, lab.name, lab.title))
                .collect();
            bail!(
                "there is no lab called {query:?}. The labs are:\n{}\nName a lab by its number or its name.",
                known.join("\n")
            )
        }
    }
}

/// The course's root folder: the one holding `labs/info.toml`.
///
/// `$CHECKER_ROOT` wins; otherwise the current folder or the nearest parent that holds the
/// manifest, so the checker works from anywhere inside the clone.
pub fn course_root() -> Result<PathBuf> {
    if let Some(root) = std::env::var_os("CHECKER_ROOT") {
        return Ok(PathBuf::from(root));
    }
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    cwd.ancestors()
        .find(|dir| dir.join("labs").join("info.toml").is_file())
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "{} is not inside the course: run the checker from the cloned repository",
                cwd.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labs_are_found_by_number_or_name() {
        let info = InfoFile::load();
        assert_eq!(find(&info, "1").unwrap().name, "orders");
        assert_eq!(find(&info, "01").unwrap().name, "orders");
        assert_eq!(find(&info, "orders").unwrap().number, 1);
        assert_eq!(find(&info, "01-orders").unwrap().number, 1);
        assert_eq!(find(&info, "Orders").unwrap().number, 1);
    }

    #[test]
    fn an_unknown_lab_lists_the_labs() {
        let info = InfoFile::load();
        let message = find(&info, "kafka-streams").unwrap_err().to_string();
        assert!(
            message.contains("no lab called \"kafka-streams\""),
            "{message}"
        );
        for lab in &info.labs {
            assert!(message.contains(&lab.name), "{message}");
        }
        assert!(find(&info, "99").is_err());
    }
}
