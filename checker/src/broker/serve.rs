//! `checker broker serve`: the embedded broker standing in for the `apache/kafka` image (see
//! `embedded_broker::stand_in`), for the container backend's tests where no registry can be
//! reached. The tests here check that it reads the environment the container backend gives
//! Kafka, and serves the admin requests Kafka has.

pub use embedded_broker::stand_in::{run, start_on_loopback, ServeOptions, Server};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::records::Outgoing;
    use crate::broker::{Broker, BrokerChoice};
    use embedded_broker::stand_in::Plan;

    #[test]
    fn the_plan_follows_the_kafka_image_environment() {
        let vars = crate::broker::container::kafka_env(40123);
        let env = |key: &str| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
        let plan = Plan::new(&ServeOptions::default(), env).unwrap();
        assert_eq!(plan.listen, "0.0.0.0:9092".parse().unwrap());
        assert_eq!(plan.advertise_host, "127.0.0.1");
        assert_eq!(plan.advertise_port, 40123);
        assert_eq!(plan.initial_rebalance_delay_ms, 0);
    }

    #[tokio::test]
    async fn the_stand_in_serves_the_admin_requests_kafka_has() {
        let server = start_on_loopback().await.unwrap();
        let address = server.local_addr().to_string();
        assert_eq!(server.advertised(), address);
        let broker = Broker::connect(&BrokerChoice::External(address.clone()))
            .await
            .unwrap();
        broker.create_topic("t-serve-abcdef12", 3).await.unwrap();
        assert_eq!(
            broker.end_offsets("t-serve-abcdef12").await.unwrap().len(),
            3
        );
        let error = broker
            .create_topic("t-serve-abcdef12", 3)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("exists already"), "{error}");
        broker.ensure_topic("t-serve-abcdef12", 3).await.unwrap();
        let record = Outgoing {
            key: Some("k".into()),
            partition: Some(2),
            payload: "v".into(),
            timestamp: None,
        };
        broker.produce("t-serve-abcdef12", &[record]).await.unwrap();
        let stored = broker.records("t-serve-abcdef12").await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].partition, stored[0].payload.as_str()), (2, "v"));
        // The run's topic is gone after the run, as on Kafka.
        broker.shutdown().await;
        let gone = tokio::task::spawn_blocking(move || {
            use rdkafka::consumer::{BaseConsumer, Consumer};
            let consumer: BaseConsumer = crate::broker::client_config(&address).create().unwrap();
            let metadata = consumer
                .fetch_metadata(Some("t-serve-abcdef12"), std::time::Duration::from_secs(5))
                .unwrap();
            metadata.topics()[0].error().is_some()
        })
        .await
        .unwrap();
        assert!(gone, "the topic is still served after the run");
    }
}
