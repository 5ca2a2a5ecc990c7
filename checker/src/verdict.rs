//! How a lab came out, and the words for it.
//!
//! Every report names a verdict through [`Label`]: the learner's report, the summary of
//! `checker verify --all`, and each of the grader's formats. A verdict so reads the same
//! wherever it is shown, and a new way of failing is worded here once.

use serde::{Deserialize, Serialize};

/// How a lab came out, as the JSON and CSV reports record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every check passed and the output matches the reviewed solution's.
    Passed,
    /// The program ran and a check failed (or it crashed, hung, flooded).
    Failed,
    /// The crate does not compile (or its build did not finish in time).
    DoesNotCompile,
    /// The submission holds no crate for this lab.
    Missing,
}

impl Status {
    /// The word used in the JSON and CSV reports: `passed`, `failed`, `does-not-compile`,
    /// `missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::DoesNotCompile => "does-not-compile",
            Status::Missing => "missing",
        }
    }
}

/// A verdict as the reports name it: how the lab came out and, for a failure, which check
/// failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// Every check passed.
    Passed,
    /// The check of this step (from 1) failed.
    FailedAtStep(usize),
    /// Every step's check passed, but the output differs from the reviewed solution's.
    OutputDiffers,
    /// A check failed before any step (the program crashed at start, say).
    Failed,
    /// The crate does not compile.
    DoesNotCompile,
    /// The submission holds no crate for the lab.
    Missing,
}

impl Label {
    /// The label of a lab with `status`, the step whose check failed and whether only the
    /// output comparison failed. A failed step wins over an output mismatch.
    pub fn new(status: Status, failed_step: Option<usize>, output_mismatch: bool) -> Label {
        match (status, failed_step) {
            (Status::Passed, _) => Label::Passed,
            (Status::Failed, Some(step)) => Label::FailedAtStep(step),
            (Status::Failed, None) if output_mismatch => Label::OutputDiffers,
            (Status::Failed, None) => Label::Failed,
            (Status::DoesNotCompile, _) => Label::DoesNotCompile,
            (Status::Missing, _) => Label::Missing,
        }
    }

    /// How the lab came out, without which check failed.
    pub fn status(self) -> Status {
        match self {
            Label::Passed => Status::Passed,
            Label::FailedAtStep(_) | Label::OutputDiffers | Label::Failed => Status::Failed,
            Label::DoesNotCompile => Status::DoesNotCompile,
            Label::Missing => Status::Missing,
        }
    }

    /// Whether the lab passed.
    pub fn passed(self) -> bool {
        self == Label::Passed
    }

    /// `✓` for a pass, `✗` for anything else.
    pub fn mark(self) -> &'static str {
        if self.passed() {
            "✓"
        } else {
            "✗"
        }
    }

    /// The verdict in a report's title line, where the failed step is shown apart:
    /// `passed`, `failed`, `does not compile`, `missing`.
    pub fn headline(self) -> &'static str {
        match self.status() {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::DoesNotCompile => "does not compile",
            Status::Missing => "missing",
        }
    }

    /// The verdict in one line of a table of labs: `failed at step 2`, `failed: output
    /// differs`, else the headline.
    pub fn phrase(self) -> String {
        match self {
            Label::FailedAtStep(step) => format!("failed at step {step}"),
            Label::OutputDiffers => "failed: output differs".to_string(),
            other => other.headline().to_string(),
        }
    }

    /// The type of a JUnit `failure`: `failed at step 2`, `output differs`, else the JSON
    /// word; `None` for a pass, which is no failure.
    pub fn failure_type(self) -> Option<String> {
        match self {
            Label::Passed => None,
            Label::FailedAtStep(_) => Some(self.phrase()),
            Label::OutputDiffers => Some("output differs".to_string()),
            other => Some(other.status().as_str().to_string()),
        }
    }

    /// The verdict in a cell of the class table, six characters at most: `pass`, `step2`,
    /// `fail`, `build`, `miss`.
    pub fn cell(self) -> String {
        match self {
            Label::Passed => "pass".to_string(),
            Label::FailedAtStep(step) => format!("step{step}"),
            Label::OutputDiffers | Label::Failed => "fail".to_string(),
            Label::DoesNotCompile => "build".to_string(),
            Label::Missing => "miss".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_report_words_a_verdict_its_own_way() {
        let step = Label::new(Status::Failed, Some(3), true);
        assert_eq!(step, Label::FailedAtStep(3));
        assert_eq!(step.headline(), "failed");
        assert_eq!(step.phrase(), "failed at step 3");
        assert_eq!(step.failure_type().as_deref(), Some("failed at step 3"));
        assert_eq!(step.cell(), "step3");

        let output = Label::new(Status::Failed, None, true);
        assert_eq!(output.phrase(), "failed: output differs");
        assert_eq!(output.failure_type().as_deref(), Some("output differs"));
        assert_eq!(output.cell(), "fail");

        let build = Label::new(Status::DoesNotCompile, None, false);
        assert_eq!(build.phrase(), "does not compile");
        assert_eq!(build.failure_type().as_deref(), Some("does-not-compile"));
        assert_eq!(build.cell(), "build");

        assert_eq!(Label::new(Status::Failed, None, false).phrase(), "failed");
        assert_eq!(Label::new(Status::Missing, None, false).phrase(), "missing");
        let passed = Label::new(Status::Passed, None, false);
        assert_eq!(
            (passed.phrase(), passed.mark()),
            ("passed".to_string(), "✓")
        );
        assert_eq!(passed.failure_type(), None);
    }
}
