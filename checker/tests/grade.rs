//! `checker grade`: each report format's shape, the verdicts on bad submissions
//! (`fixtures/bad/`, on the embedded broker and on Apache Kafka: see `kafka/mod.rs`), a class
//! of copies of the solutions, and the command's exit codes.

mod kafka;
mod skip;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use serde::Deserialize;

use checker::broker::{Broker, BrokerChoice};
use checker::confinement::Enforced;
use checker::grade::class;
use checker::grade::formats::{self, classroom, exercism, junit};
use checker::grade::{Grader, Integrity, LabResult, Options, Report, DEFAULT_JOBS, LAB_POINTS};
use checker::info_file::InfoFile;
use checker::verdict::Status;

fn course() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// A fresh folder for one test.
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("grade-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    checker::grade::workspace::copy_tree(from, to, &mut Vec::new()).unwrap();
}

/// A submission of the solutions of every lab, as a student's `labs/` would hold them.
fn solutions_submission(dir: &Path) {
    for lab in InfoFile::load().labs {
        let from = course().join("solutions").join(lab.dir());
        copy_tree(&from, &dir.join("labs").join(lab.dir()));
    }
}

// ---------------------------------------------------------------------------------------
// Formats, on a report holding every kind of verdict.

fn lab_result(number: usize, status: Status, step: Option<usize>, mismatch: bool) -> LabResult {
    let info = InfoFile::load();
    let lab = info.labs.iter().find(|l| l.number == number).unwrap();
    LabResult {
        number,
        name: lab.name.clone(),
        title: lab.title.clone(),
        status,
        score: if status == Status::Passed {
            LAB_POINTS
        } else {
            0
        },
        max_score: LAB_POINTS,
        failed_step: step,
        output_mismatch: mismatch,
        message: (status != Status::Passed).then(|| format!("lab {number} went wrong <&>")),
        details: vec!["evidence \u{1b}[31m in red".to_string()],
        output: Some(format!("## producer\n{}", "sent order1\n".repeat(100))),
        notes: Vec::new(),
        took_ms: 1_234,
    }
}

/// Lab 1 passed, 2 failed at step 2, 3 passed its steps but not the output comparison,
/// 4 does not compile, 5 and 6 are missing.
fn sample_report() -> Report {
    let labs = vec![
        lab_result(1, Status::Passed, None, false),
        lab_result(2, Status::Failed, Some(2), false),
        lab_result(3, Status::Failed, None, true),
        lab_result(4, Status::DoesNotCompile, None, false),
        lab_result(5, Status::Missing, None, false),
        lab_result(6, Status::Missing, None, false),
    ];
    Report {
        submission: "alice".to_string(),
        path: PathBuf::from("/submissions/alice"),
        score: LAB_POINTS,
        max_score: LAB_POINTS * 6,
        labs,
        took_ms: 9_000,
        integrity: Integrity {
            unchanged: true,
            changed: Vec::new(),
        },
        workspace: None,
    }
}

#[test]
fn json_report_has_every_field_per_lab() {
    let text = formats::json::render(&sample_report()).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["score"], LAB_POINTS);
    let labs = value["labs"].as_array().unwrap();
    assert_eq!(labs.len(), 6);
    let statuses: Vec<&str> = labs.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        [
            "passed",
            "failed",
            "failed",
            "does-not-compile",
            "missing",
            "missing"
        ]
    );
    for lab in labs {
        for field in [
            "number",
            "name",
            "status",
            "score",
            "failed_step",
            "message",
            "details",
            "output",
        ] {
            assert!(lab.get(field).is_some(), "{field} missing in {lab}");
        }
    }
    assert_eq!(labs[1]["failed_step"], 2);
    assert!(value["integrity"]["unchanged"].as_bool().unwrap());
}

