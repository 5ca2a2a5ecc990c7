//! Step 2: the rebalance callbacks.

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

/// The click processor's context: prints every rebalance as it reaches this member, and
/// commits before it gives partitions up.
///
/// rdkafka calls it from inside `recv()` (and from closing the consumer), so a line appears
/// only while the consumer is being polled.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClickContext;

impl ClientContext for ClickContext {}

// ANCHOR: solution
impl ConsumerContext for ClickContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        // Runs while the partitions are still ours: once this returns, another member may
        // already be reading them.
        if let Rebalance::Revoke(list) = rebalance {
            let partitions = lab_contract::partitions(list);
            println!(
                "{}",
                lab_contract::assignment_line(None, "revoked", &partitions)
            );
            // Commit what we received before letting go, and wait for it: whoever gets the
            // partitions next resumes right after, and nothing is received twice. Closing
            // the consumer revokes too, so this is also the commit on leaving.
            match consumer.commit_consumer_state(CommitMode::Sync) {
                // Nothing received since the last commit: nothing to commit.
                Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(e) => eprintln!("commit on revoke failed: {e}"),
            }
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        // Printed once the partitions are ours. With cooperative-sticky the list holds only
        // the partitions added, not the whole assignment.
        match rebalance {
            Rebalance::Assign(list) => {
                let partitions = lab_contract::partitions(list);
                println!(
                    "{}",
                    lab_contract::assignment_line(None, "assigned", &partitions)
                );
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => eprintln!("rebalance error: {e}"),
        }
    }
}
// ANCHOR_END: solution
