//! What the coordinator does to its groups, told as it happens: who joined, who left and
//! why, whose session expired, who was dropped for not rejoining within its rebalance
//! timeout, when a rebalance began and why, and each generation with its members and
//! assignment. The group view subscribes to these (`EmbeddedBroker::group_events`), so it
//! need not infer them from polls.
//!
//! The transitions note each event on their group (`Group::note`); the coordinator
//! publishes them once the change is made, so a subscriber that reads the group on hearing
//! of an event sees the change.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many events wait for a slow subscriber before it misses the oldest.
pub const BACKLOG: usize = 1024;

/// One thing that happened to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEvent {
    /// The group.
    pub group: String,
    /// When, in milliseconds since the epoch.
    pub at_millis: i64,
    /// What.
    pub what: Happened,
}

/// What happened to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happened {
    /// A member joined.
    Joined {
        /// Its member id.
        member: String,
        /// Its `client.id`.
        client_id: String,
        /// Its `group.instance.id`, if static.
        instance_id: Option<String>,
    },
    /// A static member restarted and took its instance id's place: the old member id is
    /// fenced.
    Replaced {
        /// The member id it had.
        old_member: String,
        /// The member id it has now.
        member: String,
        /// Its `group.instance.id`.
        instance_id: String,
    },
    /// A member sent LeaveGroup.
    Left {
        /// Its member id.
        member: String,
        /// The reason it gave (LeaveGroup v5+), if any.
        reason: Option<String>,
    },
    /// A member was not heard from within its `session.timeout.ms`.
    SessionExpired {
        /// Its member id.
        member: String,
        /// Its session timeout.
        session_timeout: Duration,
    },
    /// A member did not rejoin a rebalance within its rebalance timeout (the consumer's
    /// `max.poll.interval.ms`), and was dropped when the join phase ended.
    NotRejoined {
        /// Its member id.
        member: String,
        /// Its rebalance timeout.
        rebalance_timeout: Duration,
    },
    /// A member got its JoinGroup answer but did not send SyncGroup within the rebalance
    /// timeout.
    NotSynced {
        /// Its member id.
        member: String,
    },
    /// The group began a rebalance.
    RebalanceBegan {
        /// Why, in Kafka's words where it has some.
        reason: String,
    },
    /// The join phase ended: a new generation, its leader and members, and the assignor.
    GenerationFormed {
        /// The generation.
        generation: i32,
        /// The member that computes the assignment.
        leader: String,
        /// Its members' ids.
        members: Vec<String>,
        /// The assignor chosen.
        protocol: Option<String>,
    },
    /// The leader's SyncGroup gave each member its assignment; the group is Stable.
    Assigned {
        /// The generation.
        generation: i32,
        /// Each member's assignment, as the leader encoded it (for a consumer group, a
        /// `ConsumerProtocolAssignment`).
        assignments: Vec<(String, Vec<u8>)>,
    },
    /// The join phase ended with nobody: the group is Empty.
    Emptied {
        /// The generation it moved to.
        generation: i32,
    },
    /// The group changed state.
    State {
        /// Its new state's name, as DescribeGroups gives it.
        state: String,
    },
    /// The group was deleted (DeleteGroups).
    Deleted,
}

/// Now, in milliseconds since the epoch: the clock of [`GroupEvent::at_millis`], which the
/// group view compares with its own reads.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
