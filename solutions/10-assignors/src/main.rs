//! Lab 10: assignors side by side.
//!
//! One member of a group of MEMBERS (default 3) on the topic (default `tickets`), using the
//! assignor ASSIGNOR (`range`, `roundrobin` or `cooperative-sticky`). Before joining, it
//! prints which partitions it predicts end up together on one member; then it prints every
//! rebalance, until SIGINT or SIGTERM. The checker starts the members, compares the
//! prediction with what the group did, and stops one member to watch the others rebalance.

mod plan;

use std::time::Duration;

use lab_contract::{env, lab10, AssignmentPrinter};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::ClientConfig;

use plan::Assignor;

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic(lab10::TOPIC.name);
    let group = lab_contract::group_id(lab10::GROUP);
    let members: usize = lab_contract::setting(env::MEMBERS, 3);
    let name: String = lab_contract::setting(env::ASSIGNOR, "range".to_string());
    let Ok(assignor) = name.parse::<Assignor>() else {
        eprintln!("ASSIGNOR must be range, roundrobin or cooperative-sticky, not {name:?}");
        std::process::exit(2);
    };

    let consumer: StreamConsumer<AssignmentPrinter> = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .set("group.id", &group)
        .set("partition.assignment.strategy", assignor.config_name())
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create_with_context(AssignmentPrinter { member: None })
        .expect("consumer creation failed");

    let partitions = partition_count(&consumer, &topic);
    let prediction = plan::predict(assignor, members, partitions);
    println!("predicted {}", plan::show(&prediction));

    consumer.subscribe(&[&topic]).expect("subscribe failed");
    let shutdown = lab_contract::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            // Rebalances are printed from inside recv(); the messages themselves are not
            // this lab's business.
            received = consumer.recv() => if let Err(e) = received {
                eprintln!("receive failed: {e}");
            },
        }
    }
}

/// How many partitions `topic` has, from the broker's metadata.
fn partition_count(consumer: &StreamConsumer<AssignmentPrinter>, topic: &str) -> usize {
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata request failed");
    metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len())
        .unwrap_or_else(|| panic!("the broker did not describe {topic}"))
}
