//! Lab 7: delivery semantics.
//!
//! `lab07-delivery-semantics at-most-once|at-least-once` runs one consumer of the group
//! (default `payment-processors`) on the topic (default `payments`) until SIGINT or SIGTERM.
//! It processes the payments one at a time, each taking PROCESSING_MS (default 250) of
//! simulated work, and commits so that a crash loses no payment (at-least-once) or
//! processes none twice (at-most-once). The checker kills it mid-stream, restarts it, and
//! counts from the broker's committed offset what was lost and what was processed twice.

mod consumer;
mod guarantee;
mod payment;

use std::time::Duration;

use guarantee::Guarantee;
use lab_contract::{env, lab07};

#[tokio::main]
async fn main() {
    let Some(guarantee) = std::env::args()
        .nth(1)
        .and_then(|a| a.parse::<Guarantee>().ok())
    else {
        eprintln!("usage: lab07-delivery-semantics at-most-once|at-least-once");
        std::process::exit(2);
    };
    let topic = lab_contract::topic(lab07::TOPIC.name);
    let group = lab_contract::group_id(lab07::GROUP);
    let work = Duration::from_millis(lab_contract::setting(env::PROCESSING_MS, 250));

    let consumer = consumer::join(guarantee, &topic, &group);
    consumer::consume(guarantee, &consumer, work).await;
    // Dropping the consumer closes it: it commits what is stored (at-least-once) and
    // leaves the group.
}
