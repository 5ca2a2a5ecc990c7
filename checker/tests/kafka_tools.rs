//! Kafka's own tools and Java clients against the embedded broker, as a learner who follows
//! any Kafka tutorial would use them: `kafka-consumer-groups` (list, describe, reset), the
//! console consumer in a group, and `VerifiableConsumer` sharing a group with a librdkafka
//! member. Their numbers must agree with `checker group`.
//!
//! The tools are Java programs from `kafka-tools`, in the installation `$KAFKA_HOME` names
//! (see `kafka/mod.rs`); without one these tests skip loudly, unless `REQUIRE_KAFKA=1`.

mod kafka;
mod skip;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use checker::broker::records::Outgoing;
use checker::broker::{client_config, Broker, BrokerChoice};
use checker::cargo_build::{Built, CargoBuild};
use checker::consumer_group;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// The installation's jars, or `None` (skipped, loudly).
fn libs() -> Option<String> {
    match kafka::installation() {
        Ok((installation, _)) => Some(installation.class_path()),
        Err(why) => {
            skip::missing(&why, kafka::REQUIRE);
            None
        }
    }
}

/// A log4j configuration that keeps the tools' own logging to warnings on stderr, written
/// once per test binary.
fn quiet_logging() -> &'static PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(write_quiet_logging)
}

fn write_quiet_logging() -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "kafka-tools-log4j2-{}.properties",
        std::process::id()
    ));
    std::fs::write(
        &path,
        "status = warn\nappender.err.type = Console\nappender.err.name = err\n\
         appender.err.target = SYSTEM_ERR\nappender.err.layout.type = PatternLayout\n\
         appender.err.layout.pattern = %p %m%n\nrootLogger.level = WARN\n\
         rootLogger.appenderRef.err.ref = err\n",
    )
    .unwrap();
    path
}

/// A Java tool of Kafka's: `class` with `args`, on the installation's class path.
fn tool(libs: &str, class: &str, args: &[&str]) -> Command {
    let mut command = Command::new("java");
    command
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            quiet_logging().display()
        ))
        .args(["-cp", libs, class])
        .args(args)
        .stdin(Stdio::null());
    command
}

/// Runs `kafka-consumer-groups` with `args` against `bootstrap`; what it printed (stdout,
/// then stderr, where its notices go), or a panic with it.
fn consumer_groups(libs: &str, bootstrap: &str, args: &[&str]) -> String {
    let output: Output = tool(
        libs,
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &[
            &["--bootstrap-server", bootstrap, "--timeout", "15000"],
            args,
        ]
        .concat(),
    )
    .output()
    .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && !printed.contains("Error:"),
        "kafka-consumer-groups {args:?} failed:\n{printed}"
    );
    printed
}

/// The rows of a table the tool printed for `group`: each row's words.
fn rows<'a>(table: &'a str, group: &str) -> Vec<Vec<&'a str>> {
    table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|words| words.first() == Some(&group))
        .collect()
}

/// Lab 12's reference tool (`solutions/12-lag-and-offsets`): `describe GROUP` on `topic`,
/// its lines: `members N`, then `lag partition=P committed=C end=E lag=L` per partition.
async fn lab12_describe(bootstrap: &str, topic: &str, group: &str) -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let built = CargoBuild::new(&root, "lab12-lag-and-offsets-solution")
        .program()
        .await
        .unwrap();
    let Built::Binary(program) = built else {
        panic!("lab 12's solution does not compile: {built:?}");
    };
    let output = Command::new(program)
        .args(["describe", group])
        .env(lab_contract::env::KAFKA_BOOTSTRAP_SERVERS, bootstrap)
        .env(lab_contract::env::KAFKA_TOPIC, topic)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Kafka's `--describe` table as lab 12's lines: `lag partition=P committed=C end=E lag=L`,
/// `-` where nothing is committed, in partition order.
fn as_lab12_lines(table: &str, group: &str) -> Vec<String> {
    let mut lines: Vec<(i32, String)> = rows(table, group)
        .iter()
        .map(|row| {
            let partition: i32 = row[2].parse().unwrap();
            let line = format!(
                "lag partition={partition} committed={} end={} lag={}",
                row[3], row[4], row[5]
            );
            (partition, line)
        })
        .collect();
    lines.sort();
    lines.into_iter().map(|(_, line)| line).collect()
}

/// A fresh embedded broker with `topic` of 3 partitions holding 3, 1 and 0 records.
async fn broker_with_records(topic: &str) -> Broker {
    let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
    broker.create_topic(topic, 3).await.unwrap();
    let records: Vec<Outgoing> = [(0, "a"), (0, "b"), (0, "c"), (1, "d")]
        .into_iter()
        .map(|(partition, payload)| Outgoing::to_partition(partition, payload))
        .collect();
    broker.produce(topic, &records).await.unwrap();
    broker
}

