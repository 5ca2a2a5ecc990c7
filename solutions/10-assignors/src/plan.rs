//! The prediction: which partitions each assignor puts together on one member, worked out
//! before the group forms.
//!
//! Member ids are handed out by the broker at random, so no program can know beforehand
//! which member gets what. What it can know is the grouping: which partitions end up
//! together. librdkafka's assignors sort the members by member id, so the grouping follows
//! from the member count and the partition count alone.

use std::str::FromStr;

/// The assignors this lab compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    /// Eager: each member gets a block of consecutive partitions.
    Range,
    /// Eager: the partitions are dealt out one by one, like cards.
    RoundRobin,
    /// Cooperative: balanced, and a rebalance moves only what must move.
    CooperativeSticky,
}

impl Assignor {
    /// The value of `partition.assignment.strategy`.
    pub fn config_name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }
}

impl FromStr for Assignor {
    type Err = ();

    fn from_str(name: &str) -> Result<Assignor, ()> {
        match name {
            "range" => Ok(Assignor::Range),
            "roundrobin" => Ok(Assignor::RoundRobin),
            "cooperative-sticky" => Ok(Assignor::CooperativeSticky),
            _ => Err(()),
        }
    }
}

/// The partitions of each of `members` members of a new group, for `partitions` partitions
/// of one topic: one list per member, in member order (sorted member ids).
pub fn predict(assignor: Assignor, members: usize, partitions: usize) -> Vec<Vec<i32>> {
    // ANCHOR: solution
    let mut plan = vec![Vec::new(); members];
    match assignor {
        Assignor::Range => {
            // Consecutive blocks; the first `partitions % members` members get one more.
            let (each, extra) = (partitions / members, partitions % members);
            let mut next = 0;
            for (m, owned) in plan.iter_mut().enumerate() {
                let take = each + usize::from(m < extra);
                owned.extend((next..next + take).map(|p| p as i32));
                next += take;
            }
        }
        // A new group has nothing to stick to: the sticky assignor hands each partition, in
        // order, to the member with the fewest so far, the first such member in member order.
        // That deals them out like roundrobin.
        Assignor::RoundRobin | Assignor::CooperativeSticky => {
            for p in 0..partitions {
                plan[p % members].push(p as i32);
            }
        }
    }
    plan
    // ANCHOR_END: solution
}

/// A prediction as one line: `[0, 1] [2, 3] [4]`.
pub fn show(plan: &[Vec<i32>]) -> String {
    plan.iter()
        .map(|owned| {
            let list: Vec<String> = owned.iter().map(i32::to_string).collect();
            format!("[{}]", list.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_hands_out_blocks_and_roundrobin_deals() {
        assert_eq!(show(&predict(Assignor::Range, 3, 5)), "[0, 1] [2, 3] [4]");
        assert_eq!(
            show(&predict(Assignor::RoundRobin, 3, 5)),
            "[0, 3] [1, 4] [2]"
        );
        assert_eq!(show(&predict(Assignor::Range, 2, 5)), "[0, 1, 2] [3, 4]");
    }
}
