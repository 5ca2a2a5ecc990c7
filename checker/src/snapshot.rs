//! The reviewed snapshots: the normalised transcript of each lab's solution.
//!
//! The files are written and reviewed with insta (`cargo insta review`) by the test that runs
//! every solution; `checker verify` compares a learner's transcript with the same file.

use std::path::PathBuf;

use similar::{ChangeTag, TextDiff};

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

/// A line diff of expected and actual transcripts: `-` expected, `+` seen.
pub fn diff(expected: &str, actual: &str) -> Vec<(ChangeTag, String)> {
    let expected = format!("{}\n", expected.trim_end());
    let actual = format!("{}\n", actual.trim_end());
    TextDiff::from_lines(&expected, &actual)
        .iter_all_changes()
        .map(|change| (change.tag(), change.value().trim_end().to_string()))
        .collect()
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
    fn the_diff_marks_what_changed() {
        let changes = diff("a\nb\nc", "a\nx\nc\n");
        let marked: Vec<String> = changes
            .iter()
            .map(|(tag, line)| {
                format!(
                    "{}{line}",
                    match tag {
                        ChangeTag::Delete => "-",
                        ChangeTag::Insert => "+",
                        ChangeTag::Equal => " ",
                    }
                )
            })
            .collect();
        assert_eq!(marked, vec![" a", "-b", "+x", " c"]);
        assert!(matches("a\n", "a"));
        assert!(!matches("a", "b"));
    }
}
