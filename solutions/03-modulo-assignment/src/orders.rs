//! The orders of the interactive exercise.

/// The orders, in sending order: an order's index here is the `i` of "i % size". By
/// default the exercise's five; the checker also hands a plan orders of its own (`ORDERS`).
pub fn orders() -> Vec<String> {
    lab_contract::lab03::orders()
}
