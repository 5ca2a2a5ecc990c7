//! Lab 1: orders and ordering.
//!
//! `produce` sends five orders keyed by customer; `consume` reads them back in a group.
//! The checker runs `produce`, then `consume`, with KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC and
//! KAFKA_GROUP_ID set.

mod consumer;
mod orders;
mod producer;

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic("orders");
    match std::env::args().nth(1).as_deref() {
        Some("produce") => producer::produce(&topic).await,
        Some("consume") => {
            consumer::consume(&topic, &lab_contract::group_id("order-readers")).await
        }
        _ => {
            eprintln!("usage: lab01-orders produce|consume");
            std::process::exit(2);
        }
    }
}
