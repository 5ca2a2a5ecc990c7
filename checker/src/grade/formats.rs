//! The report formats: text for people, JSON, JUnit XML, Exercism's `results.json` and
//! GitHub Classroom's autograding result.

pub mod classroom;
pub mod exercism;
pub mod json;
pub mod junit;
pub mod text;

use anyhow::{bail, Result};

use super::{Format, LabResult, Report};
use crate::info_file::{InfoFile, LabInfo};
use crate::verdict::Status;

/// Renders `report` in `format`.
pub fn render(report: &Report, info: &InfoFile, format: Format) -> Result<String> {
    Ok(match format {
        Format::Text => text::render(report),
        Format::Json => json::render(report)?,
        Format::Junit => junit::render(std::slice::from_ref(report))?,
        Format::Exercism => exercism::render(report, info)?,
        Format::Classroom => classroom::render(report, info)?,
        Format::ClassroomBase64 => classroom::render_base64(report, info)?,
        Format::Csv => bail!("csv is the format of a class summary"),
    })
}

/// How one step of a lab came out, for the formats that report steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Its check passed.
    Passed,
    /// Its check failed: the lab's message belongs to this step.
    Failed,
    /// An earlier check failed (or the lab did not build, or is missing): never checked.
    NotReached,
}

/// Each step's outcome, then the outcome of the last check (the output against the
/// reviewed solution's).
///
/// A failure naming step k passes the steps before k. A failure naming no step is the
/// output comparison when `output_mismatch` is set, otherwise a failure before step 1.
pub fn step_outcomes(result: &LabResult, steps: usize) -> (Vec<StepOutcome>, StepOutcome) {
    use StepOutcome::*;
    let failed_at = match result.status {
        Status::Passed => return (vec![Passed; steps], Passed),
        Status::Missing | Status::DoesNotCompile => 1,
        Status::Failed if result.output_mismatch => return (vec![Passed; steps], Failed),
        Status::Failed => result.failed_step.unwrap_or(1).clamp(1, steps.max(1)),
    };
    let outcomes = (1..=steps)
        .map(|step| match step.cmp(&failed_at) {
            std::cmp::Ordering::Less => Passed,
            std::cmp::Ordering::Equal => Failed,
            std::cmp::Ordering::Greater => NotReached,
        })
        .collect();
    (outcomes, NotReached)
}

/// The message and evidence of a failed lab in one text.
pub fn failure_text(result: &LabResult) -> String {
    let mut text = result.message.clone().unwrap_or_default();
    for detail in &result.details {
        text.push('\n');
        text.push_str(detail);
    }
    text
}

/// The lab of a result.
pub fn lab_of<'i>(info: &'i InfoFile, result: &LabResult) -> Option<&'i LabInfo> {
    info.labs.iter().find(|lab| lab.number == result.number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepOutcome::*;

    fn result(status: Status, step: Option<usize>, mismatch: bool) -> LabResult {
        LabResult {
            number: 1,
            name: "orders".into(),
            title: "Orders".into(),
            status,
            score: 0,
            max_score: 10,
            failed_step: step,
            output_mismatch: mismatch,
            message: None,
            details: Vec::new(),
            output: None,
            notes: Vec::new(),
            took_ms: 0,
        }
    }

    #[test]
    fn a_failed_step_passes_the_steps_before_it() {
        let (steps, output) = step_outcomes(&result(Status::Failed, Some(2), false), 3);
        assert_eq!(steps, [Passed, Failed, NotReached]);
        assert_eq!(output, NotReached);
        let (steps, output) = step_outcomes(&result(Status::Failed, None, true), 3);
        assert_eq!(steps, [Passed, Passed, Passed]);
        assert_eq!(output, Failed);
        let (steps, _) = step_outcomes(&result(Status::DoesNotCompile, None, false), 2);
        assert_eq!(steps, [Failed, NotReached]);
        let (steps, output) = step_outcomes(&result(Status::Passed, None, false), 2);
        assert_eq!((steps, output), (vec![Passed, Passed], Passed));
    }
}
