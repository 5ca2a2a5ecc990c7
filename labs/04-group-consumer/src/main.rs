//! Lab 4: group consumer.
//!
//! The classic two-program demo in one binary: `producer <partition> <message>` writes one
//! message to one partition of the topic (default `some-topic`); `consumer <group_id> <count>`
//! joins that group, reads `count` messages and exits. The checker starts two consumers in
//! TEST_GROUP and one in OTHER_GROUP, then runs the producer four times.

mod consumer;
mod producer;

use lab_contract::lab04;

/// How to call this program, printed when the arguments do not fit.
const USAGE: &str = "usage: lab04-group-consumer producer <partition> <message>
       lab04-group-consumer consumer <group_id> <count>";

#[tokio::main]
async fn main() {
    let topic = lab_contract::topic(lab04::TOPIC.name);
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [role, partition, message] if role == "producer" => {
            let partition = partition.parse().unwrap_or_else(|_| usage());
            if let Err(e) = producer::produce(&topic, partition, message).await {
                eprintln!("delivery failed: {e}");
                std::process::exit(1);
            }
        }
        [role, group, count] if role == "consumer" => {
            let count = count.parse().unwrap_or_else(|_| usage());
            consumer::consume(&topic, group, count).await;
        }
        _ => usage(),
    }
}

/// Prints the usage to stderr and exits with status 2, the convention for bad arguments.
fn usage() -> ! {
    eprintln!("{USAGE}");
    std::process::exit(2);
}
