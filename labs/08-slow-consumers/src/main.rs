//! Lab 8: slow consumers.
//!
//! One consumer of the group (default `renderers`) on the topic (default `renders`) runs
//! render jobs until SIGINT or SIGTERM. A job is `<id> <milliseconds>`; most take a fraction
//! of a second, and some take longer than `max.poll.interval.ms`. The consumer must stay in
//! its group through them, keep its other partitions moving, and keep each partition's jobs
//! in order.

mod consumer;
mod job;

use lab_contract::lab08;

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic(lab08::TOPIC.name);
    let group = lab_contract::group_id(lab08::GROUP);
    let consumer = consumer::join(&topic, &group);
    consumer::run(&consumer).await;
    // Dropping the consumer closes it: it leaves the group.
}
