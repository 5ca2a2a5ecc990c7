//! Lab 1: orders and ordering.
//!
//! `produce` sends five orders keyed by customer; `consume` reads them back in a group.
//! The checker runs `produce`, then `consume`, with KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC and
//! KAFKA_GROUP_ID set.

mod consumer;
mod orders;
mod producer;

use lab_contract::lab01;

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic(lab01::TOPIC.name);
    match std::env::args().nth(1).as_deref() {
        Some("produce") => producer::produce(&topic).await,
        Some("consume") => consumer::consume(&topic, &lab_contract::group_id(lab01::GROUP)).await,
        _ => {
            eprintln!("usage: lab01-orders produce|consume");
            std::process::exit(2);
        }
    }
}
