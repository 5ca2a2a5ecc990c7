//! Lines of the lab contract, read back: a figure's data lines are written in the format the
//! labs print (`assigned [0, 2]`, `sent order1 key=alice partition=2 offset=0`), so a learner
//! can draw a run of their own program. Assignment lines are read by the lab contract's own
//! parser ([`lab_contract::AssignmentLine`]), as the checker's scenarios read them, so a
//! picture shows exactly what a check sees.

use anyhow::{Context, Result};

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
        use lab_contract::{AssignmentLine, Event};
        let parse =
            |line: &str| AssignmentLine::parse(line).map(|l| (l.member, l.event, l.partitions));
        assert_eq!(
            parse("assigned [0, 2]"),
            Some((None, Event::Assigned, vec![0, 2]))
        );
        assert_eq!(
            parse("consumer 1 revoked [1]"),
            Some((Some(1), Event::Revoked, vec![1]))
        );
        assert_eq!(parse("revoked []"), Some((None, Event::Revoked, vec![])));
        for other in [
            "assigned 0, 2",
            "assigned [a]",
            "consumer x assigned [1]",
            "sent [1]",
            "received c1 partition=0 offset=0",
        ] {
            assert_eq!(parse(other), None, "{other}");
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
