//! The course's labs: the manifest `labs/info.toml` with every lab's metadata, naming a lab
//! on the command line, and finding its crates on disk.
//!
//! The checker embeds the manifest at compile time, so a submission being graded cannot
//! change the labs it is graded against.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// The manifest as written in `labs/info.toml`.
const MANIFEST: &str = include_str!("../../labs/info.toml");

/// The whole course manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfoFile {
    /// The course's parts, in order: the path a learner walks.
    pub parts: Vec<Part>,
    /// Every lab, in course order.
    pub labs: Vec<LabInfo>,
}

/// A stretch of the course: consecutive labs with one purpose.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// The number of the part's first lab; the part runs up to the next part's first lab.
    pub first_lab: usize,
    /// What `checker list` and the book call it.
    pub title: String,
}

/// One lab's metadata: what the learner reads and what the checker names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabInfo {
    /// Position in the course, from 1.
    pub number: usize,
    /// Short name, used in directory and package names (`orders`, `group-sizing`, ...).
    pub name: String,
    /// Chapter title.
    pub title: String,
    /// The seed text this lab re-tells; none for a lab beyond the seeds.
    pub seed: Option<String>,
    /// `easy`, `medium` or `hard`.
    pub difficulty: String,
    /// Estimated time to solve, in minutes.
    pub minutes: u32,
    /// What the learner can do afterwards.
    pub objectives: Vec<String>,
    /// The problem statement, one step each; the checker names the step that failed.
    pub steps: Vec<String>,
    /// The lines the lab's program prints.
    pub output: Vec<String>,
    /// Hints, revealed one at a time.
    pub hints: Vec<String>,
}

impl InfoFile {
    /// Parses the embedded manifest.
    ///
    /// # Panics
    /// When the manifest is malformed; a unit test keeps that from ever shipping.
    pub fn load() -> InfoFile {
        Self::parse(MANIFEST).expect("labs/info.toml is malformed")
    }

    fn parse(text: &str) -> std::result::Result<InfoFile, toml::de::Error> {
        toml::from_str(text)
    }

    /// Finds a lab by its number (`3`, `03`) or its name (`modulo-assignment`,
    /// `03-modulo-assignment`).
    pub fn find(&self, query: &str) -> Result<&LabInfo> {
        let query = query.trim().to_ascii_lowercase();
        let found = self.labs.iter().find(|lab| {
            query.parse::<usize>().ok() == Some(lab.number)
                || query == lab.name
                || query == lab.dir()
                || query == lab.package()
        });
        match found {
            Some(lab) => Ok(lab),
            None => {
                let known: Vec<String> = self
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
}

impl InfoFile {
    /// The part that lab `number` belongs to.
    pub fn part_of(&self, number: usize) -> Option<&Part> {
        self.parts
            .iter()
            .rev()
            .find(|part| part.first_lab <= number)
    }
}

impl LabInfo {
    /// The lab's directory name under `labs/` and `solutions/`, e.g. `01-orders`.
    pub fn dir(&self) -> String {
        format!("{:02}-{}", self.number, self.name)
    }

    /// The starter's package name, e.g. `lab01-orders`.
    pub fn package(&self) -> String {
        format!("lab{:02}-{}", self.number, self.name)
    }

    /// The solution's package name, e.g. `lab01-orders-solution`.
    pub fn solution_package(&self) -> String {
        format!("{}-solution", self.package())
    }
}

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
    fn manifest_parses_and_numbers_labs_in_order() {
        let info = InfoFile::load();
        assert!(!info.labs.is_empty());
        for (index, lab) in info.labs.iter().enumerate() {
            assert_eq!(lab.number, index + 1, "lab {} is out of order", lab.name);
            assert!(!lab.steps.is_empty(), "lab {} has no steps", lab.name);
            assert!(!lab.hints.is_empty(), "lab {} has no hints", lab.name);
            assert!(
                ["easy", "medium", "hard"].contains(&lab.difficulty.as_str()),
                "lab {} has difficulty {:?}",
                lab.name,
                lab.difficulty
            );
        }
    }

    #[test]
    fn parts_start_at_lab_one_and_go_forward() {
        let info = InfoFile::load();
        assert_eq!(info.parts.first().map(|p| p.first_lab), Some(1));
        for pair in info.parts.windows(2) {
            assert!(pair[0].first_lab < pair[1].first_lab, "{pair:?}");
        }
        let last = info.parts.last().unwrap().first_lab;
        assert!(last <= info.labs.len(), "part {last} has no lab");
        assert_eq!(info.part_of(1).unwrap().first_lab, 1);
    }

    #[test]
    fn every_lab_has_a_starter_and_a_solution_crate() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for lab in InfoFile::load().labs {
            for (kind, package) in [
                ("labs", lab.package()),
                ("solutions", lab.solution_package()),
            ] {
                let manifest = root.join(kind).join(lab.dir()).join("Cargo.toml");
                let text = std::fs::read_to_string(&manifest)
                    .unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
                assert!(
                    text.contains(&format!("name = \"{package}\"")),
                    "{} must name its package {package}",
                    manifest.display()
                );
            }
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let text = "parts = []\n[[labs]]\nnumber = 1\nname = 'x'\ntitle = 't'\nseed = 's'\ndifficulty = 'easy'\nminutes = 1\nobjectives = []\nsteps = []\noutput = []\nhints = []\ntypo = 1\n";
        assert!(InfoFile::parse(text).is_err());
    }

    #[test]
    fn labs_are_found_by_number_or_name() {
        let info = InfoFile::load();
        assert_eq!(info.find("1").unwrap().name, "orders");
        assert_eq!(info.find("01").unwrap().name, "orders");
        assert_eq!(info.find("orders").unwrap().number, 1);
        assert_eq!(info.find("01-orders").unwrap().number, 1);
        assert_eq!(info.find("Orders").unwrap().number, 1);
    }

    #[test]
    fn an_unknown_lab_lists_the_labs() {
        let info = InfoFile::load();
        let message = info.find("kafka-streams").unwrap_err().to_string();
        assert!(
            message.contains("no lab called \"kafka-streams\""),
            "{message}"
        );
        for lab in &info.labs {
            assert!(message.contains(&lab.name), "{message}");
        }
        assert!(info.find("99").is_err());
    }
}
