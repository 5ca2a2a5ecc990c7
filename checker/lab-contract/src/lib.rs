//! The lab contract, in code.
//!
//! Every lab binary, starter and solution alike, learns where Kafka is and which topic and
//! group to use from the environment, and reports what the group did in a fixed line format.
//! The checker sets the environment (fresh topic and group names for every run) and reads the
//! lines back. The contract is described for people in the book's "Lab contract" page; this
//! crate is the same contract for programs, so the two cannot drift.
//!
//! | variable                  | meaning                                   | default          |
//! |---------------------------|-------------------------------------------|------------------|
//! | `KAFKA_BOOTSTRAP_SERVERS` | where the broker listens                  | `localhost:9092` |
//! | `KAFKA_TOPIC`             | the topic the lab uses                    | the lab's own    |
//! | `KAFKA_GROUP_ID`          | the consumer group (where not an argument)| the lab's own    |

use std::fmt::Display;
use std::str::FromStr;

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::{ClientContext, TopicPartitionList};

/// Environment variable naming the broker's bootstrap address.
pub const BOOTSTRAP_SERVERS_ENV: &str = "KAFKA_BOOTSTRAP_SERVERS";
/// Environment variable naming the topic a lab reads or writes.
pub const TOPIC_ENV: &str = "KAFKA_TOPIC";
/// Environment variable naming the consumer group a lab joins.
pub const GROUP_ID_ENV: &str = "KAFKA_GROUP_ID";

/// The broker address: `$KAFKA_BOOTSTRAP_SERVERS`, or `localhost:9092` as in the seeds.
pub fn bootstrap_servers() -> String {
    std::env::var(BOOTSTRAP_SERVERS_ENV).unwrap_or_else(|_| "localhost:9092".to_string())
}

/// The topic: `$KAFKA_TOPIC`, or the lab's default name.
pub fn topic(default: &str) -> String {
    std::env::var(TOPIC_ENV).unwrap_or_else(|_| default.to_string())
}

/// The consumer group: `$KAFKA_GROUP_ID`, or the lab's default name.
pub fn group_id(default: &str) -> String {
    std::env::var(GROUP_ID_ENV).unwrap_or_else(|_| default.to_string())
}

/// A numeric or textual knob of a lab (`CONSUMER_GROUP_SIZE`, `PROCESSING_MS`, ...), read from
/// the environment with a default.
///
/// # Panics
/// When the variable is set but does not parse: a typo in a knob should stop the lab loudly
/// rather than run it with a value nobody asked for.
pub fn setting<T>(name: &str, default: T) -> T
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|e| panic!("{name}={text:?} is not valid: {e}")),
        Err(_) => default,
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

impl ClientContext for AssignmentPrinter {}

impl ConsumerContext for AssignmentPrinter {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            println!(
                "{}",
                assignment_line(self.member, "revoked", &partitions(list))
            );
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                println!(
                    "{}",
                    assignment_line(self.member, "assigned", &partitions(list))
                );
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => eprintln!("rebalance error: {e}"),
        }
    }
}

/// Resolves when the process is asked to stop with SIGINT (Ctrl-C) or SIGTERM.
///
/// The checker stops long-running labs with SIGTERM and expects them to leave their group
/// cleanly; a terminal user presses Ctrl-C. Both mean the same here.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
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
    fn partitions_are_sorted() {
        let mut list = TopicPartitionList::new();
        list.add_partition("t", 2);
        list.add_partition("t", 0);
        assert_eq!(partitions(&list), vec![0, 2]);
    }
}