/// Walks a JUnit document and checks that every element sits where the common JUnit
/// schema puts it; returns (suites, test cases, failures) counted from the elements.
fn junit_shape(xml: &str) -> (usize, usize, usize) {
    use quick_xml::events::Event;
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("", &["testsuites"][..]),
        ("testsuites", &["testsuite"][..]),
        (
            "testsuite",
            &["properties", "testcase", "system-out", "system-err"][..],
        ),
        ("properties", &["property"][..]),
        ("property", &[][..]),
        (
            "testcase",
            &["skipped", "error", "failure", "system-out", "system-err"][..],
        ),
        ("failure", &[][..]),
        ("system-out", &[][..]),
    ]);
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let (mut suites, mut cases, mut failures) = (0, 0, 0);
    let mut declared: Vec<(usize, usize)> = Vec::new();
    loop {
        let event = reader.read_event().expect("well-formed XML");
        let (element, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            Event::End(_) => {
                stack.pop();
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        let Some(element) = element else { continue };
        let name = String::from_utf8(element.name().as_ref().to_vec()).unwrap();
        let parent = stack.last().map(String::as_str).unwrap_or("");
        assert!(
            allowed
                .get(parent)
                .is_some_and(|kids| kids.contains(&name.as_str())),
            "<{name}> inside <{parent}>"
        );
        let attribute = |key: &str| {
            element
                .try_get_attribute(key)
                .unwrap()
                .map(|a| a.unescape_value().unwrap().into_owned())
        };
        match name.as_str() {
            "testsuite" => {
                suites += 1;
                assert!(attribute("name").is_some());
                let tests: usize = attribute("tests").unwrap().parse().unwrap();
                let failed: usize = attribute("failures").unwrap().parse().unwrap();
                declared.push((tests, failed));
                attribute("time").unwrap().parse::<f64>().unwrap();
            }
            "testcase" => {
                cases += 1;
                assert!(attribute("name").is_some() && attribute("classname").is_some());
                attribute("time").unwrap().parse::<f64>().unwrap();
            }
            "failure" => {
                failures += 1;
                assert!(attribute("message").is_some() && attribute("type").is_some());
            }
            _ => {}
        }
        if !empty {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    let declared_tests: usize = declared.iter().map(|d| d.0).sum();
    let declared_failures: usize = declared.iter().map(|d| d.1).sum();
    assert_eq!((declared_tests, declared_failures), (cases, failures));
    (suites, cases, failures)
}

#[test]
fn junit_report_has_the_schema_structure() {
    let xml = junit::render(&[sample_report()]).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert_eq!(junit_shape(&xml), (1, 6, 5));
    // Control characters from a program's output are not allowed in XML 1.0.
    assert!(!xml.contains('\u{1b}'));
    // Two submissions: two suites.
    let xml = junit::render(&[sample_report(), sample_report()]).unwrap();
    assert_eq!(junit_shape(&xml), (2, 12, 10));
}

/// `results.json` as the Exercism interface (version 3) specifies it: closed objects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExercismResults {
    version: u32,
    status: ExercismStatus,
    message: Option<String>,
    tests: Vec<ExercismTest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExercismTest {
    name: String,
    status: ExercismStatus,
    message: Option<String>,
    output: Option<String>,
    test_code: Option<String>,
    task_id: Option<u32>,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum ExercismStatus {
    Pass,
    Fail,
    Error,
}

#[test]
fn exercism_results_follow_the_v3_interface() {
    let info = InfoFile::load();
    let report = sample_report();
    let text = exercism::render(&report, &info).unwrap();
    let results: ExercismResults = serde_json::from_str(&text).unwrap();
    assert_eq!(results.version, 3);
    // Lab 4 does not compile, but other labs ran: `fail`, with lab 4's tests in `error`.
    assert_eq!(results.status, ExercismStatus::Fail);
    assert!(results.message.is_none());
    assert!(results
        .tests
        .iter()
        .filter(|t| t.name.starts_with("lab 4 ("))
        .all(|t| t.status == ExercismStatus::Error));
    // One test per step of every lab in the report, plus each lab's output comparison.
    let expected: usize = info
        .labs
        .iter()
        .filter(|l| report.labs.iter().any(|r| r.number == l.number))
        .map(|l| l.steps.len() + 1)
        .sum();
    assert_eq!(results.tests.len(), expected);
    for test in &results.tests {
        assert!(test
            .output
            .as_ref()
            .is_none_or(|o| o.chars().count() <= 500));
        assert!(
            test.test_code.as_ref().is_some_and(|c| !c.is_empty()),
            "{test:?}"
        );
        assert!(!test.name.is_empty());
    }
    let lab = |n: usize| -> Vec<&ExercismTest> {
        results
            .tests
            .iter()
            .filter(|t| t.name.starts_with(&format!("lab {n} (")))
            .collect()
    };
    use ExercismStatus::*;
    let statuses = |n: usize| lab(n).iter().map(|t| t.status).collect::<Vec<_>>();
    // Lab 1 passed; lab 2 failed step 2: step 1 passes, 3 and the output are not reached.
    assert!(statuses(1).iter().all(|s| *s == Pass));
    let two = lab(2);
    assert_eq!(statuses(2), [Pass, Fail, Fail, Fail]);
    assert!(two[1].message.as_ref().unwrap().contains("went wrong"));
    assert!(two[1]
        .output
        .as_ref()
        .unwrap()
        .ends_with("Please limit to 500 chars"));
    assert_eq!(two[2].message.as_deref(), Some("not reached"));
    // Lab 3 passed every step; its output differs.
    let three = statuses(3);
    assert_eq!(three.last(), Some(&Fail));
    assert!(three[..three.len() - 1].iter().all(|s| *s == Pass));
    assert!(lab(5)[0].message.as_deref() == Some("not submitted"));
    // Tasks: the steps in course order; the output test links to none.
    let tasks: Vec<u32> = results.tests.iter().filter_map(|t| t.task_id).collect();
    assert_eq!(tasks, (1..=tasks.len() as u32).collect::<Vec<_>>());
    assert!(lab(1).last().unwrap().task_id.is_none());
}

#[test]
fn exercism_status_is_error_only_when_no_lab_ran() {
    let info = InfoFile::load();
    let mut report = sample_report();
    for lab in &mut report.labs {
        if lab.status != Status::Missing {
            *lab = lab_result(lab.number, Status::DoesNotCompile, None, false);
        }
    }
    let results: ExercismResults =
        serde_json::from_str(&exercism::render(&report, &info).unwrap()).unwrap();
    assert_eq!(results.status, ExercismStatus::Error);
    let message = results.message.unwrap();
    assert!(
        message.contains("lab 1") && message.contains("lab 4"),
        "{message}"
    );
}

#[test]
fn classroom_result_decodes_to_scores() {
    let info = InfoFile::load();
    let encoded = classroom::render_base64(&sample_report(), &info).unwrap();
    let json = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .expect("base64");
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["status"], "fail");
    assert_eq!(value["max_score"], LAB_POINTS * 6);
    let tests = value["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 6);
    let total: u64 = tests.iter().map(|t| t["score"].as_u64().unwrap()).sum();
    assert_eq!(total, u64::from(LAB_POINTS));
    for test in tests {
        for field in [
            "name",
            "status",
            "score",
            "message",
            "test_code",
            "filename",
            "line_no",
        ] {
            assert!(test.get(field).is_some(), "{field} missing in {test}");
        }
        assert!(["pass", "fail", "error"].contains(&test["status"].as_str().unwrap()));
    }
    assert_eq!(tests[3]["status"], "error");
    // The plain JSON format is the same document.
    let plain: serde_json::Value =
        serde_json::from_str(&classroom::render(&sample_report(), &info).unwrap()).unwrap();
    assert_eq!(plain, value);
}

#[test]
fn class_summary_as_csv_and_json() {
    let info = InfoFile::load();
    let students = vec![
        ("alice".to_string(), PathBuf::from("/class/alice")),
        ("bob".to_string(), PathBuf::from("/class/bob")),
    ];
    let reports = vec![Ok(sample_report()), Err("cargo vanished".to_string())];
    let summary = class::summarise(&students, &reports, 1_000);
    let csv = class::csv_table(&summary, &info).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header.len(), 1 + 2 * info.labs.len() + 4);
    assert_eq!(header[1], "lab01_status");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(&rows[0][0], "alice");
    assert_eq!(&rows[0][1], "passed");
    assert_eq!(&rows[0][3], "failed");
    assert_eq!(
        &rows[0][header.iter().position(|h| h == "total").unwrap()],
        "10"
    );
    assert_eq!(&rows[1][header.len() - 1], "cargo vanished");
    let json: serde_json::Value = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["students"][0]["labs"][1]["failed_step"], 2);
    assert_eq!(json["students"][1]["error"], "cargo vanished");
}

// ---------------------------------------------------------------------------------------
// Bad submissions.

/// What `fixtures/bad/<name>/expected.toml` says the grader must conclude.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    lab: usize,
    status: String,
    step: Option<usize>,
    message: Option<String>,
    detail: Option<String>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

/// The submission for fixture `name`: the solution of each lab the fixture touches, with
/// the fixture's files laid over it.
fn bad_submission(name: &str) -> PathBuf {
    let dir = temp(&format!("bad-{name}"));
    let labs = fixtures().join(name).join("labs");
    for entry in std::fs::read_dir(&labs).unwrap().flatten() {
        let lab = entry.file_name();
        let target = dir.join("labs").join(&lab);
        copy_tree(&course().join("solutions").join(&lab), &target);
        copy_tree(&entry.path(), &target);
    }
    dir
}

/// Live processes whose command line is `sleep <argument>`.
fn sleeping(argument: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            });
            !zombie && cmdline == format!("sleep\0{argument}\0").as_bytes()
        })
        .collect()
}

