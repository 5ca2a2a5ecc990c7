//! The environment a lab reads: every variable's name, and the functions that read them.
//!
//! Each constant is named exactly like the variable it names, so a search for the variable
//! finds its one definition.

use std::fmt::Display;
use std::str::FromStr;

/// Where the broker's bootstrap servers listen (every lab).
pub const KAFKA_BOOTSTRAP_SERVERS: &str = "KAFKA_BOOTSTRAP_SERVERS";
/// The topic a lab reads or writes (every lab).
pub const KAFKA_TOPIC: &str = "KAFKA_TOPIC";
/// The consumer group a lab joins, where the group is not a command-line argument.
pub const KAFKA_GROUP_ID: &str = "KAFKA_GROUP_ID";
/// How many consumers of one group a process runs (labs 2 and 3).
pub const CONSUMER_GROUP_SIZE: &str = "CONSUMER_GROUP_SIZE";
/// How many consumers a process runs, each in its own task (lab 5).
pub const CONSUMERS: &str = "CONSUMERS";
/// How long the simulated processing of one message takes, in milliseconds (labs 5 and 7).
pub const PROCESSING_MS: &str = "PROCESSING_MS";
/// The `partition.assignment.strategy` a consumer configures (labs 6 and 10).
pub const ASSIGNOR: &str = "ASSIGNOR";
/// The `group.instance.id` of a static member (lab 9).
pub const INSTANCE_ID: &str = "INSTANCE_ID";
/// How many members the group will have, each a process of its own (lab 10).
pub const MEMBERS: &str = "MEMBERS";
/// The client settings a lab asks the client about, as `name=value` pairs separated by
/// commas (lab 11); the checker draws them per run.
pub const SETTINGS: &str = "SETTINGS";
/// The orders a plan deals out, separated by commas (lab 3); the checker draws them for
/// one of its plans.
pub const ORDERS: &str = "ORDERS";

/// Every variable of the contract: what the checker sets, and what a sandbox must let
/// through to a lab.
pub const ALL: [&str; 11] = [
    KAFKA_BOOTSTRAP_SERVERS,
    KAFKA_TOPIC,
    KAFKA_GROUP_ID,
    CONSUMER_GROUP_SIZE,
    CONSUMERS,
    PROCESSING_MS,
    ASSIGNOR,
    INSTANCE_ID,
    MEMBERS,
    SETTINGS,
    ORDERS,
];

/// The prefix of the Kafka variables. The checker removes every variable with it from the
/// environment it inherits, so a learner's own Kafka settings cannot leak into a run.
pub const KAFKA_PREFIX: &str = "KAFKA_";

/// The broker address: `$KAFKA_BOOTSTRAP_SERVERS`, or `localhost:9092` as in the seeds.
pub fn bootstrap_servers() -> String {
    std::env::var(KAFKA_BOOTSTRAP_SERVERS).unwrap_or_else(|_| "localhost:9092".to_string())
}

/// The topic: `$KAFKA_TOPIC`, or the lab's default name.
pub fn topic(default: &str) -> String {
    std::env::var(KAFKA_TOPIC).unwrap_or_else(|_| default.to_string())
}

/// The consumer group: `$KAFKA_GROUP_ID`, or the lab's default name.
pub fn group_id(default: &str) -> String {
    std::env::var(KAFKA_GROUP_ID).unwrap_or_else(|_| default.to_string())
}

/// A numeric or textual knob of a lab ([`CONSUMER_GROUP_SIZE`], [`PROCESSING_MS`], ...), read
/// from the environment with a default.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_is_listed_once() {
        for name in ALL {
            assert_eq!(ALL.iter().filter(|n| **n == name).count(), 1, "{name}");
        }
        assert!(ALL.iter().filter(|n| n.starts_with(KAFKA_PREFIX)).count() == 3);
    }
}
