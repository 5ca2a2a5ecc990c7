//! The embedded broker's group coordinator with a client that is not librdkafka: aiokafka,
//! a pure-Python Kafka client (test-only; never part of the course). The script
//! `aiokafka_group.py` holds the checks.
//!
//! Without Python's aiokafka the test is skipped, loudly; CI sets `REQUIRE_AIOKAFKA=1`
//! (and installs it) so that it must run there.

use std::process::Command;
use std::time::Duration;

use embedded_broker::{EmbeddedBroker, Options};

fn aiokafka_available() -> bool {
    Command::new("python3")
        .args(["-c", "import aiokafka"])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn an_aiokafka_group_behaves_as_on_kafka() {
    if !aiokafka_available() {
        assert!(
            std::env::var_os("REQUIRE_AIOKAFKA").is_none(),
            "REQUIRE_AIOKAFKA is set but python3 cannot import aiokafka"
        );
        eprintln!(
            "\n**** SKIPPED: an_aiokafka_group_behaves_as_on_kafka: python3 has no aiokafka \
             (pip install aiokafka; set REQUIRE_AIOKAFKA=1 to fail instead) ****\n"
        );
        return;
    }
    let broker = EmbeddedBroker::start_with(Options {
        initial_rebalance_delay: Duration::from_millis(300),
        ..Options::default()
    })
    .expect("broker");
    broker.create_topic("aio-topic", 2).expect("topic");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/aiokafka_group.py");
    let out = Command::new("python3")
        .args([script, broker.bootstrap(), "aio-topic", "aio-group"])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "aiokafka checks failed:\n{stdout}\n{stderr}"
    );
    for check in [
        "two members split two partitions",
        "consumed all four messages",
        "survivor owns both partitions",
        "commit was accepted",
        "lists and describes the group",
        "offsets_for_times finds the first record",
    ] {
        assert!(stdout.contains(check), "missing check {check:?}:\n{stdout}");
    }
}