/// Fixtures build their own sources (rustc at full CPU); the class test grades 8 at a time
/// and is kept apart from those builds, as an instructor's machine would be.
static BUILDS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Grades fixture `name` on the embedded broker, then on Apache Kafka where it is
/// installed: both must reach the verdict `expected.toml` states. One grader does both, so
/// the submission is built once.
async fn grade_fixture(name: &str) {
    let _building = BUILDS.read().await;
    let expected: Expected = toml::from_str(
        &std::fs::read_to_string(fixtures().join(name).join("expected.toml")).unwrap(),
    )
    .unwrap();
    let submission = bad_submission(name);
    let grader = Grader::new(&course(), Options::new(&course())).unwrap();
    let embedded = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
    check_fixture(name, &expected, &grader, &embedded, &submission).await;
    embedded.shutdown().await;
    if let Some(kafka) = kafka::broker().await {
        check_fixture(name, &expected, &grader, &kafka, &submission).await;
        kafka.shutdown().await;
    }
    std::fs::remove_dir_all(submission).unwrap();
}

/// Grades `submission` on `broker` and checks the verdict and what the program left.
async fn check_fixture(
    name: &str,
    expected: &Expected,
    grader: &Grader,
    broker: &Broker,
    submission: &Path,
) {
    let on = broker.describe();
    let home_file =
        std::env::var_os("HOME").map(|home| Path::new(&home).join("checker-grade-escaped.txt"));
    let report = grader.grade(broker, submission, name).await.unwrap();
    let lab = report
        .labs
        .iter()
        .find(|l| l.number == expected.lab)
        .unwrap_or_else(|| panic!("lab {} not graded on {on}: {report:#?}", expected.lab));
    assert_eq!(
        lab.status.as_str(),
        expected.status,
        "{name} on {on}: {lab:#?}"
    );
    assert_eq!(lab.failed_step, expected.step, "{name} on {on}: {lab:#?}");
    if let Some(message) = &expected.message {
        let got = lab.message.as_deref().unwrap_or_default();
        assert!(
            got.contains(message.as_str()),
            "{name} on {on}: {got:?} lacks {message:?}"
        );
    }
    if let Some(detail) = &expected.detail {
        assert!(
            lab.details.iter().any(|d| d.contains(detail.as_str())),
            "{name} on {on}: no detail holds {detail:?}: {:#?}",
            lab.details
        );
    }
    // Every other lab is missing from these submissions, and scores nothing.
    for other in report.labs.iter().filter(|l| l.number != expected.lab) {
        assert_eq!(other.status, Status::Missing, "{name}");
        assert_eq!(other.score, 0);
    }
    // Whatever the program did, the submission is as it was.
    assert!(report.integrity.unchanged, "{name}: {:?}", report.integrity);
    match name {
        "spawns-children" => {
            for argument in ["987654", "987655"] {
                let left = sleeping(argument);
                for pid in &left {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(*pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                assert!(
                    left.is_empty(),
                    "`sleep {argument}` survived grading: {left:?}"
                );
            }
        }
        "escapes-sandbox" => {
            let escaped: Vec<_> = walk(submission)
                .into_iter()
                .filter(|p| p.ends_with("checker-grade-escaped.txt"))
                .collect();
            assert!(escaped.is_empty(), "{escaped:?}");
            if let Some(file) = home_file {
                assert!(
                    !file.exists(),
                    "the program wrote to the real HOME: {file:?}"
                );
            }
        }
        _ => {}
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().unwrap().is_dir() {
            found.extend(walk(&entry.path()));
        } else {
            found.push(entry.path());
        }
    }
    found
}

/// One test per bad submission; [`every_fixture_has_a_test`] keeps the list complete.
macro_rules! bad_submissions {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $test() {
                grade_fixture($name).await;
            }
        )*
        const TESTED: &[&str] = &[$($name),*];
    };
}

