//! The group view (`checker view`, `checker broker up`): served on loopback, read-only, and
//! showing a group's members, partitions and timeline as they change, on the embedded
//! broker and on Apache Kafka.

mod kafka;
mod skip;

use std::time::{Duration, Instant};

use checker::broker::records::Outgoing;
use checker::broker::{client_config, Broker, BrokerChoice};
use checker::view::ViewServer;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the view may take to show a change: two polls, on a busy machine.
const SHOWN: Duration = Duration::from_secs(15);

/// `GET path` on the view at `url`: the status code and the body.
async fn get(url: &str, path: &str) -> (u16, String) {
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// The view's state, as the page gets it.
async fn state(url: &str) -> Value {
    let (status, body) = get(url, "/state").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Waits until `looks` holds of the view's state; panics with the last state after
/// [`SHOWN`].
async fn wait_until(url: &str, what: &str, looks: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + SHOWN;
    loop {
        let seen = state(url).await;
        if looks(&seen) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "waited {SHOWN:?} for {what}; the view shows {seen:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn group<'v>(view: &'v Value, id: &str) -> Option<&'v Value> {
    view["groups"].as_array()?.iter().find(|g| g["id"] == id)
}

/// The partitions each member owns, sorted.
fn split(group: &Value) -> Vec<Vec<i64>> {
    let mut owned: Vec<Vec<i64>> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let mut partitions: Vec<i64> = m["owned"]
                .as_array()
                .unwrap()
                .iter()
                .map(|tp| tp[1].as_i64().unwrap())
                .collect();
            partitions.sort();
            partitions
        })
        .collect();
    owned.sort();
    owned
}

fn member(bootstrap: &str, group: &str, topic: &str, instance: &str) -> BaseConsumer {
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", group)
        .set("group.instance.id", instance)
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "500")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    consumer
}

/// Polls `consumers` on a thread of their own until the returned sender is dropped, then
/// closes them.
fn keep_polling(consumers: Vec<BaseConsumer>) -> std::sync::mpsc::Sender<()> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut consumers = consumers;
        while matches!(
            stopped.try_recv(),
            Err(std::sync::mpsc::TryRecvError::Empty)
        ) {
            for consumer in &consumers {
                let _ = consumer.poll(Duration::from_millis(50));
            }
        }
        consumers.clear();
    });
    stop
}

async fn shows_a_group_and_its_rebalance(broker: Broker, tag: &str) {
    let (topic, id) = (format!("{tag}-views"), format!("{tag}-group"));
    broker.create_topic(&topic, 3).await.unwrap();
    broker
        .produce(
            &topic,
            &[
                Outgoing::to_partition(1, "v1"),
                Outgoing::to_partition(2, "v2"),
            ],
        )
        .await
        .unwrap();
    let view = ViewServer::start(broker.bootstrap(), "the broker", 0)
        .await
        .unwrap();
    let url = view.url();
    let seen = wait_until(&url, "the topic", |v| {
        v["topics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == topic.as_str())
    })
    .await;
    let partitions = &seen["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == topic.as_str())
        .unwrap()["partitions"];
    let ends: Vec<i64> = partitions
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["end"].as_i64().unwrap())
        .collect();
    assert_eq!(ends, [0, 1, 1]);

    let bootstrap = broker.bootstrap().to_string();
    let a = member(&bootstrap, &id, &topic, "view-a");
    let b = member(&bootstrap, &id, &topic, "view-b");
    let stop_b = keep_polling(vec![b]);
    let stop_a = keep_polling(vec![a]);
    let both = wait_until(&url, "two members sharing 3 partitions", |v| {
        group(v, &id).is_some_and(|g| {
            g["state"] == "Stable" && split(g).len() == 2 && split(g).concat().len() == 3
        })
    })
    .await;
    let described = group(&both, &id).unwrap();
    let mut instances: Vec<&str> = described["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["instance_id"].as_str().unwrap())
        .collect();
    instances.sort();
    assert_eq!(instances, ["view-a", "view-b"]);
    assert_eq!(described["protocol"], "classic");
    assert_eq!(described["assignor"], "range");

    // view-b leaves: the survivor owns all three, and the timeline says so.
    drop(stop_b);
    let after = wait_until(&url, "the survivor owning all 3", |v| {
        group(v, &id).is_some_and(|g| g["state"] == "Stable" && split(g) == [vec![0, 1, 2]])
    })
    .await;
    let timeline: Vec<String> = group(&after, &id).unwrap()["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["kind"].as_str().unwrap(),
                e["text"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        timeline.iter().any(|e| e.starts_with("left view-b left")),
        "{timeline:#?}"
    );
    assert!(
        timeline
            .iter()
            .any(|e| e.starts_with("assigned view-a was assigned")),
        "{timeline:#?}"
    );
    drop(stop_a);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_shows_a_group_and_its_rebalance_on_the_embedded_broker() {
    let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
    shows_a_group_and_its_rebalance(broker, "view-embedded").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_shows_a_group_and_its_rebalance_on_kafka() {
    if let Some(broker) = kafka::broker().await {
        shows_a_group_and_its_rebalance(broker, "view-kafka").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_view_serves_its_page_answers_404_and_says_when_the_broker_is_gone() {
    let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
    let view = ViewServer::start(broker.bootstrap(), "the broker", 0)
        .await
        .unwrap();
    let url = view.url();
    let (status, page) = get(&url, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains("<script src=\"/view.js\">"), "{page}");
    for asset in ["/view.js", "/view.css"] {
        assert_eq!(get(&url, asset).await.0, 200, "{asset}");
    }
    assert_eq!(get(&url, "/nothing-here").await.0, 404);
    wait_until(&url, "the view to read the broker", |v| {
        v["disconnected"].is_null() && v["polled_at"].as_i64() > Some(0)
    })
    .await;

    // A port already taken is refused with a clear error.
    let port: u16 = url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let taken = ViewServer::start(broker.bootstrap(), "the broker", port)
        .await
        .err()
        .unwrap();
    assert!(
        format!("{taken:#}").contains("is the port taken?"),
        "{taken:#}"
    );

    drop(broker);
    wait_until(&url, "the view to say the broker is gone", |v| {
        v["disconnected"].is_string()
    })
    .await;
}
