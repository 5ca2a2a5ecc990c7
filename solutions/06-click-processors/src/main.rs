//! Lab 6: click processors, rebalancing.
//!
//! One click processor, a member of KAFKA_GROUP_ID (default `click-processors`) on the topic
//! (default `user-clicks`), using the assignor from ASSIGNOR (default `cooperative-sticky`).
//! It prints every rebalance from its own ConsumerContext and every click it receives, until
//! SIGINT or SIGTERM. The checker runs two of them, then stops or kills one.

mod consumer;
mod context;

use lab_contract::{env, lab06};

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic(lab06::TOPIC.name);
    let group = lab_contract::group_id(lab06::GROUP);
    let assignor: String = lab_contract::setting(env::ASSIGNOR, "cooperative-sticky".to_string());

    println!("assignor {assignor}");
    let clicks = consumer::join(&topic, &group, &assignor);
    consumer::run(clicks).await;
}
