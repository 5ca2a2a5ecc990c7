//! Exercism's test-runner interface, version 3 (`results.json`): one test per lab step, plus
//! one for the output comparison, in course order.
//!
//! A lab whose failure names step k passes steps 1..k, fails step k, and reports the later
//! steps as failed with the message "not reached" (the interface has no "skipped"). Tasks
//! are the graded labs' steps numbered in course order, so when one lab is graded a test's
//! `task_id` is its step number; the output test spans a whole lab and links to no task.

use anyhow::Result;
use serde::Serialize;

use super::{failure_text, lab_of, step_outcomes, StepOutcome};
use crate::grade::Report;
use crate::info_file::InfoFile;
use crate::verdict::Status;

/// The most characters the interface allows in a test's `output`.
pub const MAX_OUTPUT: usize = 500;
/// The most characters the interface allows in the top-level `message`.
pub const MAX_MESSAGE: usize = 65_000;
const TRUNCATED: &str = "\nOutput was truncated. Please limit to 500 chars";

/// The top level of `results.json`.
#[derive(Debug, Serialize)]
pub struct Results {
    /// Always 3.
    pub version: u32,
    /// `pass`, `fail` (a test failed or errored) or `error` (no lab compiled, or the
    /// submission folder changed while it was graded).
    pub status: &'static str,
    /// Set only when `status` is `error`: what went wrong.
    pub message: Option<String>,
    /// The tests, in course order.
    pub tests: Vec<Test>,
}

/// One test.
#[derive(Debug, Serialize)]
pub struct Test {
    /// `lab 1 (orders) step 2`.
    pub name: String,
    /// `pass` or `fail`.
    pub status: &'static str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What the student's programs printed (only on the failing test), at most 500 chars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// What is tested: the step's statement from the problem.
    pub test_code: String,
    /// The task (lab step) the test checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<u32>,
}

/// Builds the results of `report`.
pub fn results(report: &Report, info: &InfoFile) -> Results {
    let mut tests = Vec::new();
    let mut task = 0;
    for result in &report.labs {
        let (steps, statements, contract) = match lab_of(info, result) {
            Some(lab) => (lab.steps.len(), lab.steps.clone(), lab.output.join("\n")),
            None => (0, Vec::new(), String::new()),
        };
        let (outcomes, last) = step_outcomes(result, steps);
        let prefix = format!("lab {} ({})", result.number, result.name);
        let failure = match result.status {
            Status::Missing => "not submitted".to_string(),
            _ => failure_text(result),
        };
        // A lab that did not build ran no test: each of its tests errored.
        let errored = result.status == Status::DoesNotCompile;
        for (index, outcome) in outcomes.iter().enumerate() {
            task += 1;
            tests.push(test(
                format!("{prefix} step {}", index + 1),
                *outcome,
                &failure,
                result.output.as_deref(),
                statements[index].clone(),
                Some(task),
                errored,
            ));
        }
        tests.push(test(
            format!("{prefix} output matches the reviewed solution"),
            last,
            &failure,
            result.output.as_deref(),
            contract,
            None,
            errored,
        ));
    }
    let compile_errors: Vec<String> = report
        .labs
        .iter()
        .filter(|lab| lab.status == Status::DoesNotCompile)
        .map(|lab| {
            format!(
                "lab {} ({}) does not compile:\n{}",
                lab.number,
                lab.name,
                failure_text(lab)
            )
        })
        .collect();
    // The interface keeps `error` for a run where no test executed: here, no lab compiled.
    let none_ran = report
        .labs
        .iter()
        .all(|lab| matches!(lab.status, Status::DoesNotCompile | Status::Missing));
    let (status, message) = if none_ran && !compile_errors.is_empty() {
        (
            "error",
            Some(crate::grade::cap(&compile_errors.join("\n\n"), MAX_MESSAGE)),
        )
    } else if !report.integrity.unchanged {
        (
            "error",
            Some(format!(
                "the submission folder changed while it was graded: {}",
                report.integrity.changed.join(", ")
            )),
        )
    } else if tests.iter().all(|t| t.status == "pass") {
        ("pass", None)
    } else {
        ("fail", None)
    };
    Results {
        version: 3,
        status,
        message,
        tests,
    }
}

fn test(
    name: String,
    outcome: StepOutcome,
    failure: &str,
    output: Option<&str>,
    test_code: String,
    task_id: Option<u32>,
    errored: bool,
) -> Test {
    let (status, message, output) = match outcome {
        _ if errored => ("error", Some(failure.to_string()), None),
        StepOutcome::Passed => ("pass", None, None),
        StepOutcome::Failed => ("fail", Some(failure.to_string()), output.map(limit)),
        StepOutcome::NotReached => ("fail", Some("not reached".to_string()), None),
    };
    Test {
        name,
        status,
        message,
        output,
        test_code,
        task_id,
    }
}

/// `output` within the interface's 500 characters, the truncation notice included.
fn limit(output: &str) -> String {
    if output.chars().count() <= MAX_OUTPUT {
        return output.to_string();
    }
    let keep = MAX_OUTPUT - TRUNCATED.chars().count();
    let head: String = output.chars().take(keep).collect();
    format!("{head}{TRUNCATED}")
}

/// Renders `report` as `results.json`.
pub fn render(report: &Report, info: &InfoFile) -> Result<String> {
    Ok(serde_json::to_string_pretty(&results(report, info))? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_limited_to_500_characters_with_the_notice() {
        let limited = limit(&"x".repeat(2_000));
        assert_eq!(limited.chars().count(), MAX_OUTPUT);
        assert!(limited.ends_with("Please limit to 500 chars"));
        assert_eq!(limit("short"), "short");
    }
}
