//! Step 1: send every order, keyed by its customer.

use crate::orders::ORDERS;

/// Sends `ORDERS` to `topic` in order, keyed by customer, and prints for each one
/// `sent <order> key=<customer> partition=<p> offset=<o>`.
pub async fn produce(topic: &str) {
    // ANCHOR: todo
    // TODO: create a FutureProducer for lab_contract::bootstrap_servers(), send each order
    // with its customer as the key, await the delivery and print where it landed.
    let _ = (topic, ORDERS);
    todo!("send the orders")
    // ANCHOR_END: todo
}
