//! Each lab's own names: the topic it uses (with the partition count the course creates it
//! with) and the group it joins, when the checker does not set them.
//!
//! They live here, not in `labs/info.toml`, because programs need them: a lab's `main`
//! falls back on them when `KAFKA_TOPIC` or `KAFKA_GROUP_ID` is unset, the checker's
//! scenarios create topics of the same shape, and `checker broker up` creates [`TOPICS`]. As
//! constants the compiler checks every use, and no program has to find and parse a file.

/// A topic of the course: its default name, and how many partitions the course gives it.
///
/// The partition count is part of the lesson (three partitions for two consumers split
/// 2 + 1, four for a round-robin deal...), so a scenario creates its fresh topics with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Topic {
    /// The name a lab uses when `KAFKA_TOPIC` is unset.
    pub name: &'static str,
    /// The partitions the course creates it with.
    pub partitions: i32,
}

/// The group timers a lab's consumers are asked to set (`session.timeout.ms`,
/// `heartbeat.interval.ms`): its chapter and hints give them, the solution sets them, and the
/// checker derives how long to wait for the group protocol from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupTimers {
    /// `session.timeout.ms`: how long the coordinator waits to hear from a member before
    /// declaring it dead.
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`: how often a member tells the coordinator it is alive, and
    /// so how soon it hears of a rebalance.
    pub heartbeat_interval_ms: u64,
}

impl GroupTimers {
    /// librdkafka's defaults, for a lab that sets none.
    pub const LIBRDKAFKA_DEFAULTS: GroupTimers = GroupTimers {
        session_timeout_ms: 45_000,
        heartbeat_interval_ms: 3_000,
    };
    /// The course's fast timers: the smallest session timeout a default Kafka broker
    /// accepts (`group.min.session.timeout.ms`), a heartbeat a twelfth of it.
    pub const FAST: GroupTimers = GroupTimers {
        session_timeout_ms: 6_000,
        heartbeat_interval_ms: 500,
    };
}

/// Lab 1, orders: keyed orders, read back in order per key.
pub mod lab01 {
    use super::{GroupTimers, Topic};

    /// Three partitions for the three customers, whose keys librdkafka's partitioner
    /// spreads over all three.
    pub const TOPIC: Topic = Topic {
        name: "orders",
        partitions: 3,
    };
    /// The group that reads the orders back.
    pub const GROUP: &str = "order-readers";
    /// One consumer, no rebalance to wait for: librdkafka's defaults.
    pub const TIMERS: GroupTimers = GroupTimers::LIBRDKAFKA_DEFAULTS;
}

/// Lab 2, group sizing: a group smaller and a group larger than the partition count.
pub mod lab02 {
    use super::{GroupTimers, Topic};

    /// Lab 1's topic: three partitions, so two members split 2 + 1 and a fourth is idle.
    pub const TOPIC: Topic = super::lab01::TOPIC;
    /// The group the members share.
    pub const GROUP: &str = "order-processors";
    /// A group of up to four in one process.
    pub const TIMERS: GroupTimers = GroupTimers::FAST;
}

/// Lab 3, modulo assignment: a real group that agrees with the plan `index % size`.
pub mod lab03 {
    use super::{GroupTimers, Topic};

    /// Four partitions for a group of two: roundrobin deals them out as [0, 2] and [1, 3].
    pub const TOPIC: Topic = Topic {
        name: "orders-by-index",
        partitions: 4,
    };
    /// The group the members share.
    pub const GROUP: &str = "order-processors";
    /// A group of consumers in one process.
    pub const TIMERS: GroupTimers = GroupTimers::FAST;
    /// The orders of the interactive exercise, in sending order.
    pub const ORDERS: [&str; 5] = ["order1", "order2", "order3", "order4", "order5"];

    /// The orders to deal out: `ORDERS` from the environment (comma-separated; the checker
    /// draws them for one of its plans), else [`ORDERS`].
    pub fn orders() -> Vec<String> {
        match std::env::var(crate::env::ORDERS) {
            Ok(list) => list
                .split(',')
                .map(str::trim)
                .filter(|order| !order.is_empty())
                .map(str::to_string)
                .collect(),
            Err(_) => ORDERS.iter().map(|order| order.to_string()).collect(),
        }
    }
}

/// Lab 4, group consumer: two groups read one topic independently. The group is the
/// consumer's first argument, so there is no default group.
pub mod lab04 {
    use super::{GroupTimers, Topic};

    /// The seed's topic, with two partitions.
    pub const TOPIC: Topic = Topic {
        name: "some-topic",
        partitions: 2,
    };
    /// The seed's group of two members, which split the partitions.
    pub const TEST_GROUP: &str = "TEST_GROUP";
    /// The seed's group of one member, which reads everything.
    pub const OTHER_GROUP: &str = "OTHER_GROUP";
    /// Two groups of separate processes.
    pub const TIMERS: GroupTimers = GroupTimers::FAST;
}

/// Lab 5, concurrent consumption: partitions as the unit of parallelism.
pub mod lab05 {
    use super::{GroupTimers, Topic};

    /// The seed's topic: four partitions, one for each of the lab's default four consumers.
    pub const TOPIC: Topic = Topic {
        name: "topic1",
        partitions: 4,
    };
    /// The seed's group.
    pub const GROUP: &str = "group1";
    /// Four consumers that commit after processing.
    pub const TIMERS: GroupTimers = GroupTimers::FAST;
}

/// Lab 6, click processors: rebalancing after a clean leave and after a crash.
pub mod lab06 {
    use super::{GroupTimers, Topic};

    /// The seed's topic: three partitions, split 2 + 1 between two instances.
    pub const TOPIC: Topic = Topic {
        name: "user-clicks",
        partitions: 3,
    };
    /// The seed's group.
    pub const GROUP: &str = "click-processors";
    /// The seed's crash is noticed after the session timeout: 6 s, heartbeat every second.
    pub const TIMERS: GroupTimers = GroupTimers {
        session_timeout_ms: 6_000,
        heartbeat_interval_ms: 1_000,
    };
}

/// Lab 7, delivery semantics: at-most-once, at-least-once and the offset store.
pub mod lab07 {
    use super::{GroupTimers, Topic};

    /// One partition: one sequence of payments, so "lost" and "twice" are read off offsets.
    pub const TOPIC: Topic = Topic {
        name: "payments",
        partitions: 1,
    };
    /// The group whose committed offset says where a restarted consumer resumes.
    pub const GROUP: &str = "payment-processors";
    /// A restarted consumer waits for the crashed one's session to expire.
    pub const TIMERS: GroupTimers = GroupTimers::FAST;
    /// `auto.commit.interval.ms` for the at-least-once consumer: how much work a crash can
    /// make it repeat (librdkafka's default is 5000).
    pub const AUTO_COMMIT_INTERVAL_MS: u64 = 1000;
}

/// Lab 8, slow consumers: a job longer than `max.poll.interval.ms`.
pub mod lab08 {
    use super::{GroupTimers, Topic};

    /// Two partitions: one is held up by the slow job, the other must keep moving.
    pub const TOPIC: Topic = Topic {
        name: "renders",
        partitions: 2,
    };
    /// The group of the render consumer.
    pub const GROUP: &str = "renderers";
    /// One consumer that must not leave its group.
    pub const TIMERS: GroupTimers = GroupTimers::FAST;
    /// `max.poll.interval.ms`: the smallest librdkafka accepts with the course's session
    /// timeout (it must be at least `session.timeout.ms`).
    pub const MAX_POLL_INTERVAL_MS: u64 = 6000;
}

/// Lab 9, static membership: restarts without rebalances, and fencing.
pub mod lab09 {
    use super::{GroupTimers, Topic};

    /// Four partitions, two for each of the two instances.
    pub const TOPIC: Topic = Topic {
        name: "page-views",
        partitions: 4,
    };
    /// The group of the two instances.
    pub const GROUP: &str = "page-counters";
    /// A restart must come back within the session timeout to keep its place.
    pub const TIMERS: GroupTimers = GroupTimers::FAST;
}

/// Lab 10, assignors side by side: range, roundrobin and cooperative-sticky on one group shape.
pub mod lab10 {
    use super::{GroupTimers, Topic};

    /// Five partitions for three members: the assignors differ in who gets the extra ones.
    pub const TOPIC: Topic = Topic {
        name: "tickets",
        partitions: 5,
    };
    /// The group the members share.
    pub const GROUP: &str = "ticket-triage";
    /// Members in processes of their own.
    pub const TIMERS: GroupTimers = GroupTimers::FAST;
}

/// Lab 11, the consumer protocol (KIP-848): server-side assignment, incremental changes.
pub mod lab11 {
    use super::Topic;

    /// Four partitions: two members split them, a third takes some without stopping them.
    pub const TOPIC: Topic = Topic {
        name: "parcels",
        partitions: 4,
    };
    /// The group the members share.
    pub const GROUP: &str = "parcel-trackers";
    /// The client settings the consumer protocol moves to the broker, each with a value a
    /// classic consumer might set: librdkafka refuses to create a consumer-protocol consumer
    /// with any of them.
    pub const BROKER_SIDE_SETTINGS: [(&str, &str); 3] = [
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "500"),
        ("partition.assignment.strategy", "range"),
    ];

    /// The settings to ask the client about: `SETTINGS` (`name=value,name=value`, which
    /// the checker draws per run, mixing these with settings the client accepts), or
    /// [`BROKER_SIDE_SETTINGS`] when it is not set.
    pub fn asked_settings() -> Vec<(String, String)> {
        match std::env::var(crate::env::SETTINGS) {
            Ok(list) => parse_settings(&list),
            Err(_) => BROKER_SIDE_SETTINGS
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        }
    }

    /// `name=value,name=value` as pairs; an item without `=` is a name with an empty value.
    pub fn parse_settings(list: &str) -> Vec<(String, String)> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| match item.split_once('=') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None => (item.to_string(), String::new()),
            })
            .collect()
    }

    /// The inverse of [`parse_settings`].
    pub fn format_settings(settings: &[(String, String)]) -> String {
        settings
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Lab 12, lag and offsets: a tool like `kafka-consumer-groups --describe` and
/// `--reset-offsets`.
pub mod lab12 {
    use super::Topic;

    /// Three partitions, whose lags differ.
    pub const TOPIC: Topic = Topic {
        name: "invoices",
        partitions: 3,
    };
    /// The group whose offsets the tool reads and resets.
    pub const GROUP: &str = "invoice-billing";
}

/// Every topic the labs use under its default name, once (lab 2 shares lab 1's), for
/// `checker broker up`, which creates them so the labs can run by hand.
pub const TOPICS: [Topic; 11] = [
    lab01::TOPIC,
    lab03::TOPIC,
    lab04::TOPIC,
    lab05::TOPIC,
    lab06::TOPIC,
    lab07::TOPIC,
    lab08::TOPIC,
    lab09::TOPIC,
    lab10::TOPIC,
    lab11::TOPIC,
    lab12::TOPIC,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lab_topic_is_created_once() {
        let used = [
            lab01::TOPIC,
            lab02::TOPIC,
            lab03::TOPIC,
            lab04::TOPIC,
            lab05::TOPIC,
            lab06::TOPIC,
        ];
        for topic in used {
            assert!(TOPICS.contains(&topic), "{topic:?} is not in TOPICS");
        }
        for topic in TOPICS {
            let same_name = TOPICS.iter().filter(|t| t.name == topic.name).count();
            assert_eq!(same_name, 1, "{} is listed twice", topic.name);
        }
    }
}
