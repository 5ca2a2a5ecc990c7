//! The learner's progress, kept in `.checker/state.json` at the course root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Where a lab stands for this learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabState {
    /// Verified and passed.
    Done,
    /// Verified at least once, not passed.
    NotDone,
}

/// Progress across labs, keyed by lab directory name (`01-orders`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StateFile {
    /// Last verdict per lab; a lab never verified is absent ("not tried").
    #[serde(default)]
    pub labs: BTreeMap<String, LabState>,
    /// How many hints of each lab have been shown.
    #[serde(default)]
    pub hints_shown: BTreeMap<String, usize>,
    #[serde(skip)]
    path: PathBuf,
}

impl StateFile {
    /// Reads the state under `root`; a missing or unreadable file means a fresh start.
    pub fn load(root: &Path) -> StateFile {
        let path = root.join(".checker").join("state.json");
        let mut state: StateFile = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        state.path = path;
        state
    }

    /// Writes the state back.
    pub fn save(&self) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self).expect("state serialises");
        std::fs::write(&self.path, text)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// The state of lab `dir`, `None` when never verified.
    pub fn state(&self, dir: &str) -> Option<LabState> {
        self.labs.get(dir).copied()
    }

    /// Records a verdict for lab `dir`.
    pub fn record(&mut self, dir: &str, passed: bool) {
        let state = if passed {
            LabState::Done
        } else {
            LabState::NotDone
        };
        self.labs.insert(dir.to_string(), state);
    }

    /// Forgets lab `dir`: its verdict and its hints, as if it had never been tried.
    ///
    /// `checker reset` uses it, so a reset lab is "not tried" again and its hints start over.
    pub fn forget(&mut self, dir: &str) {
        self.labs.remove(dir);
        self.hints_shown.remove(dir);
    }

    /// How many of the labs named in `dirs` are done.
    pub fn done_count<'d>(&self, dirs: impl IntoIterator<Item = &'d str>) -> usize {
        dirs.into_iter()
            .filter(|dir| self.state(dir) == Some(LabState::Done))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_starts_empty() {
        let root = std::env::temp_dir().join(format!("checker-state-{}", std::process::id()));
        let mut state = StateFile::load(&root);
        assert_eq!(state.state("01-orders"), None);
        state.record("01-orders", false);
        state.record("02-group-sizing", true);
        state.hints_shown.insert("01-orders".into(), 2);
        state.save().unwrap();
        let again = StateFile::load(&root);
        assert_eq!(again.state("01-orders"), Some(LabState::NotDone));
        assert_eq!(again.state("02-group-sizing"), Some(LabState::Done));
        assert_eq!(again.hints_shown["01-orders"], 2);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_lab_goes_from_not_tried_to_not_done_to_done_and_back() {
        let mut state = StateFile::default();
        assert_eq!(state.state("01-orders"), None, "never verified: not tried");
        state.record("01-orders", false);
        assert_eq!(state.state("01-orders"), Some(LabState::NotDone));
        state.record("01-orders", true);
        assert_eq!(state.state("01-orders"), Some(LabState::Done));
        assert_eq!(state.done_count(["01-orders", "02-group-sizing"]), 1);
        // A later failing run (the learner broke it again) counts: the last verdict wins.
        state.record("01-orders", false);
        assert_eq!(state.state("01-orders"), Some(LabState::NotDone));
        assert_eq!(state.done_count(["01-orders"]), 0);
    }

    #[test]
    fn forgetting_a_lab_clears_its_verdict_and_hints_only() {
        let mut state = StateFile::default();
        state.record("01-orders", true);
        state.record("02-group-sizing", true);
        state.hints_shown.insert("01-orders".into(), 3);
        state.hints_shown.insert("02-group-sizing".into(), 1);
        state.forget("01-orders");
        assert_eq!(state.state("01-orders"), None);
        assert!(!state.hints_shown.contains_key("01-orders"));
        assert_eq!(state.state("02-group-sizing"), Some(LabState::Done));
        assert_eq!(state.hints_shown["02-group-sizing"], 1);
    }
}
