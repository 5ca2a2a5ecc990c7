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

/// The timeline of the run that recorded lab `dir`'s reviewed snapshot, beside it:
/// `checker/snapshots/<dir>.timeline`. The book draws its rebalance pictures from it.
pub fn timeline_path(dir: &str) -> PathBuf {
    folder().join(format!("{dir}.timeline"))
}

/// A recorded timeline: the fingerprint of the snapshot body recorded with it, and its
/// `<seconds> <lane>: <event>` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedTimeline {
    /// [`fingerprint`] of the snapshot body the same run wrote.
    pub snapshot: String,
    /// The events, the run's nonce taken out.
    pub lines: Vec<String>,
}

/// The line of a timeline file that names the snapshot recorded with it.
const FINGERPRINT_PREFIX: &str = "# snapshot fingerprint: ";

/// Reads lab `dir`'s recorded timeline.
pub fn recorded_timeline(dir: &str) -> Option<RecordedTimeline> {
    let text = std::fs::read_to_string(timeline_path(dir)).ok()?;
    let snapshot = text
        .lines()
        .find_map(|line| line.strip_prefix(FINGERPRINT_PREFIX))?
        .to_string();
    let lines = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(str::to_string)
        .collect();
    Some(RecordedTimeline { snapshot, lines })
}

/// Writes the timeline of the run whose transcript `body` is lab `dir`'s snapshot: each
/// `-<nonce>` suffix removed (`click-1-050b7e04` reads `click-1`), any other nonce written
/// `<run>`, as in the snapshot.
pub fn record_timeline(
    dir: &str,
    body: &str,
    timeline: &[String],
    nonce: &str,
) -> std::io::Result<()> {
    let mut text = format!(
        "# The run of the solution that recorded checker/snapshots/{dir}.snap, as\n\
         # `<seconds> <lane>: <event>`. The book draws its timelines from it; the labs test\n\
         # rewrites it whenever it rewrites the snapshot (or RECORD_TIMELINES=1 is set).\n\
         {FINGERPRINT_PREFIX}{}\n",
        fingerprint(body)
    );
    for line in timeline {
        let line = if nonce.is_empty() {
            line.clone()
        } else {
            line.replace(&format!("-{nonce}"), "")
        };
        text.push_str(&crate::transcript::normalise_line(&line, nonce));
        text.push('\n');
    }
    std::fs::write(timeline_path(dir), text)
}

/// A fingerprint of a snapshot body (FNV-1a, 64 bits, in hex), ignoring trailing whitespace
/// as [`matches`] does: stable across Rust versions, unlike `DefaultHasher`.
pub fn fingerprint(body: &str) -> String {
    let hash = body
        .trim_end()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016x}")
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
    fn the_fingerprint_is_fnv1a_and_ignores_trailing_whitespace() {
        // FNV-1a 64 of the empty input is its offset basis; of "a", the published value.
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
        assert_eq!(fingerprint("## x\nline\n\n"), fingerprint("## x\nline"));
        assert_ne!(fingerprint("## x\nline"), fingerprint("## x\nline 2"));
    }

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
