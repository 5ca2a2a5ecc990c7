//! How long a scenario waits on the group protocol, derived from the broker's first-rebalance
//! delay and the lab's group timers rather than from numbers picked to look safe.
//!
//! Two kinds of wait. A *ceiling* ends a wait whose outcome is still open: the group may yet
//! form, the survivor may yet take over. It is generous, because a correct program that
//! misses it on a busy machine gets a wrong grade. A *grace* is how long the broker must
//! show a settled group before the program's silence about it is conclusive: it lets a
//! starter fail in seconds, with the reason, instead of at the ceiling.

use std::time::Duration;

use lab_contract::GroupTimers;

/// A lab process's time from spawn to its first request at the broker, with room for a
/// loaded machine: measured at about 0.1 s idle and under 1 s with both cores busy.
const PROCESS_START: Duration = Duration::from_secs(3);
/// Room for a machine busy with other work (a class being graded, a build) to schedule
/// the program, the broker and the checker.
const LOAD_SLACK: Duration = Duration::from_secs(3);

/// librdkafka's `fetch.wait.max.ms`: the longest a fetch waits for data.
const FETCH_WAIT: Duration = Duration::from_millis(500);

/// The waits of one lab's scenario on one broker.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    /// The broker's `group.initial.rebalance.delay.ms`.
    pub initial_delay: Duration,
    /// The group timers the lab asks its consumers to set.
    pub timers: GroupTimers,
}

impl Patience {
    /// `heartbeat.interval.ms`: how soon a member hears that the group rebalances.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.timers.heartbeat_interval_ms)
    }

    /// `session.timeout.ms`: how long a crashed member keeps its partitions.
    pub fn session(&self) -> Duration {
        Duration::from_millis(self.timers.session_timeout_ms)
    }

    /// One rebalance of a live group: every member hears of it at its next heartbeat and
    /// rejoins, and Kafka's coordinator completes it when the last one has.
    pub fn rebalance(&self) -> Duration {
        self.heartbeat() + LOAD_SLACK
    }

    /// Ceiling for a new group of `members` to settle: the processes start, the initial
    /// delay runs (extended once while members keep arriving), and each member that still
    /// came late costs one more rebalance.
    pub fn formation(&self, members: usize) -> Duration {
        PROCESS_START + self.initial_delay * 2 + self.rebalance() * members as u32
    }

    /// Ceiling for the survivors to own a crashed member's partitions: its session expires,
    /// then the group rebalances.
    pub fn takeover_after_crash(&self) -> Duration {
        self.session() + self.heartbeat() + self.rebalance()
    }

    /// Ceiling for the survivors to own a member's partitions after it left cleanly.
    pub fn takeover_after_leave(&self) -> Duration {
        self.rebalance() + self.heartbeat()
    }

    /// Grace: how long a consumer may hold assigned partitions with unread records on them
    /// and print nothing, before it counts as not reading them. A consumer fetches as soon as
    /// it is assigned, and librdkafka's fetch waits at most `fetch.wait.max.ms` (500 ms) for
    /// data that is already there: twice that, and room for a busy machine.
    pub fn reading(&self) -> Duration {
        FETCH_WAIT * 2 + LOAD_SLACK
    }

    /// Grace: how long the broker must show a group Stable, its partitions assigned, before
    /// a member that has not printed its assignment counts as not printing it at all. A
    /// member gets its assignment in the SyncGroup answer and a program prints it from the
    /// rebalance callback at its next poll; a member that joined late would have started a
    /// new rebalance within one heartbeat.
    pub fn silence(&self) -> Duration {
        self.initial_delay + self.heartbeat() * 2 + LOAD_SLACK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_follow_the_broker_and_the_lab() {
        let embedded = Patience {
            initial_delay: Duration::from_millis(300),
            timers: GroupTimers::FAST,
        };
        assert_eq!(embedded.silence(), Duration::from_millis(4300));
        assert_eq!(
            embedded.takeover_after_crash(),
            Duration::from_millis(10_000)
        );
        let kafka_defaults = Patience {
            initial_delay: Duration::from_millis(3000),
            timers: GroupTimers::LIBRDKAFKA_DEFAULTS,
        };
        assert!(kafka_defaults.formation(2) > embedded.formation(2));
        assert_eq!(
            kafka_defaults.takeover_after_crash(),
            Duration::from_secs(45 + 3 + 6)
        );
    }
}