bad_submissions! {
    bad_does_not_compile => "does-not-compile",
    bad_panics => "panics",
    bad_never_exits => "never-exits",
    bad_floods_its_output => "floods",
    bad_spawns_children => "spawns-children",
    bad_impostor_prints_without_kafka => "impostor",
    bad_wrong_topic => "wrong-topic",
    bad_wrong_group => "wrong-group",
    bad_lab01_consumes_another_topic => "consumes-another-topic",
    bad_lab04_ignores_group_argument => "ignores-group-argument",
    bad_reads_from_the_end => "reads-from-the-end",
    bad_escapes_its_crate => "escapes-sandbox",
    bad_lab05_commits_before_processing => "commits-before-processing",
    bad_lab05_panics_on_bad_message => "panics-on-bad-message",
    bad_lab06_sleeps_in_rebalance_callback => "sleeps-in-rebalance-callback",
    bad_lab06_no_commit_on_revoke => "no-commit-on-revoke",
    bad_lab06_dies_after_its_first_line => "dies-after-its-first-line",
    bad_lab02_prints_to_stderr => "prints-to-stderr",
    bad_lab07_stores_on_receipt => "stores-on-receipt",
    bad_lab07_at_most_once_commits_after => "at-most-once-commits-after",
    bad_lab08_no_pause => "no-pause",
    bad_lab09_dynamic_member => "dynamic-member",
    bad_lab09_ignores_fencing => "ignores-fencing",
    bad_lab09_instance_id_per_start => "instance-id-per-start",
    bad_lab10_range_extra_at_the_end => "range-extra-at-the-end",
    bad_lab10_hard_coded_prediction => "hard-coded-prediction",
    bad_lab11_classic_protocol => "classic-protocol",
    bad_lab11_refuses_without_asking => "refuses-without-asking",
    bad_lab12_resets_active_group => "resets-active-group",
    bad_lab12_time_falls_back_to_earliest => "time-falls-back-to-earliest",
    bad_lab12_earliest_is_offset_zero => "earliest-is-offset-zero",
}

