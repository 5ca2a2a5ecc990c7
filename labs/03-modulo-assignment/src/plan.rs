//! Step 1: the toy plan, with no Kafka in it.

use crate::orders::orders;

/// Prints `Order <order> is processed by consumer <c>` for each order, where `c` is the
/// order's index modulo `size`, the number of consumers.
pub fn plan(size: usize) {
    // ANCHOR: todo
    // TODO: deal the orders out to `size` consumers by their index, like cards, and print
    // one line per order.
    let _ = (size, orders());
    todo!("print the plan")
    // ANCHOR_END: todo
}
