//! Lab 9: static membership.
//!
//! One instance of the page-view counter: a member of the group (default `page-counters`) on
//! the topic (default `page-views`), known to the group by its instance id (INSTANCE_ID,
//! default `instance-1`). It prints its rebalances and every view it receives, until SIGINT
//! or SIGTERM; restarted within the session timeout, it gets its partitions back without a
//! rebalance. If another process takes over its instance id, it is fenced: it says so and
//! exits.

mod consumer;

use lab_contract::{env, lab09};

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic(lab09::TOPIC.name);
    let group = lab_contract::group_id(lab09::GROUP);
    let instance: String = lab_contract::setting(env::INSTANCE_ID, "instance-1".to_string());
    let consumer = consumer::join(&topic, &group, &instance);
    if let consumer::Ending::Fenced = consumer::run(&consumer).await {
        // Another process is this instance now; this one must not go on.
        std::process::exit(1);
    }
    // Dropping the consumer closes it: it commits, and as a static member it does not send
    // LeaveGroup, so its place waits for it for one session timeout.
}
