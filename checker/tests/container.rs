//! The container backend against a real Docker or Podman, with a local stand-in image.
//!
//! No registry is reachable where these tests run, so they cannot pull apache/kafka. They
//! build `localhost/kafka-course-test` instead: a FROM-scratch image holding the checker
//! binary (with its shared libraries), whose entrypoint `checker broker serve` is the
//! embedded broker listening where Kafka would, configured by the same environment. What is
//! tested does not depend on the image being Apache Kafka: engine use, readiness, the port
//! published on 127.0.0.1 only, a produce/read round trip through `Broker`, topic cleanup on
//! the session container, and that no container is left after a success, a failure, an
//! interrupted checker (SIGINT) or a killed one (SIGKILL).
//!
//! Without a working engine the tests pass without checking anything, and say so with a
//! boxed SKIPPED notice on stderr, unless `REQUIRE_CONTAINER=1` is set: then a missing
//! engine fails them.

mod skip;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use checker::broker::container::{ContainerBroker, ContainerInfo, Engine};
use checker::broker::records::Outgoing;
use checker::broker::{client_config, Broker, BrokerChoice};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::sync::{Mutex, OnceCell};

const TEST_IMAGE: &str = "localhost/kafka-course-test:latest";
/// Exits at once (a bad option): a container that dies while starting.
const BROKEN_IMAGE: &str = "localhost/kafka-course-test:broken";

/// The tests count containers, so they take turns.
static TURN: Mutex<()> = Mutex::const_new(());
/// The engine with the test images built, or why the tests cannot run.
static IMAGES: OnceCell<Result<Engine, String>> = OnceCell::const_new();

fn required() -> bool {
    std::env::var("REQUIRE_CONTAINER").is_ok_and(|v| v == "1")
}

fn checker_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_checker"))
}

