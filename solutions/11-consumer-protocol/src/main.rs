//! Lab 11: the consumer protocol (KIP-848).
//!
//! One member of the group (default `parcel-trackers`) on the topic (default `parcels`),
//! joined with `group.protocol=consumer`. First it asks the client about each setting in
//! SETTINGS (by default the three the protocol moved to the broker) and prints whether the
//! client refuses it; then it prints every change to its assignment and every parcel it
//! receives, until SIGINT or SIGTERM.

mod consumer;

use lab_contract::lab11;

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic(lab11::TOPIC.name);
    let group = lab_contract::group_id(lab11::GROUP);
    for (setting, value) in lab11::asked_settings() {
        match consumer::refusal(&group, &setting, &value) {
            Some(reason) => println!("refused {setting}: {reason}"),
            None => println!("accepted {setting}"),
        }
    }
    let consumer = consumer::join(&topic, &group);
    consumer::run(&consumer).await;
    // Dropping the consumer closes it: it revokes its partitions and leaves the group.
}
