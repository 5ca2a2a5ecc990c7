//! Step 2: read the orders back in a consumer group.

use crate::orders::ORDERS;

/// Reads `ORDERS.len()` orders from the start of `topic` as a member of `group`, prints
/// `received <order> key=<customer> partition=<p> offset=<o>` for each, commits and returns.
pub async fn consume(topic: &str, group: &str) {
    // ANCHOR: todo
    // TODO: create a StreamConsumer in `group` that starts from the earliest offset,
    // subscribe to `topic`, receive and print every order, then commit.
    let _ = (topic, group, ORDERS);
    todo!("read the orders back")
    // ANCHOR_END: todo
}
