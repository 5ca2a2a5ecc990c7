//! The assignment line: how a lab reports a rebalance, and how the checker reads it back.
//!
//! `assigned [0, 2]`, `revoked [1]`, or with a member label `consumer 1 assigned []`. The
//! formatter ([`assignment_line`]), the printer the labs use ([`AssignmentPrinter`]) and the
//! parser ([`AssignmentLine::parse`]) live side by side, so the format has one definition.

use std::fmt;

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, TopicPartitionList};

/// What happened to the partitions of an assignment line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// `assigned`: the member took the partitions.
    Assigned,
    /// `revoked`: the member gave the partitions up.
    Revoked,
}

impl Event {
    /// The word in the line: `assigned` or `revoked`.
    pub fn word(self) -> &'static str {
        match self {
            Event::Assigned => "assigned",
            Event::Revoked => "revoked",
        }
    }

    /// The event whose word is `word`.
    pub fn from_word(word: &str) -> Option<Event> {
        match word {
            "assigned" => Some(Event::Assigned),
            "revoked" => Some(Event::Revoked),
            _ => None,
        }
    }
}

/// One assignment line, parsed.
///
/// With the cooperative protocol the partitions are the ones that moved, not the whole
/// assignment: a reader adds assigned ones and removes revoked ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentLine {
    /// The member label, for processes that run several consumers; `None` for one.
    pub member: Option<usize>,
    /// Assigned or revoked.
    pub event: Event,
    /// The partitions, in the order printed.
    pub partitions: Vec<i32>,
}

impl AssignmentLine {
    /// Parses `assigned [0, 1]`, `revoked []`, `consumer 2 assigned [1]` (surrounding
    /// whitespace aside); `None` for any other line.
    pub fn parse(line: &str) -> Option<AssignmentLine> {
        let (head, list) = line.trim().split_once('[')?;
        let list = list.strip_suffix(']')?;
        let words: Vec<&str> = head.split_whitespace().collect();
        let (member, event) = match words.as_slice() {
            [event] => (None, *event),
            ["consumer", member, event] => (Some(member.parse().ok()?), *event),
            _ => return None,
        };
        let partitions = list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<i32>, _>>()
            .ok()?;
        Some(AssignmentLine {
            member,
            event: Event::from_word(event)?,
            partitions,
        })
    }
}

impl fmt::Display for AssignmentLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&assignment_line(
            self.member,
            self.event.word(),
            &self.partitions,
        ))
    }
}

/// The partitions of `list`, sorted, for printing.
pub fn partitions(list: &TopicPartitionList) -> Vec<i32> {
    let mut partitions: Vec<i32> = list.elements().iter().map(|e| e.partition()).collect();
    partitions.sort_unstable();
    partitions
}

/// One line of the assignment report, as the checker parses it:
/// `assigned [0, 2]`, `revoked [1]`, or with a member label `consumer 1 assigned []`.
///
/// `event` is `"assigned"` or `"revoked"`. `member` labels one of several consumers that share
/// a process; a process with a single consumer passes `None`.
pub fn assignment_line(member: Option<usize>, event: &str, partitions: &[i32]) -> String {
    let list = partitions
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    match member {
        Some(member) => format!("consumer {member} {event} [{list}]"),
        None => format!("{event} [{list}]"),
    }
}

/// A consumer context that prints every rebalance in the contract's format.
///
/// Revocations are printed before the partitions are given up, assignments after they are
/// taken, so a reader of the output never sees two members owning one partition at once.
/// With the cooperative protocol the lists are the partitions that moved, not the whole
/// assignment: add assigned ones, remove revoked ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssignmentPrinter {
    /// The member label printed in front of each line, when a process runs several consumers.
    pub member: Option<usize>,
}

impl AssignmentPrinter {
    fn print(&self, event: Event, list: &TopicPartitionList) {
        let line = AssignmentLine {
            member: self.member,
            event,
            partitions: partitions(list),
        };
        println!("{line}");
    }
}

impl ClientContext for AssignmentPrinter {}

impl ConsumerContext for AssignmentPrinter {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            self.print(Event::Revoked, list);
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => self.print(Event::Assigned, list),
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => eprintln!("rebalance error: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_lines_follow_the_contract() {
        assert_eq!(
            assignment_line(None, "assigned", &[0, 2]),
            "assigned [0, 2]"
        );
        assert_eq!(
            assignment_line(Some(3), "assigned", &[]),
            "consumer 3 assigned []"
        );
        assert_eq!(
            assignment_line(Some(0), "revoked", &[1]),
            "consumer 0 revoked [1]"
        );
    }

    #[test]
    fn assignment_lines_parse() {
        assert_eq!(
            AssignmentLine::parse("consumer 2 assigned [0, 1]"),
            Some(AssignmentLine {
                member: Some(2),
                event: Event::Assigned,
                partitions: vec![0, 1]
            })
        );
        assert_eq!(
            AssignmentLine::parse("  revoked []  "),
            Some(AssignmentLine {
                member: None,
                event: Event::Revoked,
                partitions: vec![]
            })
        );
        assert_eq!(
            AssignmentLine::parse("assigned [2,0]").map(|l| l.partitions),
            Some(vec![2, 0])
        );
    }

    #[test]
    fn other_lines_do_not_parse() {
        for line in [
            "received x partition=1",
            "assigned [a]",
            "assigned [1",
            "consumer x assigned [1]",
            "consumer 1 moved [1]",
            "member 1 assigned [1]",
            "assigned revoked [1]",
            "",
        ] {
            assert_eq!(AssignmentLine::parse(line), None, "{line:?}");
        }
    }

    #[test]
    fn a_formatted_line_parses_back() {
        for line in [
            AssignmentLine {
                member: Some(1),
                event: Event::Revoked,
                partitions: vec![0, 2],
            },
            AssignmentLine {
                member: None,
                event: Event::Assigned,
                partitions: vec![],
            },
        ] {
            assert_eq!(AssignmentLine::parse(&line.to_string()), Some(line));
        }
    }

    #[test]
    fn partitions_are_sorted() {
        let mut list = TopicPartitionList::new();
        list.add_partition("t", 2);
        list.add_partition("t", 0);
        assert_eq!(partitions(&list), vec![0, 2]);
    }
}
