//! The orders of the interactive exercise, each with the customer who placed it.

/// (order, customer): the customer is the message key, so one customer's orders share a partition.
pub const ORDERS: [(&str, &str); 5] = [
    ("order1", "alice"),
    ("order2", "erin"),
    ("order3", "alice"),
    ("order4", "trent"),
    ("order5", "erin"),
];
