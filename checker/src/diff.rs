//! Line diffs of what was expected against what was seen, built on `similar`: a transcript
//! against its reviewed snapshot, or a program's lines against the lines a scenario wanted.

use console::style;
use similar::{ChangeTag, TextDiff};

/// A line diff of `expected` and `actual`, each line tagged: deleted lines were expected,
/// inserted ones were seen. Trailing whitespace at either end does not count.
pub fn lines(expected: &str, actual: &str) -> Vec<(ChangeTag, String)> {
    let expected = format!("{}\n", expected.trim_end());
    let actual = format!("{}\n", actual.trim_end());
    TextDiff::from_lines(&expected, &actual)
        .iter_all_changes()
        .map(|change| (change.tag(), change.value().trim_end().to_string()))
        .collect()
}

/// The diff of `expected` and `actual` as evidence for a report: `-` for expected lines, `+`
/// for seen ones, coloured on a terminal.
pub fn render(expected: &str, actual: &str) -> String {
    let mut text = String::from("expected (-) and seen (+):\n");
    for (tag, line) in lines(expected, actual) {
        let line = match tag {
            ChangeTag::Delete => style(format!("-{line}")).red().to_string(),
            ChangeTag::Insert => style(format!("+{line}")).green().to_string(),
            ChangeTag::Equal => format!(" {line}"),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_marks_what_changed() {
        let marked = console::strip_ansi_codes(&render("a\nb\nc", "a\nx\nc\n")).into_owned();
        assert_eq!(marked, "expected (-) and seen (+):\n a\n-b\n+x\n c\n");
    }
}
