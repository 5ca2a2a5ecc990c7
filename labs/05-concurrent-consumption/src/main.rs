//! Lab 5: concurrent consumption.
//!
//! Runs CONSUMERS consumers (default 4) in one group, one task each: every consumer processes
//! its messages one at a time, each taking PROCESSING_MS (default 3000) of simulated work, and
//! commits each message after processing it. SIGINT or SIGTERM stops the group without
//! abandoning a message mid-processing; `stopped` is printed last.

mod group;
mod worker;

use std::time::Duration;

use lab_contract::{env, lab05};

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic(lab05::TOPIC.name);
    let group = lab_contract::group_id(lab05::GROUP);
    let consumers: usize = lab_contract::setting(env::CONSUMERS, 4);
    let work = Duration::from_millis(lab_contract::setting(env::PROCESSING_MS, 3000));

    group::run(&topic, &group, consumers, work).await;
    println!("stopped");
}
