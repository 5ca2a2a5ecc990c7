//! One member of the group: it joins, then processes whatever the broker assigns it.

use lab_contract::AssignmentPrinter;
// The names your code needs: unused until you write it.
#[allow(unused_imports)]
use rdkafka::{
    consumer::{CommitMode, Consumer, StreamConsumer},
    error::KafkaError,
    types::RDKafkaErrorCode,
    ClientConfig, Message,
};
use tokio::sync::watch;

/// A consumer whose rebalances are printed with its member number.
pub type Member = StreamConsumer<AssignmentPrinter>;

/// Creates consumer number `member`, a member of `group`, subscribed to `topic`.
pub fn join(member: usize, topic: &str, group: &str) -> Member {
    // ANCHOR: todo
    // TODO (step 1): create a `Member` from a `ClientConfig`:
    //  - it finds the broker at `lab_contract::bootstrap_servers()`;
    //  - it is a member of `group`, the same group as every other consumer of this program;
    //  - with no committed offset yet, it reads a partition from its beginning;
    //  - it uses the lab's group timers (a 6 s session, a heartbeat every 500 ms), so the
    //    others hear of a rebalance within half a second;
    //  - its context is `AssignmentPrinter { member: Some(member) }`, which prints
    //    `consumer <member> assigned [...]` and `revoked [...]` on every rebalance.
    // Then subscribe it to `topic` and return it.
    let _ = (member, topic, group);
    todo!("step 1: create consumer {member} in group {group}")
    // ANCHOR_END: todo
}

/// Prints `consumer <member> processed <order> partition=<p> offset=<o>` for every order
/// `consumer` receives, until `stop` is raised; then commits and hands the consumer back,
/// still a member of the group, for closing.
pub async fn process(member: usize, consumer: Member, mut stop: watch::Receiver<bool>) -> Member {
    // ANCHOR: process
    // TODO (step 2): loop until `stop` changes, receiving messages from `consumer`; for
    // each, print the `processed` line with the order (the message's value), its partition
    // and its offset. A raised flag must win over a message that is ready at the same
    // moment. After the loop, commit what this member processed, synchronously (a member
    // that processed nothing has nothing to commit: that is not an error), and return the
    // consumer without closing it: `main` closes them all once every one has committed.
    let _ = (&consumer, &mut stop);
    todo!("step 2: consumer {member} receives and prints its orders")
    // ANCHOR_END: process
}
