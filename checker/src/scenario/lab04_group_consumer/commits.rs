//! What lab 4's TEST_GROUP committed.

use std::collections::BTreeMap;

use crate::scenario::{Failure, Run};

/// TEST_GROUP committed at least one partition up to its end, and none beyond it.
///
/// Both partitions cannot be required. The member that leaves first starts a rebalance, and
/// the other member's final commit can race it: Kafka refuses a commit of the old
/// generation once the new one has formed (ILLEGAL_GENERATION), and one made between the
/// join and the sync (REBALANCE_IN_PROGRESS). The first commit, though, always reaches a
/// settled group, because each member commits before it leaves.
pub(super) async fn check_test_group_committed(
    run: &Run<'_>,
    group: &str,
    topic: &str,
) -> Result<(), Failure> {
    let committed = run.committed(group, topic).await?;
    let ends = run.end_offsets(topic).await?;
    let mut at_end = 0;
    for (partition, end) in &ends {
        match committed.get(partition).copied().flatten() {
            Some(offset) if offset > *end => {
                return Err(run.fail(format!(
                    "TEST_GROUP committed offset {offset} on partition {partition}, past its end ({end})"
                )))
            }
            Some(offset) if offset == *end => at_end += 1,
            _ => {}
        }
    }
    if at_end == 0 {
        return Err(run
            .fail(format!(
                "neither TEST_GROUP member committed its partition up to its end: the group committed {}",
                describe_offsets(&committed)
            ))
            .detail(
                "Commit what was read before the consumer exits (commit_consumer_state, or \
                 auto-commit, which commits on close), or the group reads it again next time.",
            ));
    }
    Ok(())
}

/// `partition 0 at 2, partition 1 nothing`.
fn describe_offsets(committed: &BTreeMap<i32, Option<i64>>) -> String {
    committed
        .iter()
        .map(|(partition, offset)| match offset {
            Some(offset) => format!("partition {partition} at {offset}"),
            None => format!("partition {partition} nothing"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
