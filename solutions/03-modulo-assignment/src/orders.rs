//! The orders of the interactive exercise.

/// The orders, in sending order: an order's index here is the `i` of "i % size".
pub const ORDERS: [&str; 5] = ["order1", "order2", "order3", "order4", "order5"];
