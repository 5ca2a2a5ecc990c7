//! GitHub Classroom autograding: the JSON a grader action reports in its `result` output
//! (base64-encoded), which `autograding-grading-reporter` decodes from `<RUNNER>_RESULTS`,
//! sums (`tests[].score` against `max_score`) and posts to Classroom.
//!
//! One test per lab, worth [`crate::grade::LAB_POINTS`]. A workflow step runs
//! `checker grade . --format classroom-base64` and writes `result=<that>` to
//! `$GITHUB_OUTPUT`.

use anyhow::Result;
use base64::Engine;
use serde::Serialize;

use super::failure_text;
use crate::grade::Report;
use crate::info_file::InfoFile;
use crate::verdict::Status;

/// The runner's result.
#[derive(Debug, Serialize)]
pub struct Results {
    /// The runner format's version, 1 as the command grader writes it.
    pub version: u32,
    /// `pass` when every lab passed, `fail` otherwise, `error` when the submission folder
    /// changed while it was graded.
    pub status: &'static str,
    /// The points available.
    pub max_score: u32,
    /// One test per lab.
    pub tests: Vec<Test>,
}

/// One lab.
#[derive(Debug, Serialize)]
pub struct Test {
    /// `lab 1 orders`.
    pub name: String,
    /// `pass`, `fail` or `error` (does not compile).
    pub status: &'static str,
    /// Points earned.
    pub score: u32,
    /// Why it did not pass; empty when it did.
    pub message: String,
    /// The lab's steps: what was tested.
    pub test_code: String,
    /// The lab's crate.
    pub filename: String,
    /// Always 0: a lab is a whole crate.
    pub line_no: u32,
    /// Wall time of the lab's build and run, in milliseconds.
    pub duration: u64,
}

/// Builds the result of `report`.
pub fn results(report: &Report, info: &InfoFile) -> Results {
    let tests: Vec<Test> = report
        .labs
        .iter()
        .map(|lab| {
            let steps = super::lab_of(info, lab)
                .map(|info| info.steps.join("\n"))
                .unwrap_or_default();
            Test {
                name: format!("lab {} {}", lab.number, lab.name),
                status: match lab.status {
                    Status::Passed => "pass",
                    Status::DoesNotCompile => "error",
                    Status::Failed | Status::Missing => "fail",
                },
                score: lab.score,
                message: if lab.status == Status::Passed {
                    String::new()
                } else {
                    failure_text(lab)
                },
                test_code: steps,
                filename: format!("labs/{:02}-{}", lab.number, lab.name),
                line_no: 0,
                duration: lab.took_ms,
            }
        })
        .collect();
    let status = if !report.integrity.unchanged {
        "error"
    } else if tests.iter().all(|t| t.status == "pass") {
        "pass"
    } else {
        "fail"
    };
    Results {
        version: 1,
        status,
        max_score: report.max_score,
        tests,
    }
}

/// Renders `report`'s result as JSON.
pub fn render(report: &Report, info: &InfoFile) -> Result<String> {
    Ok(serde_json::to_string_pretty(&results(report, info))? + "\n")
}

/// Renders `report`'s result as the runner's `result` output: compact JSON, base64.
pub fn render_base64(report: &Report, info: &InfoFile) -> Result<String> {
    let json = serde_json::to_string(&results(report, info))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(json) + "\n")
}
