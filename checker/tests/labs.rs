//! Every lab against the embedded broker and against Apache Kafka (the local backend, see
//! `kafka/mod.rs`): the solution passes and matches its reviewed snapshot, the starter
//! fails at the same step on both, and a program that only prints the expected text fails.

mod kafka;
mod skip;

use std::path::{Path, PathBuf};

use checker::broker::{Broker, BrokerChoice};
use checker::info_file::{InfoFile, LabInfo, Variant};
use checker::process::Program;
use checker::snapshot;
use checker::verify::{self, Outcome, Settings, Verdict};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn lab(number: usize) -> LabInfo {
    InfoFile::load()
        .labs
        .into_iter()
        .find(|lab| lab.number == number)
        .expect("lab exists")
}

/// Which broker a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    Embedded,
    Kafka,
}

/// The broker, or `None` where Apache Kafka is not installed here (skipped, loudly).
async fn broker(on: On) -> Option<Broker> {
    match on {
        On::Embedded => Some(
            Broker::connect(&BrokerChoice::Embedded)
                .await
                .expect("embedded broker"),
        ),
        On::Kafka => kafka::broker().await,
    }
}

async fn outcome(lab: &LabInfo, variant: Variant, broker: &Broker) -> Outcome {
    let settings = Settings {
        variant,
        compare_snapshot: false,
    };
    verify::check(&root(), lab, broker, settings)
        .await
        .expect("checker ran")
}

async fn solution_passes(number: usize, on: On) {
    let lab = lab(number);
    let Some(broker) = broker(on).await else {
        return;
    };
    let outcome = outcome(&lab, Variant::Solution, &broker).await;
    broker.shutdown().await;
    if let Verdict::Failed(failure) = &outcome.verdict {
        panic!("solution of lab {number} failed: {failure:#?}");
    }
    assert!(outcome.passed(), "{:?}", outcome.verdict);
    let transcript = outcome
        .transcript
        .clone()
        .expect("a passing run has a transcript");
    if on == On::Kafka {
        // The reviewed snapshot is the embedded broker's run: Kafka must tell the same story.
        let expected = snapshot::expected(&lab.dir()).expect("snapshot recorded");
        assert!(
            snapshot::matches(&expected, &transcript),
            "lab {number} on Apache Kafka differs from its reviewed snapshot:\n{}",
            checker::diff::render(&expected, &transcript)
        );
        return;
    }
    keep_timeline(&lab, &transcript, &outcome);
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(lab.dir(), transcript);
    });
    // `checker verify` reads the same file without insta: both must agree.
    let expected = snapshot::expected(&lab.dir()).expect("snapshot recorded");
    assert!(snapshot::matches(&expected, &transcript));
}

/// The book draws its timelines from the run that recorded each reviewed snapshot. When
/// insta is about to write this run's transcript as the snapshot (`INSTA_UPDATE=always`),
/// or `RECORD_TIMELINES` is set, this run's timeline is recorded beside it. Otherwise the
/// recorded one must belong to the snapshot as it is, or the pictures would show a story
/// the checker no longer tells; a run whose transcript differs is left to insta's
/// assertion, and writes nothing.
fn keep_timeline(lab: &LabInfo, transcript: &str, outcome: &Outcome) {
    let dir = lab.dir();
    let unchanged = snapshot::expected(&dir).is_some_and(|e| snapshot::matches(&e, transcript));
    let insta_writes = std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always");
    if (!unchanged && insta_writes) || std::env::var_os("RECORD_TIMELINES").is_some() {
        snapshot::record_timeline(&dir, transcript, &outcome.timeline, &outcome.nonce)
            .expect("timeline written");
        return;
    }
    if !unchanged {
        return;
    }
    let recorded = snapshot::recorded_timeline(&dir).unwrap_or_else(|| {
        panic!(
            "{} is missing: record it with RECORD_TIMELINES=1 cargo test -p checker --test labs lab{:02}_solution",
            snapshot::timeline_path(&dir).display(),
            lab.number
        )
    });
    assert_eq!(
        recorded.snapshot,
        snapshot::fingerprint(transcript),
        "{} was recorded with another snapshot: record it again with RECORD_TIMELINES=1 \
         cargo test -p checker --test labs lab{:02}_solution",
        snapshot::timeline_path(&dir).display(),
        lab.number
    );
    assert!(!recorded.lines.is_empty(), "an empty recorded timeline");
}

