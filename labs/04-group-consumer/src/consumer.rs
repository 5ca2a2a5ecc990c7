//! Step 2: the consumer, `count` messages read as a member of a group.

use lab_contract::AssignmentPrinter;

/// Joins `group` on `topic`, prints `Message from partition [<p>]: <message>` for each of
/// `count` messages, commits and returns. Rebalances are printed by `AssignmentPrinter`.
pub async fn consume(topic: &str, group: &str, count: usize) {
    // ANCHOR: todo
    // TODO: create a StreamConsumer in `group` with `AssignmentPrinter { member: None }` as its
    // context, starting from the earliest offset; subscribe to `topic`, print `count`
    // messages, then commit.
    let _ = (topic, group, count, AssignmentPrinter { member: None });
    todo!("read the messages")
    // ANCHOR_END: todo
}
