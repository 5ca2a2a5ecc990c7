//! The CI workflow that runs the course against Apache Kafka (`.github/workflows/kafka.yml`).
//!
//! It cannot run on the course's own machines (no registry for `apache/kafka`), so this test
//! checks what it can here: the file is valid YAML, a job runs every solution with the
//! container backend, and the image it pulls and passes is the checker's default.

use std::path::{Path, PathBuf};

use checker::broker::DEFAULT_IMAGE;
use serde_norway::Value;

fn workflow_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("checker/ has a parent")
        .join(".github/workflows/kafka.yml")
}

fn workflow() -> Value {
    let text = std::fs::read_to_string(workflow_path()).expect("the workflow file exists");
    serde_norway::from_str(&text).expect("the workflow is valid YAML")
}

/// Every `run` command of every step of every job.
fn run_commands(workflow: &Value) -> Vec<String> {
    let jobs = workflow["jobs"]
        .as_mapping()
        .expect("the workflow has jobs");
    jobs.values()
        .flat_map(|job| {
            job["steps"]
                .as_sequence()
                .expect("every job has steps")
                .iter()
                .filter_map(|step| step["run"].as_str().map(str::to_string))
        })
        .collect()
}

/// The value after `--image` in `command`.
fn image_of(command: &str) -> Option<&str> {
    let mut words = command.split_whitespace();
    words.find(|word| *word == "--image")?;
    words.next()
}

#[test]
fn the_workflow_has_a_name_triggers_and_a_job_on_ubuntu() {
    let workflow = workflow();
    assert!(
        workflow["name"].as_str().is_some(),
        "the workflow has a name"
    );
    // serde_norway reads YAML 1.2, where `on` is a plain key, as GitHub reads it.
    assert!(!workflow["on"].is_null(), "the workflow says when it runs");
    let runs_on: Vec<_> = workflow["jobs"]
        .as_mapping()
        .expect("jobs")
        .values()
        .filter_map(|job| job["runs-on"].as_str())
        .collect();
    assert!(
        runs_on.contains(&"ubuntu-latest"),
        "a job runs on ubuntu-latest (Docker is there): {runs_on:?}"
    );
}

#[test]
fn a_job_verifies_every_solution_on_apache_kafka_in_a_container() {
    let commands = run_commands(&workflow());
    let verify: Vec<_> = commands
        .iter()
        .filter(|command| command.contains("verify --all --solution"))
        .collect();
    assert_eq!(
        verify.len(),
        1,
        "one step runs verify --all --solution: {commands:?}"
    );
    let verify = verify[0];
    assert!(
        verify.contains("cargo run -p checker --"),
        "it runs the checker from the workspace: {verify}"
    );
    assert!(
        verify.contains("--broker container"),
        "it uses the container backend: {verify}"
    );
    assert_eq!(
        image_of(verify),
        Some(DEFAULT_IMAGE),
        "it passes the checker's default image: {verify}"
    );
}

#[test]
fn the_image_is_apache_kafka_4_and_the_pulled_one() {
    let (name, tag) = DEFAULT_IMAGE.split_once(':').expect("the image has a tag");
    assert_eq!(name, "apache/kafka");
    assert!(tag.starts_with("4."), "a Kafka 4.x tag: {tag}");
    assert!(
        tag.split('.').all(|part| part.parse::<u32>().is_ok()),
        "a pinned release, not a moving tag: {tag}"
    );
    let pulls: Vec<_> = run_commands(&workflow())
        .into_iter()
        .filter(|command| command.starts_with("docker pull"))
        .collect();
    assert_eq!(
        pulls,
        [format!("docker pull {DEFAULT_IMAGE}")],
        "the workflow pulls exactly the image it runs"
    );
}

// ---------------------------------------------------------------------------------------
// The workflows instructors copy (`.github/workflow-templates/`): a class graded in shards,
// and GitHub Classroom's autograding.

fn template(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.github/workflow-templates")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("the workflow template exists");
    serde_norway::from_str(&text).expect("the workflow template is valid YAML")
}

/// The `--long` flags of `command` after `grade` (or `grade merge`).
fn flags(command: &str) -> Vec<&str> {
    command
        .split_whitespace()
        .filter(|word| word.starts_with("--"))
        .collect()
}

/// `checker grade [merge] --help`: the flags the checker takes there.
fn grade_help(merge: bool) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_checker"));
    command.arg("grade");
    if merge {
        command.arg("merge");
    }
    let output = command.arg("--help").output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_class_workflow_grades_every_shard_and_merges_them() {
    let workflow = template("grade-class.yml");
    assert!(!workflow["on"].is_null(), "the workflow says when it runs");
    let shards: u64 = workflow["env"]["SHARDS"]
        .as_u64()
        .expect("SHARDS is a number");
    let matrix: Vec<u64> = workflow["jobs"]["grade"]["strategy"]["matrix"]["shard"]
        .as_sequence()
        .expect("a matrix of shards")
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(
        matrix,
        (1..=shards).collect::<Vec<_>>(),
        "one job per shard, 1..=SHARDS"
    );
    let commands = run_commands(&workflow);
    let grade: Vec<_> = commands
        .iter()
        .filter(|c| c.contains("cargo checker grade") && c.contains("--shard"))
        .collect();
    assert_eq!(grade.len(), 1, "{commands:?}");
    assert!(
        grade[0].contains("--class --shard ${{ matrix.shard }}/$SHARDS --format json"),
        "{}",
        grade[0]
    );
    let help = grade_help(false);
    for flag in flags(grade[0]) {
        assert!(help.contains(flag), "`checker grade` takes no {flag}");
    }
    assert_eq!(workflow["jobs"]["merge"]["needs"].as_str(), Some("grade"));
    let merges: Vec<_> = commands
        .iter()
        .flat_map(|c| c.lines())
        .filter(|line| line.contains("cargo checker grade merge shard-*.json"))
        .collect();
    assert!(
        !merges.is_empty(),
        "the merge job merges the shards: {commands:?}"
    );
    let help = grade_help(true);
    for flag in merges.iter().flat_map(|line| flags(line)) {
        assert!(help.contains(flag), "`checker grade merge` takes no {flag}");
    }
}

#[test]
fn the_classroom_workflow_reports_the_grade_to_classrooms_reporter() {
    let workflow = template("classroom.yml");
    let triggers = workflow["on"]
        .as_mapping()
        .expect("the workflow says when it runs");
    assert!(triggers.contains_key("push"), "it grades every push");
    let steps = workflow["jobs"]["labs"]["steps"]
        .as_sequence()
        .expect("the job has steps");
    let grade = steps
        .iter()
        .find(|step| step["id"].as_str() == Some("labs"))
        .expect("a step with id `labs` grades");
    let command = grade["run"].as_str().unwrap();
    assert!(
        command.contains("cargo checker grade . --format classroom-base64"),
        "{command}"
    );
    assert!(command.contains(">> \"$GITHUB_OUTPUT\""), "{command}");
    let reporter = steps
        .iter()
        .find(|step| {
            step["uses"].as_str().is_some_and(|uses| {
                uses.starts_with("classroom-resources/autograding-grading-reporter@")
            })
        })
        .expect("the reporter step");
    // The reporter reads each runner's result from <RUNNER>_RESULTS.
    let runner = reporter["with"]["runners"].as_str().unwrap();
    let variable = format!("{}_RESULTS", runner.to_uppercase());
    assert_eq!(
        reporter["env"][variable.as_str()].as_str(),
        Some("${{ steps.labs.outputs.result }}"),
        "{variable} holds the grading step's result"
    );
}
