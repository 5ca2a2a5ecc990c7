//! Step 1: the toy plan, with no Kafka in it.

use crate::orders::orders;

/// Prints `Order <order> is processed by consumer <c>` for each order, where `c` is the
/// order's index modulo `size`, the number of consumers.
pub fn plan(size: usize) {
    // ANCHOR: solution
    for (index, order) in orders().iter().enumerate() {
        println!("Order {order} is processed by consumer {}", index % size);
    }
    // ANCHOR_END: solution
}
