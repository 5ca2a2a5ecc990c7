//! Lines of the lab contract, read back: a figure's data lines are written in the format the
//! labs print (`assigned [0, 2]`, `sent order1 key=alice partition=2 offset=0`), so a learner
//! can draw a run of their own program.

use anyhow::{Context, Result};

/// Which way the partitions of an assignment line move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// `assigned [..]`: the member takes these partitions.
    Assigned,
    /// `revoked [..]`: the member gives these partitions up.
    Revoked,
}

/// Parses an assignment line, `assigned [0, 2]` or `consumer 1 revoked [1]`, into its member
/// label, its change and its partitions; `None` for any other line.
///
/// The lab contract's own parser reads it, as the checker's scenarios do, so a picture shows
/// exactly what a check sees.
pub(super) fn parse_assignment_line(line: &str) -> Option<(Option<usize>, Change, Vec<i32>)> {
    let parsed = lab_contract::AssignmentLine::parse(line.trim())?;
    let change = match parsed.event {
        lab_contract::Event::Assigned => Change::Assigned,
        lab_contract::Event::Revoked => Change::Revoked,
    };
    Some((parsed.member, change, parsed.partitions))
}

/// The value of the `key=value` word `key` among `words`.
pub(super) fn field<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words
        .iter()
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

/// The `partition=<p>` word among `words`, which a line about a message must have.
pub(super) fn partition_field(words: &[&str]) -> Result<usize> {
    let text = field(words, "partition").context("the event has no partition=<p>")?;
    text.parse()
        .with_context(|| format!("partition={text} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_lines_are_read_as_the_labs_print_them() {
        assert_eq!(
            parse_assignment_line("assigned [0, 2]"),
            Some((None, Change::Assigned, vec![0, 2]))
        );
        assert_eq!(
            parse_assignment_line("consumer 1 revoked [1]"),
            Some((Some(1), Change::Revoked, vec![1]))
        );
        assert_eq!(
            parse_assignment_line("revoked []"),
            Some((None, Change::Revoked, vec![]))
        );
        for other in [
            "assigned 0, 2",
            "assigned [a]",
            "consumer x assigned [1]",
            "sent [1]",
            "received c1 partition=0 offset=0",
        ] {
            assert_eq!(parse_assignment_line(other), None, "{other}");
        }
    }

    #[test]
    fn fields_are_key_value_words() {
        let words = ["sent", "order1", "key=alice", "partition=2"];
        assert_eq!(field(&words, "key"), Some("alice"));
        assert_eq!(field(&words, "offset"), None);
        assert_eq!(partition_field(&words).unwrap(), 2);
        assert!(partition_field(&["partition=x"]).is_err());
    }
}
