//! Reading a lab's output lines in the contract's format. The assignment line itself is
//! parsed by the contract ([`lab_contract::AssignmentLine`]); this reads the rest, and replays
//! assignment lines into who owns what.

use std::collections::BTreeMap;

use lab_contract::{AssignmentLine, Event};

/// A line split into bare words and `key=value` fields:
/// `sent order1 key=alice partition=1` has words `sent order1` and two fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields<'l> {
    /// Tokens without `=`, in order.
    pub words: Vec<&'l str>,
    /// `key=value` tokens.
    pub fields: BTreeMap<&'l str, &'l str>,
}

impl<'l> Fields<'l> {
    /// Splits `line` on whitespace.
    pub fn parse(line: &'l str) -> Fields<'l> {
        let mut words = Vec::new();
        let mut fields = BTreeMap::new();
        for token in line.split_whitespace() {
            match token.split_once('=') {
                Some((key, value)) if !key.is_empty() => {
                    fields.insert(key, value);
                }
                _ => words.push(token),
            }
        }
        Fields { words, fields }
    }

    /// The field `key` parsed as a number.
    pub fn number(&self, key: &str) -> Option<i64> {
        self.fields.get(key)?.parse().ok()
    }

    /// The field `key` as text.
    pub fn text(&self, key: &str) -> Option<&'l str> {
        self.fields.get(key).copied()
    }
}

/// The second word of every line of `lines` whose first is `verb`: the payloads of
/// `received <payload> partition=<p> ...` lines, for `verb` = `received`.
pub fn payloads(lines: &[String], verb: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|line| match Fields::parse(line).words.as_slice() {
            [word, payload] if *word == verb => Some(payload.to_string()),
            _ => None,
        })
        .collect()
}

/// The partitions each member owns after replaying `lines` in order: assigned partitions
/// are added, revoked ones removed. This reads eager and cooperative rebalances alike.
pub fn ownership<'a>(
    lines: impl IntoIterator<Item = &'a String>,
) -> BTreeMap<Option<usize>, Vec<i32>> {
    let mut owned: BTreeMap<Option<usize>, Vec<i32>> = BTreeMap::new();
    for line in lines.into_iter().filter_map(|l| AssignmentLine::parse(l)) {
        apply(owned.entry(line.member).or_default(), &line);
    }
    owned
}

/// Applies one assignment line to what a member owns: assigned partitions are added (the
/// list stays sorted and free of repeats), revoked ones removed.
pub fn apply(owned: &mut Vec<i32>, line: &AssignmentLine) {
    match line.event {
        Event::Assigned => {
            owned.extend(&line.partitions);
            owned.sort_unstable();
            owned.dedup();
        }
        Event::Revoked => owned.retain(|p| !line.partitions.contains(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_split_words_and_values() {
        let line = Fields::parse("sent order1 key=alice partition=1 offset=0");
        assert_eq!(line.words, vec!["sent", "order1"]);
        assert_eq!(line.text("key"), Some("alice"));
        assert_eq!(line.number("partition"), Some(1));
        assert_eq!(line.number("key"), None);
        assert_eq!(line.number("missing"), None);
    }

    #[test]
    fn ownership_replays_eager_and_cooperative_rebalances() {
        let eager: Vec<String> = ["assigned [0, 1, 2]", "revoked [0, 1, 2]", "assigned [0, 1]"]
            .map(String::from)
            .to_vec();
        assert_eq!(ownership(&eager)[&None], vec![0, 1]);
        let cooperative: Vec<String> = [
            "consumer 0 assigned [0, 1, 2]",
            "consumer 0 revoked [2]",
            "consumer 1 assigned [2]",
            "received x",
        ]
        .map(String::from)
        .to_vec();
        let owned = ownership(&cooperative);
        assert_eq!(owned[&Some(0)], vec![0, 1]);
        assert_eq!(owned[&Some(1)], vec![2]);
    }
}
