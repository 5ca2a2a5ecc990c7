//! The lab contract, in code.
//!
//! Every lab binary, starter and solution alike, learns where Kafka is and which topic and
//! group to use from the environment, and reports what the group did in a fixed line format.
//! The checker sets the environment (fresh topic and group names for every run) and reads the
//! lines back. The contract is described for people in the book's "Lab contract" page; this
//! crate is the same contract for programs, so the two cannot drift. The checker depends on
//! this crate too: it sets the variables named in [`env`], creates the topics of [`TOPICS`],
//! and parses the lines with [`AssignmentLine::parse`].
//!
//! | variable                  | meaning                                   | default          |
//! |---------------------------|-------------------------------------------|------------------|
//! | `KAFKA_BOOTSTRAP_SERVERS` | where the broker listens                  | `localhost:9092` |
//! | `KAFKA_TOPIC`             | the topic the lab uses                    | the lab's own    |
//! | `KAFKA_GROUP_ID`          | the consumer group (where not an argument)| the lab's own    |
//!
//! A lab's own defaults (its topic with the partition count the course creates it with, and
//! its group) are in the modules [`lab01`] to [`lab12`].

mod assignment;
pub mod env;
mod labs;
mod signal;

pub use assignment::{assignment_line, partitions, AssignmentLine, AssignmentPrinter, Event};
pub use env::{bootstrap_servers, group_id, setting, topic};
pub use labs::{
    lab01, lab02, lab03, lab04, lab05, lab06, lab07, lab08, lab09, lab10, lab11, lab12,
    GroupTimers, Topic, TOPICS,
};
pub use signal::{close_together, shutdown_signal};