/// The starter fails its check at `step`, the same on every broker.
async fn starter_fails(number: usize, step: usize, on: On) {
    let lab = lab(number);
    let Some(broker) = broker(on).await else {
        return;
    };
    let outcome = outcome(&lab, Variant::Starter, &broker).await;
    broker.shutdown().await;
    match outcome.verdict {
        Verdict::Failed(failure) => {
            assert_eq!(
                failure.step,
                Some(step),
                "starter of lab {number} on {on:?} failed at another step: {failure:?}"
            );
            assert!(!failure.message.is_empty());
        }
        other => panic!("starter of lab {number} should fail its check, got {other:?}"),
    }
}

/// Writes a shell script that prints, for any role, the lines the reviewed snapshot holds
/// under `section`: the expected text, with no Kafka behind it.
fn impostor(dir: &Path, lab: &LabInfo, section: &str) -> PathBuf {
    let expected = snapshot::expected(&lab.dir()).expect("snapshot recorded");
    let lines: Vec<&str> = expected
        .lines()
        .skip_while(|line| *line != format!("## {section}"))
        .skip(1)
        .take_while(|line| !line.starts_with("## "))
        .collect();
    assert!(
        !lines.is_empty(),
        "section {section} missing from the snapshot"
    );
    let script = dir.join(format!("impostor-{}", lab.dir()));
    let body: String = lines.iter().map(|l| format!("echo '{l}'\n")).collect();
    std::fs::write(&script, format!("#!/bin/sh\n{body}")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// For each lab, on each broker: a test that its solution passes, and one that its starter
/// fails at the step given (where the lab's first TODO shows).
macro_rules! lab_tests {
    ($($number:literal, starter fails at $step:literal => $passes:ident, $fails:ident;)*) => {
        lab_tests!(@on On::Embedded; $($number, $step => $passes, $fails;)*);
        /// The same tests on Apache Kafka.
        mod on_kafka {
            use super::*;
            lab_tests!(@on On::Kafka; $($number, $step => $passes, $fails;)*);
        }
    };
    (@on $on:expr; $($number:literal, $step:literal => $passes:ident, $fails:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $passes() {
            solution_passes($number, $on).await;
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn $fails() {
            starter_fails($number, $step, $on).await;
        }
    )*};
}

lab_tests! {
    1, starter fails at 1 => lab01_solution_passes, lab01_starter_fails;
    2, starter fails at 1 => lab02_solution_passes, lab02_starter_fails;
    3, starter fails at 1 => lab03_solution_passes, lab03_starter_fails;
    4, starter fails at 2 => lab04_solution_passes, lab04_starter_fails;
    5, starter fails at 1 => lab05_solution_passes, lab05_starter_fails;
    6, starter fails at 1 => lab06_solution_passes, lab06_starter_fails;
    7, starter fails at 1 => lab07_solution_passes, lab07_starter_fails;
    8, starter fails at 2 => lab08_solution_passes, lab08_starter_fails;
    9, starter fails at 1 => lab09_solution_passes, lab09_starter_fails;
    10, starter fails at 1 => lab10_solution_passes, lab10_starter_fails;
    11, starter fails at 2 => lab11_solution_passes, lab11_starter_fails;
    12, starter fails at 1 => lab12_solution_passes, lab12_starter_fails;
}

#[tokio::test(flavor = "multi_thread")]
async fn lab01_printing_the_expected_text_without_kafka_fails() {
    let lab = lab(1);
    let dir = std::env::temp_dir().join(format!("impostor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = impostor(&dir, &lab, "producer");
    let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
    let played = verify::play(&lab, &broker, Program::plain(script)).await;
    let failure = played
        .result
        .expect_err("printing without producing must fail");
    assert_eq!(failure.step, Some(1));
    assert!(
        failure
            .message
            .contains("the topic should hold the five orders"),
        "{failure:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
