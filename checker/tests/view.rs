//! The group view (`checker view`, `checker broker up`): served on loopback, read-only, and
//! showing a group's members, partitions and timeline as they change, on the embedded
//! broker and on Apache Kafka.

mod browser;
mod kafka;
mod skip;
mod tools;

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use checker::broker::records::Outgoing;
use checker::broker::{client_config, Broker, BrokerChoice};
use checker::cargo_build::{Built, CargoBuild};
use checker::process::GroupGuard;
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

/// How soon, in live mode, a coordinator's event is in the view the page is sent.
const LIVE_WITHIN_MILLIS: i64 = 250;

async fn shows_a_group_and_its_rebalance(broker: Broker, tag: &str) {
    let live = broker.group_events();
    let is_live = live.is_some();
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
    let view = ViewServer::start(broker.bootstrap(), "the broker", 0, live)
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

    // view-b stops: a static member sends no LeaveGroup (KIP-345), so its session expires;
    // the survivor owns all three, and the timeline says so.
    drop(stop_b);
    if is_live {
        let expired = wait_until(&url, "view-b's expiry", |v| {
            group(v, &id).is_some_and(|g| {
                g["timeline"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["kind"] == "expired")
            })
        })
        .await;
        let event = group(&expired, &id).unwrap()["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "expired")
            .unwrap()
            .clone();
        let late = expired["polled_at"].as_i64().unwrap() - event["at"].as_i64().unwrap();
        assert!(
            (0..=LIVE_WITHIN_MILLIS).contains(&late),
            "the expiry reached the view {late} ms after the coordinator told it: {event}"
        );
        assert_eq!(
            event["text"],
            "view-b's session expired: no heartbeat for 6000 ms (session.timeout.ms)"
        );
        assert!(expired["source"].as_str().unwrap().starts_with("live"));
    }
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
    let gone = if is_live {
        "expired view-b's session expired"
    } else {
        "left view-b left, or its session expired"
    };
    assert!(
        timeline.iter().any(|e| e.starts_with(gone)),
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
async fn the_view_serves_its_page_answers_404_and_says_when_the_broker_is_gone_and_back() {
    let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
    let view = ViewServer::start(broker.bootstrap(), "the broker", 0, None)
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
    let taken = ViewServer::start(broker.bootstrap(), "the broker", port, None)
        .await
        .err()
        .unwrap();
    assert!(
        format!("{taken:#}").contains("is the port taken?"),
        "{taken:#}"
    );

    let address: std::net::SocketAddr = broker.bootstrap().parse().unwrap();
    drop(broker);
    wait_until(&url, "the view to say the broker is gone", |v| {
        v["disconnected"].is_string()
    })
    .await;

    // A broker back on the same address is read again, with no reload.
    let _back = embedded_broker::EmbeddedBroker::start_with(embedded_broker::Options {
        listen: address,
        ..embedded_broker::Options::default()
    })
    .unwrap();
    wait_until(&url, "the view to reconnect", |v| {
        v["disconnected"].is_null()
    })
    .await;
}

/// How long after the session timeout the page may take to show the survivor owning every
/// partition: the survivor hears of the rebalance at its next heartbeat (lab 6: 1 s at
/// most), rejoins and syncs, and the view reads the group at once and pushes it; 4 s
/// leaves room for a busy machine.
const HANDOVER_BOUND: Duration = Duration::from_secs(4);

/// One of lab 6's solution processes, killed with its process group when dropped.
struct ClickProcessor {
    child: std::process::Child,
    _group: GroupGuard,
}

impl ClickProcessor {
    fn start(program: &std::path::Path, bootstrap: &str, topic: &str, group: &str) -> Self {
        let child = std::process::Command::new(program)
            .env(lab_contract::env::KAFKA_BOOTSTRAP_SERVERS, bootstrap)
            .env(lab_contract::env::KAFKA_TOPIC, topic)
            .env(lab_contract::env::KAFKA_GROUP_ID, group)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let group = GroupGuard::new(child.id() as i32);
        ClickProcessor {
            child,
            _group: group,
        }
    }

    /// SIGKILL: no LeaveGroup, no goodbye; only the session timeout tells the broker.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ClickProcessor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The page's picture of one group, read from its DOM: each member row's partitions, and
/// the kinds of the timeline's entries.
const READ_GROUP: &str = r#"(() => {
  const card = document.querySelector(`.group[data-group="GROUP"]`);
  if (!card) return null;
  return {
    state: card.dataset.state,
    generation: Number(card.querySelector(".generation")?.dataset.generation ?? -1),
    members: [...card.querySelectorAll("tr.member")].map((row) =>
      [...row.querySelectorAll(".chip")].map((chip) => Number(chip.dataset.partition))),
    timeline: [...card.querySelectorAll(".timeline li[data-kind]")].map((li) =>
      `${li.dataset.kind} ${li.textContent}`),
    status: document.getElementById("status").dataset.status,
    source: document.getElementById("source").textContent,
  };
})()"#;

/// Reads the group from the page until `looks` holds, or panics after `limit` with what
/// the page showed last.
fn page_shows(
    page: &mut browser::Chromium,
    group: &str,
    what: &str,
    limit: Duration,
    looks: impl Fn(&Value) -> bool,
) -> Value {
    let expression = READ_GROUP.replace("GROUP", group);
    let deadline = Instant::now() + limit;
    loop {
        let seen = page.evaluate(&expression);
        if looks(&seen) {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "the page did not show {what} within {limit:?}; it shows {seen:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn partitions_of(seen: &Value) -> Vec<Vec<i64>> {
    let mut members: Vec<Vec<i64>> = seen["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| {
                    let mut owned: Vec<i64> = m
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| p.as_i64().unwrap())
                        .collect();
                    owned.sort();
                    owned
                })
                .collect()
        })
        .unwrap_or_default();
    members.sort();
    members
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_shows_lab_6s_crash_the_expiry_and_the_handover_live() {
    let Some(chromium) = browser::find() else {
        skip::missing(
            "chromium is not installed (Debian: apt-get install chromium)",
            "REQUIRE_BOOK_TOOLS",
        );
        return;
    };
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let built = CargoBuild::new(&root, "lab06-click-processors-solution")
        .program()
        .await
        .unwrap();
    let Built::Binary(program) = built else {
        panic!("lab 6's solution does not compile: {built:?}");
    };

    // 1. The broker with its view, as `cargo checker broker up` serves it.
    let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
    let (topic, group) = ("browser-clicks", "browser-click-processors");
    broker.create_topic(topic, 3).await.unwrap();
    let view = ViewServer::of(&broker, 0).await.unwrap();
    let mut page = browser::Chromium::open(
        &chromium,
        &view.url(),
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")),
    );

    // 2. Two of lab 6's click processors.
    let bootstrap = broker.bootstrap().to_string();
    let _survivor = ClickProcessor::start(&program, &bootstrap, topic, group);
    let mut doomed = ClickProcessor::start(&program, &bootstrap, topic, group);

    // 3. The page shows 2 members splitting the 3 partitions.
    let both = page_shows(
        &mut page,
        group,
        "2 members sharing 3 partitions",
        Duration::from_secs(60),
        |seen| {
            let split = partitions_of(seen);
            seen["state"] == "Stable"
                && split.len() == 2
                && split.iter().all(|owned| !owned.is_empty())
                && split.concat().len() == 3
        },
    );
    assert_eq!(both["status"], "live", "{both:#}");
    let formed = both["generation"].as_i64().unwrap();
    assert!(
        formed >= 1,
        "the page shows the group's generation: {both:#}"
    );
    assert!(
        both["source"].as_str().unwrap().starts_with("live"),
        "the page says where its events come from: {both:#}"
    );

    // 4. SIGKILL one: the page shows its session expiring, and the survivor owning all 3,
    // within lab 6's session timeout and the stated bound.
    let session_timeout = Duration::from_secs(6);
    let killed = Instant::now();
    doomed.kill();
    let after = page_shows(
        &mut page,
        group,
        "the expiry and the survivor owning all 3",
        session_timeout + HANDOVER_BOUND,
        |seen| {
            seen["state"] == "Stable"
                && partitions_of(seen) == [vec![0, 1, 2]]
                && seen["timeline"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|e| e.as_str().unwrap().starts_with("expired")))
        },
    );
    let took = killed.elapsed();
    assert!(
        after["generation"].as_i64().unwrap() > formed,
        "the handover is a new generation: {after:#}"
    );
    assert!(
        took >= session_timeout - Duration::from_millis(500),
        "the handover came before the session could expire ({took:?}): {after:#}"
    );
    let expiry = after["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .find(|e| e.starts_with("expired"))
        .unwrap()
        .to_string();
    assert!(
        expiry.contains("session expired: no heartbeat for 6000 ms"),
        "{expiry}"
    );
    eprintln!("the page showed the handover {took:?} after the SIGKILL");
}

#[tokio::test(flavor = "multi_thread")]
async fn group_watch_prints_the_group_again_when_it_changes_and_stops_on_ctrl_c() {
    use std::io::BufRead;
    let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
    let (topic, id) = ("watched", "watched-group");
    broker.create_topic(topic, 2).await.unwrap();
    // Piped, so it prints each change under a time line instead of redrawing.
    let mut watch = std::process::Command::new(env!("CARGO_BIN_EXE_checker"))
        .args(["group", id, "--watch", "--bootstrap", broker.bootstrap()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, seen) = std::sync::mpsc::channel::<String>();
    let stdout = watch.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for = |wanted: &str| {
        let deadline = Instant::now() + SHOWN;
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match seen.recv_timeout(left) {
                Ok(line) if line.contains(wanted) => return got,
                Ok(line) => got.push(line),
                Err(_) => panic!("group --watch printed no {wanted:?} in {SHOWN:?}: {got:#?}"),
            }
        }
    };
    let before = wait_for("does not exist");
    assert!(before.iter().any(|l| l.starts_with("--- ")), "{before:?}");
    let stop = keep_polling(vec![member(broker.bootstrap(), id, topic, "watched-a")]);
    wait_for("is Stable with 1 member");
    drop(stop);
    // Ctrl-C ends it at once, as it ends every checker command: status 130.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(watch.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = watch.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "group --watch ignored Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
}
