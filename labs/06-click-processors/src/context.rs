//! Step 2: the rebalance callbacks.

// The names your code needs: unused until you write it.
#[allow(unused_imports)]
use rdkafka::{
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance},
    error::KafkaError,
    types::RDKafkaErrorCode,
    ClientContext,
};

/// The click processor's context: prints every rebalance as it reaches this member, and
/// commits before it gives partitions up.
///
/// rdkafka calls it from inside `recv()` (and from closing the consumer), so a line appears
/// only while the consumer is being polled.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClickContext;

impl ClientContext for ClickContext {}

// ANCHOR: todo
impl ConsumerContext for ClickContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        // TODO (step 2): when partitions are revoked, print `revoked [..]` with the ones
        // being taken away (lab_contract::assignment_line and lab_contract::partitions format
        // it). Then commit what this member received, and wait for the commit: the
        // partitions are still yours until this returns, and their next owner resumes from
        // the committed offsets.
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        // TODO (step 2): when partitions are assigned, print `assigned [..]` with the ones
        // received; report a rebalance error on stderr.
    }
}
// ANCHOR_END: todo