/// The variable that turns a kernel without Landlock (files and ports) into a failure.
const REQUIRE_SANDBOX: &str = "REQUIRE_SANDBOX";

#[tokio::test(flavor = "multi_thread")]
async fn a_graded_program_cannot_escape_its_sandbox() {
    // `fixtures/sandbox`: lab 1's solution that first reads another student's submission
    // and the course's solution by absolute path, lists the grader's HOME, writes outside
    // its sandbox and connects to a loopback port that is not the broker's, then panics
    // with what happened to each. The sandbox must refuse all five, the grade must say so,
    // and nothing may reach the listener or the file.
    if Enforced::here() != Enforced::FilesAndPorts {
        let why = format!(
            "the graded programs' sandbox is {}",
            Enforced::here().describe()
        );
        skip::missing(&why, REQUIRE_SANDBOX);
        return;
    }
    let _building = BUILDS.read().await;
    let other = temp("sandbox-other-student");
    solutions_submission(&other);
    let outside = temp("sandbox-outside");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".to_string());
    let targets = [
        ("OTHER_STUDENT", other.join("labs/01-orders/src/main.rs")),
        (
            "SOLUTION",
            course().join("solutions/01-orders/src/producer.rs"),
        ),
        ("HOME", PathBuf::from(&home)),
        ("WRITE", outside.join("written-by-a-graded-program.txt")),
    ];
    let submission = temp("sandbox-submission");
    let lab = submission.join("labs/01-orders");
    copy_tree(&course().join("solutions/01-orders"), &lab);
    copy_tree(&fixtures().join("../sandbox/labs/01-orders"), &lab);
    let mut source = String::from("//! Written by the test: what the program tries to reach.\n");
    for (name, path) in &targets {
        source.push_str(&format!(
            "pub const {name}: &str = {:?};\n",
            path.display().to_string()
        ));
    }
    let port = listener.local_addr().unwrap().port();
    source.push_str(&format!("pub const PORT: u16 = {port};\n"));
    std::fs::write(lab.join("src/targets.rs"), source).unwrap();

    let grader = Grader::new(&course(), Options::new(&course())).unwrap();
    let broker = Broker::connect(&BrokerChoice::Embedded).await.unwrap();
    let report = grader.grade(&broker, &submission, "escapes").await.unwrap();
    broker.shutdown().await;
    let graded = report.labs.iter().find(|l| l.number == 1).unwrap();
    assert_eq!(graded.status, Status::Failed, "{graded:#?}");
    let message = graded.message.as_deref().unwrap_or_default();
    assert!(
        message.contains("the grader's sandbox refused it"),
        "{message}"
    );
    let said = graded.details.join("\n");
    assert!(!said.contains("ESCAPED"), "{said}");
    for (_, path) in &targets {
        let refused = format!("{}: Permission denied", path.display());
        assert!(said.contains(&refused), "no {refused:?} in {said}");
    }
    assert!(
        said.contains(&format!("connect to 127.0.0.1:{port}: Permission denied")),
        "{said}"
    );
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the listener saw a connection"
    );
    assert!(
        !targets[3].1.exists(),
        "the program wrote outside its sandbox"
    );
    for dir in [other, outside, submission] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_class_graded_in_two_shards_merges_into_the_summary_of_one_run() {
    // Five students: three with lab 1's solution, one whose lab 1 panics, one with no lab
    // at all. Graded whole, and as shards 1/2 and 2/2 merged: the same summary, student by
    // student, lab by lab (the wall time aside).
    let _building = BUILDS.read().await;
    let class = temp("sharded-class");
    for student in ["ada", "bo", "cy"] {
        copy_tree(
            &course().join("solutions/01-orders"),
            &class.join(student).join("labs/01-orders"),
        );
    }
    let panics = bad_submission("panics");
    copy_tree(&panics, &class.join("dee"));
    std::fs::remove_dir_all(panics).unwrap();
    std::fs::create_dir_all(class.join("eli/labs")).unwrap();

    let reports = temp("sharded-reports");
    let grade = |shard: Option<&str>, file: &str| {
        let (class, reports) = (class.clone(), reports.clone());
        let shard = shard.map(|s| s.parse::<checker::grade::shard::Shard>().unwrap());
        let file = file.to_string();
        async move {
            let how = class::ClassRun {
                jobs: 4,
                shard,
                format: checker::grade::Format::Json,
                output: Some(&reports.join(&file)),
            };
            class::run(
                &class,
                &course(),
                Options::new(&course()),
                &BrokerChoice::Embedded,
                how,
            )
            .await
            .unwrap();
            reports.join(file)
        }
    };
    let whole = grade(None, "whole.json").await;
    let first = grade(Some("1/2"), "first.json").await;
    let second = grade(Some("2/2"), "second.json").await;
    let read = |path: &Path| -> class::Summary {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let (first_half, second_half) = (read(&first), read(&second));
    assert_eq!(first_half.shard.as_deref(), Some("1/2"));
    assert_eq!(first_half.students.len(), 3, "ada, cy, eli");
    assert_eq!(second_half.students.len(), 2, "bo, dee");
    let mut merged = checker::grade::shard::merge(&[second, first.clone()]).unwrap();
    let mut one_run = read(&whole);
    assert_eq!(one_run.students.len(), 5);
    merged.took_ms = 0;
    one_run.took_ms = 0;
    assert_eq!(merged, one_run);
    let scores: Vec<u32> = merged.students.iter().map(|s| s.total).collect();
    assert_eq!(scores, [LAB_POINTS, LAB_POINTS, LAB_POINTS, 0, 0]);
    // A shard missing, or given twice, is named.
    let missing = checker::grade::shard::merge(std::slice::from_ref(&first)).unwrap_err();
    assert!(
        missing.to_string().contains("shard 2/2 is missing"),
        "{missing}"
    );
    let twice = checker::grade::shard::merge(&[first.clone(), first]).unwrap_err();
    assert!(twice.to_string().contains("given 2 times"), "{twice}");
    for dir in [class, reports] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn every_fixture_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut tested: Vec<String> = TESTED.iter().map(|s| s.to_string()).collect();
    tested.sort();
    assert_eq!(on_disk, tested);
}

// ---------------------------------------------------------------------------------------
// A class, and the command line.

#[tokio::test(flavor = "multi_thread")]
async fn a_class_of_solutions_scores_full_marks() {
    // The yardstick: a class of 20, graded as `checker grade --class` would. How
    // long it takes is measured by `cargo bench -p checker --bench verdicts`, not here.
    const COPIES: usize = 20;
    let _alone = BUILDS.write().await;
    let info = InfoFile::load();
    let folder = temp("class");
    for student in 0..COPIES {
        solutions_submission(&folder.join(format!("student-{student}")));
    }
    assert!(class::looks_like_class(&folder, &info));
    let students = class::submissions(&folder);
    assert_eq!(students.len(), COPIES);
    let grader = Arc::new(Grader::new(&course(), Options::new(&course())).unwrap());
    let broker = Arc::new(Broker::connect(&BrokerChoice::Embedded).await.unwrap());
    let reports = class::grade_all(&grader, &broker, &students, DEFAULT_JOBS).await;
    let full = LAB_POINTS * info.labs.len() as u32;
    for (report, (student, _)) in reports.iter().zip(&students) {
        let report = report.as_ref().unwrap();
        assert_eq!(&report.submission, student);
        for lab in &report.labs {
            assert_eq!(lab.status, Status::Passed, "{student}: {lab:#?}");
        }
        assert_eq!((report.score, report.max_score), (full, full));
        assert!(report.integrity.unchanged);
    }
    let summary = class::summarise(&students, &reports, 0);
    let csv = class::csv_table(&summary, &info).unwrap();
    assert_eq!(csv.lines().count(), COPIES + 1);
    assert!(csv
        .lines()
        .skip(1)
        .all(|line| line.contains(&format!(",{full},{full},true,"))));
    let graded: Vec<Report> = reports.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        junit_shape(&junit::render(&graded).unwrap()),
        (COPIES, COPIES * info.labs.len(), 0)
    );
    let results: ExercismResults =
        serde_json::from_str(&exercism::render(&graded[0], &info).unwrap()).unwrap();
    assert_eq!(results.status, ExercismStatus::Pass);
    std::fs::remove_dir_all(folder).unwrap();
}

