//! The course manifest, `labs/info.toml`: every lab's metadata in one place.
//!
//! The checker embeds the file at compile time, so a submission being graded cannot change
//! the labs it is graded against.

use serde::Deserialize;

/// The manifest as written in `labs/info.toml`.
const MANIFEST: &str = include_str!("../../labs/info.toml");

/// The whole course manifest.
#[derive(Debug, Deserialize)]
pub struct InfoFile {
    /// Every lab, in course order.
    pub labs: Vec<LabInfo>,
}

/// One lab's metadata: what the learner reads and what the checker names.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabInfo {
    /// Position in the course, from 1.
    pub number: usize,
    /// Short name, used in directory and package names (`orders`, `group-sizing`, ...).
    pub name: String,
    /// Chapter title.
    pub title: String,
    /// The seed text this lab re-tells.
    pub seed: String,
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

    fn parse(text: &str) -> Result<InfoFile, toml::de::Error> {
        toml::from_str(text)
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
        let text = "[[labs]]\nnumber = 1\nname = 'x'\ntitle = 't'\nseed = 's'\ndifficulty = 'easy'\nminutes = 1\nobjectives = []\nsteps = []\noutput = []\nhints = []\ntypo = 1\n";
        assert!(InfoFile::parse(text).is_err());
    }
}
