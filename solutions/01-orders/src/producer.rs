//! Step 1: send every order, keyed by its customer.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

use crate::orders::ORDERS;

/// Sends `ORDERS` to `topic` in order, keyed by customer, and prints for each one
/// `sent <order> key=<customer> partition=<p> offset=<o>`.
pub async fn produce(topic: &str) {
    // ANCHOR: solution
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", lab_contract::bootstrap_servers())
        .create()
        .expect("producer creation failed");

    for (order, customer) in ORDERS {
        // Awaiting each delivery before the next send keeps the sending order, which is
        // the only order Kafka can preserve.
        let record = FutureRecord::to(topic).key(customer).payload(order);
        let delivery = producer
            .send(record, Duration::from_secs(10))
            .await
            .unwrap_or_else(|(e, _)| panic!("delivery of {order} failed: {e}"));
        println!(
            "sent {order} key={customer} partition={} offset={}",
            delivery.partition, delivery.offset
        );
    }
    // ANCHOR_END: solution
}
