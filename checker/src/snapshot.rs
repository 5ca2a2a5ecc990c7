//! The reviewed snapshots: the normalised transcript of each lab's solution.
//!
//! The files are written and reviewed with insta (`cargo insta review`) by the test that runs
//! every solution; `checker verify` and `checker grade` compare a transcript with the same
//! file through [`Comparison`].

use std::path::PathBuf;

use crate::diff;
use crate::info_file::LabInfo;
use crate::scenario::Failure;

/// Folder holding the `.snap` files, next to the checker's sources.
pub fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("snapshots")
}

/// The reviewed transcript of lab `dir` (`01-orders`), without insta's header.
pub fn expected(dir: &str) -> Option<String> {
    let text = std::fs::read_to_string(folder().join(format!("{dir}.snap"))).ok()?;
    Some(strip_header(&text))
}

/// The body of an insta snapshot file: everything after the `---` front matter.
fn strip_header(text: &str) -> String {
    let body = match text.strip_prefix("---\n") {
        Some(rest) => rest.split_once("\n---\n").map_or(rest, |(_, body)| body),
        None => text,
    };
    body.trim_end().to_string()
}

/// Whether `actual` matches `expected`, ignoring trailing whitespace at the end.
pub fn matches(expected: &str, actual: &str) -> bool {
    expected.trim_end() == actual.trim_end()
}

/// How a finished run's transcript compares with its lab's reviewed snapshot: the one
/// comparison `checker verify` and `checker grade` both make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// The transcript is the reviewed one.
    Matches,
    /// It differs: the diff, expected (-) against seen (+).
    Differs(String),
    /// The lab has no reviewed snapshot yet.
    NoSnapshot,
}

impl Comparison {
    /// Compares `transcript` with the reviewed snapshot of `lab`.
    pub fn of(lab: &LabInfo, transcript: &str) -> Comparison {
        match expected(&lab.dir()) {
            None => Comparison::NoSnapshot,
            Some(expected) if matches(&expected, transcript) => Comparison::Matches,
            Some(expected) => Comparison::Differs(diff::render(&expected, transcript)),
        }
    }

    /// The failure to report for `lab`; `None` when the transcript matches. It names no
    /// step: every step's check passed before the output was compared.
    pub fn failure(self, lab: &LabInfo) -> Option<Failure> {
        let (message, details) = match self {
            Comparison::Matches => return None,
            Comparison::Differs(diff) => (
                "every check passed, but the output differs from the reviewed solution's"
                    .to_string(),
                vec![diff],
            ),
            Comparison::NoSnapshot => (
                format!(
                    "lab {} has no reviewed snapshot yet (checker/snapshots/{}.snap): run the checker's tests and `cargo insta review`",
                    lab.number,
                    lab.dir()
                ),
                Vec::new(),
            ),
        };
        Some(Failure {
            step: None,
            message,
            details,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insta_front_matter_is_stripped() {
        let file = "---\nsource: checker/tests/labs.rs\nexpression: transcript\n---\n## producer\nsent x\n";
        assert_eq!(strip_header(file), "## producer\nsent x");
        assert_eq!(strip_header("## plain\n"), "## plain");
    }

    #[test]
    fn matching_ignores_trailing_whitespace() {
        assert!(matches("a\n", "a"));
        assert!(!matches("a", "b"));
    }
}
