//! Lab 3: modulo assignment, and making Kafka agree.
//!
//! `plan` prints the toy plan "order i goes to consumer i % CONSUMER_GROUP_SIZE"; `produce`
//! sends order i to partition i % (the topic's partition count); `consume` runs
//! CONSUMER_GROUP_SIZE consumers in one group until SIGINT or SIGTERM. The checker runs
//! `plan`, then `consume` and `produce` together, and compares what the group did with the plan.

mod group;
mod orders;
mod plan;
mod producer;

use lab_contract::{env, lab03};

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic(lab03::TOPIC.name);
    let size: usize = lab_contract::setting(env::CONSUMER_GROUP_SIZE, 2);
    match std::env::args().nth(1).as_deref() {
        Some("plan") => plan::plan(size),
        Some("produce") => producer::produce(&topic).await,
        Some("consume") => {
            group::consume(&topic, &lab_contract::group_id(lab03::GROUP), size).await
        }
        _ => {
            eprintln!("usage: lab03-modulo-assignment plan|produce|consume");
            std::process::exit(2);
        }
    }
}
