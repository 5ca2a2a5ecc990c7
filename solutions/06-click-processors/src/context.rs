//! Step 2: the rebalance callbacks.

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;

/// The click processor's context: prints every rebalance as it reaches this member.
///
/// rdkafka calls it from inside `recv()` (and from closing the consumer), so a line appears
/// only while the consumer is being polled.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClickContext;

impl ClientContext for ClickContext {}

// ANCHOR: solution
impl ConsumerContext for ClickContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        // Printed while the partitions are still ours: once this returns, another member may
        // already be reading them.
        if let Rebalance::Revoke(list) = rebalance {
            let partitions = lab_contract::partitions(list);
            println!(
                "{}",
                lab_contract::assignment_line(None, "revoked", &partitions)
            );
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