fn describe(bootstrap: &str, group: &str, topic: &str) -> consumer_group::GroupReport {
    consumer_group::describe(bootstrap, group, &[topic.to_string()]).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_consumer_groups_resets_and_describes_a_group() {
    let Some(libs) = libs() else {
        return;
    };
    let (topic, group) = ("tools-orders", "tools-billing");
    let broker = broker_with_records(topic).await;
    let bootstrap = broker.bootstrap().to_string();
    let reset = |how: &[&str]| {
        let args = [
            &["--group", group, "--topic", topic, "--reset-offsets"],
            how,
        ]
        .concat();
        consumer_groups(&libs, &bootstrap, &args)
    };

    // A dry run plans, and commits nothing.
    let plan = reset(&["--to-latest", "--dry-run"]);
    let planned: Vec<(&str, &str)> = rows(&plan, group).iter().map(|r| (r[2], r[3])).collect();
    assert_eq!(planned.len(), 3, "{plan}");
    for expected in [("0", "3"), ("1", "1"), ("2", "0")] {
        assert!(planned.contains(&expected), "{plan}");
    }
    // Nothing committed, no member: the group does not exist yet.
    let error = consumer_group::describe(&bootstrap, group, &[topic.to_string()]).unwrap_err();
    assert!(error.to_string().contains("does not exist"), "{error}");

    // --execute commits; an offset past the end is set to the end, as Kafka's tool says.
    let done = reset(&["--to-offset", "1", "--execute"]);
    assert_eq!(rows(&done, group).len(), 3, "{done}");
    let report = describe(&bootstrap, group, topic);
    let committed: Vec<Option<i64>> = report.partitions.iter().map(|p| p.committed).collect();
    assert_eq!(committed, [Some(1), Some(1), Some(0)], "{report:?}");

    let list = consumer_groups(&libs, &bootstrap, &["--list"]);
    assert!(list.lines().any(|line| line.trim() == group), "{list}");

    // --describe agrees with `checker group` on every number.
    let table = consumer_groups(&libs, &bootstrap, &["--describe", "--group", group]);
    assert!(table.contains("has no active members"), "{table}");
    let described = rows(&table, group);
    assert_eq!(described.len(), 3, "{table}");
    for row in described {
        let partition: i32 = row[2].parse().unwrap();
        let ours = report
            .partitions
            .iter()
            .find(|p| p.partition == partition)
            .unwrap();
        let number = |text: &str| text.parse::<i64>().ok();
        assert_eq!(number(row[3]), ours.committed, "CURRENT-OFFSET: {table}");
        assert_eq!(number(row[4]), Some(ours.end), "LOG-END-OFFSET: {table}");
        assert_eq!(
            number(row[5]),
            ours.committed.map(|c| ours.end - c),
            "LAG: {table}"
        );
    }

    // Lab 12's tool agrees with Kafka's on every number too.
    let lab12 = lab12_describe(&bootstrap, topic, group).await;
    assert_eq!(lab12[0], "members 0");
    assert_eq!(lab12[1..], as_lab12_lines(&table, group), "{table}");

    let state = consumer_groups(
        &libs,
        &bootstrap,
        &["--describe", "--group", group, "--state"],
    );
    let state_row = &rows(&state, group)[0];
    assert_eq!(state_row[state_row.len() - 2..], ["Empty", "0"], "{state}");
    assert_eq!(report.state, "Empty");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_consumer_reads_in_a_group_and_commits() {
    let Some(libs) = libs() else {
        return;
    };
    let (topic, group) = ("tools-console", "tools-console-group");
    let broker = broker_with_records(topic).await;
    let bootstrap = broker.bootstrap().to_string();
    let output = tool(
        &libs,
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        &[
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            topic,
            "--group",
            group,
            "--from-beginning",
            "--max-messages",
            "4",
            "--timeout-ms",
            "30000",
        ],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut read: Vec<&str> = stdout.lines().collect();
    read.sort();
    assert_eq!(read, ["a", "b", "c", "d"], "{stdout}");
    // It commits what it read when it closes: the group is at the end of every partition.
    let report = describe(&bootstrap, group, topic);
    for partition in &report.partitions {
        assert_eq!(
            partition.committed.unwrap_or(0),
            partition.end,
            "{report:?}"
        );
    }
}

/// What one VerifiableConsumer process reports: its events, as they come.
struct Verifiable {
    child: Child,
    events: mpsc::Receiver<serde_json::Value>,
}

impl Verifiable {
    fn start(libs: &str, bootstrap: &str, topic: &str, group: &str) -> Verifiable {
        let mut child = tool(
            libs,
            "org.apache.kafka.tools.VerifiableConsumer",
            &[
                "--bootstrap-server",
                bootstrap,
                "--topic",
                topic,
                "--group-id",
                group,
                "--session-timeout",
                "6000",
                "--assignment-strategy",
                "org.apache.kafka.clients.consumer.RangeAssignor",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let (sender, events) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str(&line) {
                    let _ = sender.send(event);
                }
            }
        });
        Verifiable { child, events }
    }

    /// Waits up to `within` for a `partitions_assigned` event; returns its partitions.
    fn next_assignment(&self, within: Duration) -> Vec<i32> {
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(event) = self.events.recv_timeout(left) else {
                break;
            };
            if event["name"] == "partitions_assigned" {
                let mut partitions: Vec<i32> = event["partitions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["partition"].as_i64().unwrap() as i32)
                    .collect();
                partitions.sort();
                return partitions;
            }
        }
        panic!("VerifiableConsumer reported no assignment within {within:?}");
    }
}

impl Drop for Verifiable {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A librdkafka member of a group, polled on a thread of its own; what it owns is kept.
struct Member {
    owned: Arc<Mutex<Vec<i32>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Member {
    fn start(bootstrap: &str, topic: &str, group: &str) -> Member {
        let consumer: BaseConsumer = client_config(bootstrap)
            .set("group.id", group)
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "500")
            .set("partition.assignment.strategy", "range")
            .create()
            .unwrap();
        consumer.subscribe(&[topic]).unwrap();
        let owned = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (owned, stop) = (owned.clone(), stop.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    let _ = consumer.poll(Duration::from_millis(50));
                    let mut partitions: Vec<i32> = consumer
                        .assignment()
                        .map(|list| list.elements().iter().map(|e| e.partition()).collect())
                        .unwrap_or_default();
                    partitions.sort();
                    *owned.lock().unwrap() = partitions;
                }
                // Dropping the consumer closes it: it leaves the group.
            }
        });
        Member {
            owned,
            stop,
            thread: Some(thread),
        }
    }

    fn owned(&self) -> Vec<i32> {
        self.owned.lock().unwrap().clone()
    }

    /// Waits up to `within` until it owns `partitions`.
    fn wait_for(&self, partitions: &[i32], within: Duration) {
        let deadline = Instant::now() + within;
        while self.owned() != partitions {
            assert!(
                Instant::now() < deadline,
                "the librdkafka member owns {:?}, not {partitions:?}, after {within:?}",
                self.owned()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Leaves the group cleanly.
    fn leave(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn verifiable_consumer_shares_a_group_with_a_librdkafka_member() {
    let Some(libs) = libs() else {
        return;
    };
    let (topic, group) = ("tools-clicks", "tools-mixed");
    let broker = broker_with_records(topic).await;
    let bootstrap = broker.bootstrap().to_string();
    // JVM start and the group's first rebalances: generous, on a busy machine.
    let settle = Duration::from_secs(60);

    // The split: range gives the first member two partitions and the other one.
    let java = Verifiable::start(&libs, &bootstrap, topic, group);
    assert_eq!(java.next_assignment(settle), [0, 1, 2]);
    let member = Member::start(&bootstrap, topic, group);
    let java_share = java.next_assignment(settle);
    let deadline = Instant::now() + settle;
    let rust_share = loop {
        let owned = member.owned();
        if owned.len() + java_share.len() == 3 {
            break owned;
        }
        assert!(
            Instant::now() < deadline,
            "no split: Java {java_share:?}, librdkafka {owned:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut all = [java_share.clone(), rust_share.clone()].concat();
    all.sort();
    assert_eq!(
        all,
        [0, 1, 2],
        "Java {java_share:?}, librdkafka {rust_share:?}"
    );
    assert!(!java_share.is_empty() && !rust_share.is_empty());

    // A clean leave: the Java member gets everything back.
    member.leave();
    assert_eq!(java.next_assignment(settle), [0, 1, 2]);

    // A crash: the librdkafka member gets everything after the Java member's session
    // timeout (6 s), plus a heartbeat and the rebalance.
    let member = Member::start(&bootstrap, topic, group);
    java.next_assignment(settle);
    let deadline = Instant::now() + settle;
    while member.owned().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the librdkafka member never joined"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut java = java;
    java.child.kill().unwrap();
    java.child.wait().unwrap();
    let killed = Instant::now();
    member.wait_for(&[0, 1, 2], Duration::from_secs(12));
    // Its last heartbeat came up to one Java heartbeat interval (3 s by default) before the
    // kill, so its session ran out no sooner than 6 - 3 s after it.
    assert!(
        killed.elapsed() >= Duration::from_secs(3),
        "the crashed member's partitions moved after {:?}, before its session could expire",
        killed.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_consumer_groups_describes_the_members_of_a_live_group() {
    let Some(libs) = libs() else {
        return;
    };
    let (topic, group) = ("tools-live", "tools-live-group");
    let broker = broker_with_records(topic).await;
    let bootstrap = broker.bootstrap().to_string();
    let member = Member::start(&bootstrap, topic, group);
    member.wait_for(&[0, 1, 2], Duration::from_secs(60));
    let ours = describe(&bootstrap, group, topic);
    assert_eq!(ours.members.len(), 1, "{ours:?}");
    let theirs = &ours.members[0];

    let table = consumer_groups(
        &libs,
        &bootstrap,
        &["--describe", "--group", group, "--members", "--verbose"],
    );
    let described = rows(&table, group);
    assert_eq!(described.len(), 1, "{table}");
    let row = &described[0];
    // GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS ... ASSIGNMENT
    assert_eq!(row[1], theirs.id, "{table}");
    assert_eq!(row[2], theirs.host, "{table}");
    assert_eq!(row[3], theirs.client_id, "{table}");
    assert_eq!(row[4], "3", "{table}");
    assert!(row.contains(&format!("{topic}:0,1,2").as_str()), "{table}");

    let state = consumer_groups(
        &libs,
        &bootstrap,
        &["--describe", "--group", group, "--state"],
    );
    let state_row = &rows(&state, group)[0];
    assert_eq!(
        state_row[state_row.len() - 3..],
        ["range", "Stable", "1"],
        "{state}"
    );

    // With a member, and a partition it has not committed on yet, the three tools agree.
    let table = consumer_groups(&libs, &bootstrap, &["--describe", "--group", group]);
    let lab12 = lab12_describe(&bootstrap, topic, group).await;
    assert_eq!(lab12[0], "members 1");
    assert_eq!(lab12[1..], as_lab12_lines(&table, group), "{table}");

    // ListGroups v4+ carries each group's state, v5+ its type (Kafka's tool asks v5).
    let listed = consumer_groups(&libs, &bootstrap, &["--list", "--state"]);
    assert_eq!(rows(&listed, group), [[group, "Stable"]], "{listed}");
    let listed = consumer_groups(&libs, &bootstrap, &["--list", "--type"]);
    assert_eq!(rows(&listed, group), [[group, "Classic"]], "{listed}");
    let listed = consumer_groups(&libs, &bootstrap, &["--list", "--state", "Empty"]);
    assert!(rows(&listed, group).is_empty(), "{listed}");
    drop(member);
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_delete_records_moves_the_log_start_that_kafkas_tools_then_read() {
    let Some(libs) = libs() else {
        return;
    };
    let (topic, group) = ("tools-retained", "tools-retained-billing");
    let broker = broker_with_records(topic).await;
    let bootstrap = broker.bootstrap().to_string();
    let plan = std::env::temp_dir().join(format!("delete-records-{}.json", std::process::id()));
    std::fs::write(
        &plan,
        format!(r#"{{"version":1,"partitions":[{{"topic":"{topic}","partition":0,"offset":2}}]}}"#),
    )
    .unwrap();
    let deleted = tool(
        &libs,
        "org.apache.kafka.tools.DeleteRecordsCommand",
        &[
            "--bootstrap-server",
            &bootstrap,
            "--offset-json-file",
            plan.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let _ = std::fs::remove_file(&plan);
    let printed = String::from_utf8_lossy(&deleted.stdout).to_string();
    assert!(deleted.status.success(), "kafka-delete-records: {printed}");
    assert!(
        printed.contains(&format!("partition: {topic}-0\tlow_watermark: 2")),
        "{printed}"
    );

    // kafka-get-offsets reads the earliest offsets (ListOffsets −2) ...
    let earliest = tool(
        &libs,
        "org.apache.kafka.tools.GetOffsetShell",
        &[
            "--bootstrap-server",
            &bootstrap,
            "--topic",
            topic,
            "--time",
            "-2",
        ],
    )
    .output()
    .unwrap();
    let earliest = String::from_utf8_lossy(&earliest.stdout).to_string();
    let mut lines: Vec<&str> = earliest.lines().collect();
    lines.sort();
    let expected = [0, 1, 2].map(|p| format!("{topic}:{p}:{}", [2, 0, 0][p]));
    assert_eq!(lines, expected, "{earliest}");

    // ... and kafka-consumer-groups plans a reset to them.
    let planned = consumer_groups(
        &libs,
        &bootstrap,
        &[
            "--group",
            group,
            "--topic",
            topic,
            "--reset-offsets",
            "--to-earliest",
            "--dry-run",
        ],
    );
    let planned: Vec<(&str, &str)> = rows(&planned, group).iter().map(|r| (r[2], r[3])).collect();
    for expected in [("0", "2"), ("1", "0"), ("2", "0")] {
        assert!(planned.contains(&expected), "{planned:?}");
    }
}
