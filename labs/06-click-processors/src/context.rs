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

// ANCHOR: todo
impl ConsumerContext for ClickContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        // TODO: on `Rebalance::Revoke`, print `revoked [..]` with the partitions being taken
        // away (lab_contract::assignment_line and lab_contract::partitions format it).
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        // TODO: on `Rebalance::Assign`, print `assigned [..]` with the partitions received;
        // report a `Rebalance::Error` on stderr.
    }
}
// ANCHOR_END: todo