/// The engine, with both test images built; `None` (the test is skipped, loudly) when there
/// is no usable engine and `REQUIRE_CONTAINER` is not set.
async fn engine() -> Option<Engine> {
    let found = IMAGES
        .get_or_init(|| async {
            let engine = match Engine::detect().await {
                Ok(engine) => engine,
                Err(e) if required() => panic!("REQUIRE_CONTAINER=1, but: {e}"),
                Err(e) => return Err(e.to_string()),
            };
            // The image runs `checker broker serve`: the binary must have it.
            let serves = std::process::Command::new(checker_binary())
                .args(["broker", "serve", "--help"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !serves {
                let why = "the checker binary has no `broker serve` command";
                assert!(!required(), "REQUIRE_CONTAINER=1, but {why}");
                return Err(why.to_string());
            }
            build_images(&engine);
            Ok(engine)
        })
        .await;
    match found {
        Ok(engine) => Some(engine.clone()),
        Err(why) => {
            skip::missing(why, "REQUIRE_CONTAINER");
            None
        }
    }
}

/// Builds the stand-in images from the checker binary and the shared libraries it needs.
fn build_images(engine: &Engine) {
    let context = scratch_dir("image");
    let binary = checker_binary();
    std::fs::copy(&binary, context.join("checker")).unwrap();
    let ldd = std::process::Command::new("ldd")
        .arg(&binary)
        .output()
        .expect("ldd lists the binary's libraries");
    for library in String::from_utf8_lossy(&ldd.stdout)
        .split_whitespace()
        .filter(|word| word.starts_with('/'))
    {
        let target = context.join("root").join(library.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(library, &target).unwrap();
    }
    for (tag, entrypoint) in [
        (TEST_IMAGE, r#"["/checker", "broker", "serve"]"#),
        (
            BROKEN_IMAGE,
            r#"["/checker", "broker", "serve", "--port", "not-a-port"]"#,
        ),
    ] {
        let file = context.join("Containerfile");
        std::fs::write(
            &file,
            format!("FROM scratch\nCOPY root/ /\nCOPY checker /checker\nENTRYPOINT {entrypoint}\n"),
        )
        .unwrap();
        let output = std::process::Command::new(engine.program())
            .args(["build", "--quiet", "--tag", tag, "--file"])
            .arg(&file)
            .arg(&context)
            // Docker's classic builder: it needs no buildx plugin.
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{} build {tag} failed: {}",
            engine.name(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::remove_dir_all(context).unwrap();
}

fn scratch_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "checker-container-{tag}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The course containers started by process `pid`.
async fn containers_of(engine: &Engine, pid: u32) -> Vec<ContainerInfo> {
    engine
        .course_containers()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.pid == Some(pid as i32) && c.role == "run")
        .collect()
}

/// Waits until process `pid` has no course container left.
async fn assert_no_container_of(engine: &Engine, pid: u32, after: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = containers_of(engine, pid).await;
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "containers left after {after}: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The local addresses listening on `port` (from /proc/net/tcp and tcp6).
fn listeners(port: u16) -> Vec<String> {
    let mut found = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(table) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in table.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            let Some((address, port_hex)) = local.rsplit_once(':') else {
                continue;
            };
            if *state == "0A" && u16::from_str_radix(port_hex, 16) == Ok(port) {
                found.push(address.to_string());
            }
        }
    }
    found
}

async fn topic_exists(bootstrap: &str, topic: &str) -> bool {
    let (bootstrap, topic) = (bootstrap.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let consumer: BaseConsumer = client_config(&bootstrap).create().unwrap();
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(5))
            .unwrap();
        metadata
            .topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none())
    })
    .await
    .unwrap()
}

fn container_choice(image: &str) -> BrokerChoice {
    BrokerChoice::Container {
        image: image.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_serves_on_loopback_only_and_is_removed_after_the_run() {
    let Some(engine) = engine().await else { return };
    let _turn = TURN.lock().await;

    let broker = Broker::connect(&container_choice(TEST_IMAGE))
        .await
        .expect("the container broker starts");
    let Broker::Container(container) = &broker else {
        panic!("not a container broker");
    };
    assert!(!container.is_session());
    let name = container.name().to_string();
    let port: u16 = broker
        .bootstrap()
        .strip_prefix("127.0.0.1:")
        .expect("published on 127.0.0.1")
        .parse()
        .unwrap();
    assert!(broker.describe().contains(&name), "{}", broker.describe());

    // The engine publishes the port on 127.0.0.1 and nowhere else.
    let mapping = std::process::Command::new(engine.program())
        .args(["port", &name])
        .output()
        .unwrap();
    let mapping = String::from_utf8_lossy(&mapping.stdout).to_string();
    assert!(
        mapping.contains(&format!("127.0.0.1:{port}")),
        "port mapping: {mapping}"
    );
    assert!(!mapping.contains("0.0.0.0"), "port mapping: {mapping}");
    for address in listeners(port) {
        // 0100007F is 127.0.0.1 in /proc's byte order; IPv4-mapped loopback in tcp6.
        assert!(
            address == "0100007F" || address == "0000000000000000FFFF00000100007F",
            "something listens on {address}:{port}"
        );
    }

    // A produce/read round trip through the broker, as a scenario does it.
    let topic = "round-trip-c0ffee42";
    broker.create_topic(topic, 2).await.unwrap();
    let outgoing: Vec<Outgoing> = (0..4)
        .map(|i| Outgoing {
            key: Some(format!("k{i}")),
            partition: Some(i % 2),
            payload: format!("v{i}"),
            timestamp: None,
        })
        .collect();
    let sent = broker.produce(topic, &outgoing).await.unwrap();
    let mut expected = sent.clone();
    expected.sort();
    assert_eq!(broker.records(topic).await.unwrap(), expected);
    let ends = broker.end_offsets(topic).await.unwrap();
    assert_eq!(ends.values().sum::<i64>(), 4);

    broker.shutdown().await;
    assert!(
        engine.inspect(&name).await.is_none(),
        "{name} is still there"
    );
    assert_no_container_of(&engine, std::process::id(), "a successful run").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_that_dies_while_starting_is_reported_and_removed() {
    let Some(engine) = engine().await else { return };
    let _turn = TURN.lock().await;

    let error = Broker::connect(&container_choice(BROKEN_IMAGE))
        .await
        .err()
        .expect("a container that exits is no broker");
    let message = format!("{error:#}");
    assert!(message.contains("stopped while starting"), "{message}");
    // Its last lines say why (here: clap's complaint about the port).
    assert!(message.contains("not-a-port"), "{message}");
    assert_no_container_of(&engine, std::process::id(), "a failed start").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_removes_its_container() {
    let Some(engine) = engine().await else { return };
    let _turn = TURN.lock().await;

    async fn failing_run() -> anyhow::Result<()> {
        let broker = Broker::connect(&container_choice(TEST_IMAGE)).await?;
        broker.create_topic("failing-run-0badf00d", 1).await?;
        // The run fails here, before `shutdown`: `broker` is dropped on the error path.
        anyhow::bail!("the scenario failed")
    }
    assert!(failing_run().await.is_err());
    assert_no_container_of(&engine, std::process::id(), "a failed run").await;
}

/// Starts `checker verify 1 --solution` on the stand-in image in its own process group (as
/// a terminal would), and waits until its container exists.
async fn checker_with_container(engine: &Engine) -> (tokio::process::Child, u32) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = tokio::process::Command::new(checker_binary());
    command
        .args([
            "verify",
            "1",
            "--solution",
            "--broker",
            "container",
            "--image",
        ])
        .arg(TEST_IMAGE)
        .env("CHECKER_ROOT", &root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let child = command.spawn().unwrap();
    let pid = child.id().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while containers_of(engine, pid).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the checker started no container"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, pid)
}

async fn assert_group_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    // Signal 0 to the group: fails with ESRCH once no process of it is left.
    while killpg(Pid::from_raw(pid as i32), None).is_ok() {
        assert!(
            Instant::now() < deadline,
            "processes of the checker's group are left"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_checker_removes_its_container() {
    let Some(engine) = engine().await else { return };
    let _turn = TURN.lock().await;

    let (mut child, pid) = checker_with_container(&engine).await;
    // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
    killpg(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the checker exits on SIGINT")
        .unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_no_container_of(&engine, pid, "SIGINT").await;
    assert_group_gone(pid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_checker_leaves_no_container() {
    let Some(engine) = engine().await else { return };
    let _turn = TURN.lock().await;

    let (mut child, pid) = checker_with_container(&engine).await;
    // No handler runs on SIGKILL: the watchdog removes the container.
    killpg(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    child.wait().await.unwrap();
    assert_no_container_of(&engine, pid, "SIGKILL").await;
    assert_group_gone(pid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_container_serves_runs_until_it_is_taken_down() {
    let Some(engine) = engine().await else { return };
    let _turn = TURN.lock().await;
    if engine.inspect("kafka-course").await.is_some() {
        assert!(
            !required(),
            "a session container (kafka-course) is in the way"
        );
        skip::announce(
            "a session container (kafka-course) is running already",
            "REQUIRE_CONTAINER",
        );
        return;
    }

    let (session, was_running) = ContainerBroker::up(TEST_IMAGE).await.unwrap();
    assert!(!was_running);
    assert!(session.is_session());
    let bootstrap = session.bootstrap().to_string();
    drop(session);
    // It outlives the broker that started it (and the checker process).
    let info = engine.inspect("kafka-course").await.expect("session stays");
    assert!(info.running);
    assert_eq!(info.bootstrap, bootstrap);

    let (again, was_running) = ContainerBroker::up(TEST_IMAGE).await.unwrap();
    assert!(was_running);
    let again = Broker::Container(again);
    again.ensure_topic("orders", 3).await.unwrap();
    again.ensure_topic("orders", 3).await.unwrap();
    drop(again);

    // A run uses the session container, and deletes what it created there.
    let run = Broker::connect(&container_choice(TEST_IMAGE))
        .await
        .unwrap();
    assert_eq!(run.bootstrap(), bootstrap);
    let topic = "session-run-5e55104a";
    run.create_topic(topic, 2).await.unwrap();
    assert!(topic_exists(&bootstrap, topic).await);
    run.shutdown().await;
    assert!(!topic_exists(&bootstrap, topic).await, "{topic} is left");
    assert!(
        topic_exists(&bootstrap, "orders").await,
        "course topic gone"
    );

    let removed = ContainerBroker::down().await.unwrap();
    assert!(removed.contains(&"kafka-course".to_string()), "{removed:?}");
    assert!(engine.inspect("kafka-course").await.is_none());
}
