//! Lab 2: group sizing.
//!
//! Starts CONSUMER_GROUP_SIZE consumers (default 2) in the group from KAFKA_GROUP_ID, each in
//! its own task, and prints every order each one processes, until SIGINT or SIGTERM. The
//! checker runs it with a group smaller and a group larger than the topic's partition count.

mod member;

use lab_contract::{env, lab02};
use tokio::sync::watch;

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic(lab02::TOPIC.name);
    let group = lab_contract::group_id(lab02::GROUP);
    let size: usize = lab_contract::setting(env::CONSUMER_GROUP_SIZE, 2);

    // One stop flag for every member, so that a single signal ends them all.
    let (stop, stopping) = watch::channel(false);
    let members: Vec<_> = (0..size)
        .map(|i| {
            let consumer = member::join(i, &topic, &group);
            tokio::spawn(member::process(i, consumer, stopping.clone()))
        })
        .collect();

    lab_contract::shutdown_signal().await;
    stop.send_replace(true);
    let mut committed = Vec::with_capacity(members.len());
    for member in members {
        committed.push(member.await.expect("a consumer task panicked"));
    }
    // Dropping a consumer closes it, and closing sends LeaveGroup, so the group rebalances at
    // once instead of waiting for a session to expire. Closing none before all have
    // committed matters: a leave starts a rebalance. Kafka accepts the others' commits while
    // it waits for them to rejoin, but once the new generation has formed, a commit from the
    // old one is refused (ILLEGAL_GENERATION).
    // Together: closed one by one, a member could wait in the rebalance that the previous
    // one started for members that have not begun to close (see close_together).
    lab_contract::close_together(committed).await;
}
