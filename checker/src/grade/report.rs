//! What grading a submission produces: a result per lab and the submission's report, the
//! data every format renders.

use std::path::PathBuf;

use serde::Serialize;

use super::integrity::Integrity;
use crate::verdict::{Label, Status};

/// Points a passed lab earns; a lab that fails, does not compile or is missing earns none.
///
/// All or nothing per lab: the checker's verdict is on the whole lab, and a program that
/// passes step 1 by printing well has not done a fraction of the work.
pub const LAB_POINTS: u32 = 10;
/// Characters of a program's captured output kept in a report (the rest is cut).
pub const MAX_OUTPUT_CHARS: usize = 4_000;
/// Characters of one failure detail or of the compiler's messages kept in a report.
pub const MAX_DETAIL_CHARS: usize = 8_000;
/// The grade of one lab of one submission.
#[derive(Debug, Clone, Serialize)]
pub struct LabResult {
    /// The lab's number.
    pub number: usize,
    /// The lab's short name (`orders`).
    pub name: String,
    /// The lab's title.
    pub title: String,
    /// The verdict.
    pub status: Status,
    /// Points earned.
    pub score: u32,
    /// Points available.
    pub max_score: u32,
    /// The step (from 1) whose check failed; `None` when none did, or the failure came
    /// before any step (see `output_mismatch`).
    pub failed_step: Option<usize>,
    /// Every step's check passed, but the normalised output differs from the snapshot.
    pub output_mismatch: bool,
    /// What went wrong, in a sentence; `None` when the lab passed.
    pub message: Option<String>,
    /// Evidence: compiler messages, a diff, a program's stderr (ANSI-free, capped).
    pub details: Vec<String>,
    /// The programs' normalised output, capped at [`MAX_OUTPUT_CHARS`].
    pub output: Option<String>,
    /// Remarks that do not change the verdict (a submitted `Cargo.toml` that was ignored).
    pub notes: Vec<String>,
    /// Wall time of the lab's build and run, in milliseconds.
    pub took_ms: u64,
}

impl LabResult {
    /// The verdict as the reports name it.
    pub fn label(&self) -> Label {
        Label::new(self.status, self.failed_step, self.output_mismatch)
    }
}

/// The grade of one submission.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// A short name: the student's folder in class mode, the folder's name otherwise.
    pub submission: String,
    /// The graded path.
    pub path: PathBuf,
    /// The graded labs in course order: every lab, or the single lab a crate path names.
    pub labs: Vec<LabResult>,
    /// Points earned.
    pub score: u32,
    /// Points available.
    pub max_score: u32,
    /// Wall time, in milliseconds.
    pub took_ms: u64,
    /// Whether the submission folder is byte-identical after grading.
    pub integrity: Integrity,
    /// The temporary workspace, when kept with `--keep`.
    pub workspace: Option<PathBuf>,
}

impl Report {
    /// Whether every graded lab passed and the submission was left untouched.
    pub fn passed(&self) -> bool {
        self.labs.iter().all(|lab| lab.status == Status::Passed) && self.integrity.unchanged
    }
}

/// `text` cut to at most `max` characters, saying how much was cut.
pub fn cap(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!(
            "{}\n[... {} more characters cut]",
            &text[..at],
            text[at..].chars().count()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_capped_and_says_so() {
        assert_eq!(cap("short", 10), "short");
        let capped = cap(&"é".repeat(30), 10);
        assert!(capped.starts_with(&"é".repeat(10)));
        assert!(capped.ends_with("[... 20 more characters cut]"), "{capped}");
    }
}