fn checker() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_checker"));
    // The embedded broker whatever the developer's checker.toml says.
    command.current_dir(course()).args(["--broker", "embedded"]);
    command
}

#[test]
fn the_command_exits_0_1_or_2() {
    let dir = temp("cli");
    let good = dir.join("good/labs/01-orders");
    copy_tree(&course().join("solutions/01-orders"), &good);
    let results = dir.join("results.json");
    let status = checker()
        .args(["grade", "--format", "exercism", "--output"])
        .arg(&results)
        .arg(&good)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let parsed: ExercismResults =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    assert_eq!(parsed.status, ExercismStatus::Pass);
    assert_eq!(parsed.tests.len(), InfoFile::load().labs[0].steps.len() + 1);

    // The starter fails: exit 1.
    let starter = dir.join("starter");
    copy_tree(
        &course().join("labs/01-orders"),
        &starter.join("labs/01-orders"),
    );
    let output = checker()
        .args(["grade", "--format", "junit"])
        .arg(starter.join("labs/01-orders"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    junit_shape(&String::from_utf8(output.stdout).unwrap());

    // Usage and infrastructure errors: exit 2.
    let missing = checker()
        .args(["grade"])
        .arg(dir.join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let csv_alone = checker()
        .args(["grade", "--format", "csv"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(csv_alone.status.code(), Some(2));
    std::fs::remove_dir_all(dir).unwrap();
}
