//! Printing verdicts for a learner: what failed, expected against seen, and what to do next.

use std::fmt::Write;

use console::style;

use crate::info_file::LabInfo;
use crate::verify::{Outcome, Verdict};

/// Where a verdict is shown, which decides how the report says to get the next hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A learner at the command line: `cargo checker hint N`.
    Command,
    /// A learner in watch mode, where one key shows the next hint.
    Watch,
    /// Someone checking the reference solution: a failure there is a bug in the course.
    Solution,
}

/// Prints the verdict on `lab`, with the failing step, evidence and a pointer to a hint.
pub fn print(lab: &LabInfo, outcome: &Outcome, solution: bool) {
    let audience = if solution {
        Audience::Solution
    } else {
        Audience::Command
    };
    print_for(lab, outcome, audience);
}

/// Prints the verdict on `lab` for `audience`, in the order a learner needs it: which step
/// failed, what was expected against what was seen, and how to get the next hint.
pub fn print_for(lab: &LabInfo, outcome: &Outcome, audience: Audience) {
    print!("{}", render(lab, outcome, audience));
}

/// The report [`print_for`] prints, as text: coloured when stdout is a terminal, plain and
/// greppable otherwise (console turns colours off by itself then).
pub fn render(lab: &LabInfo, outcome: &Outcome, audience: Audience) -> String {
    let name = format!("Lab {} · {}", lab.number, lab.title);
    let took = style(format!("({:.1} s)", outcome.took.as_secs_f64())).dim();
    let label = outcome.verdict.label();
    let mark = if label.passed() {
        style(label.mark()).green().bold()
    } else {
        style(label.mark()).red().bold()
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{mark} {} {} {took}",
        style(name).bold(),
        label.headline()
    );
    match &outcome.verdict {
        Verdict::Passed => {
            // What the run measured (handover times, a speed-up): the lesson in numbers.
            for measurement in &outcome.measurements {
                let _ = writeln!(text, "  {}", style(measurement).dim());
            }
        }
        Verdict::DoesNotCompile(messages) => {
            let _ = writeln!(text, "{messages}");
            next_step(&mut text, lab, audience);
        }
        Verdict::Failed(failure) => {
            // 1. Which step of the problem statement failed.
            if let Some(step) = failure.step {
                let statement = lab.steps.get(step - 1).map(String::as_str).unwrap_or("");
                let _ = writeln!(
                    text,
                    "  {} {statement}",
                    style(format!("Step {step}:")).yellow().bold()
                );
            }
            // 2. What was expected and what was seen: the message, then the evidence.
            let _ = writeln!(text, "  {}", style(&failure.message).bold());
            for detail in &failure.details {
                for line in detail.lines() {
                    let _ = writeln!(text, "    {line}");
                }
            }
            // 3. What the programs did, most recent last: the context of the evidence.
            timeline_tail(&mut text, &outcome.timeline);
            // 4. How to get unstuck.
            next_step(&mut text, lab, audience);
        }
    }
    text
}

/// The last lines of a failed run's timeline that a report shows; `--verbose` shows all.
const TIMELINE_TAIL: usize = 12;

fn timeline_tail(text: &mut String, timeline: &[String]) {
    if timeline.is_empty() {
        return;
    }
    let skipped = timeline.len().saturating_sub(TIMELINE_TAIL);
    let _ = writeln!(
        text,
        "  {}",
        style(if skipped > 0 {
            format!("The run's last {TIMELINE_TAIL} events (seconds from its start; --verbose shows all {}):", timeline.len())
        } else {
            "The run's events (seconds from its start):".to_string()
        })
        .dim()
    );
    for line in &timeline[skipped..] {
        let _ = writeln!(text, "    {}", style(line).dim());
    }
}

/// The whole timeline of a run, for `--verbose`.
pub fn timeline(outcome: &Outcome) -> String {
    let mut text = String::new();
    if !outcome.timeline.is_empty() {
        let _ = writeln!(text, "  Timeline (seconds from the start of the run):");
        for line in &outcome.timeline {
            let _ = writeln!(text, "    {line}");
        }
    }
    text
}

fn next_step(text: &mut String, lab: &LabInfo, audience: Audience) {
    let _ = match audience {
        Audience::Solution => writeln!(
            text,
            "  This is the reference solution failing: please report it as a bug."
        ),
        Audience::Command => writeln!(
            text,
            "  Stuck? {} shows the next hint.",
            style(format!("cargo checker hint {}", lab.number)).cyan()
        ),
        Audience::Watch => writeln!(
            text,
            "  Stuck? Press {} for the next hint.",
            style("h").cyan().bold()
        ),
    };
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::info_file::InfoFile;
    use crate::scenario::Failure;

    fn lab() -> LabInfo {
        InfoFile::load().labs.remove(0)
    }

    fn failed(step: Option<usize>, details: Vec<String>) -> Outcome {
        Outcome {
            verdict: Verdict::Failed(Failure {
                step,
                message: "the consumer read 4 orders, expected 5".into(),
                details,
            }),
            transcript: None,
            took: Duration::from_millis(1500),
            measurements: Vec::new(),
            timeline: Vec::new(),
            nonce: String::new(),
        }
    }

    #[test]
    fn a_failure_says_step_then_evidence_then_hint() {
        let lab = lab();
        let diff = crate::diff::render("sent order1\nsent order2\n", "sent order1\nsent order3\n");
        let text = console::strip_ansi_codes(&render(
            &lab,
            &failed(Some(2), vec![diff]),
            Audience::Command,
        ))
        .into_owned();
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle:?} missing from:\n{text}"))
        };
        assert!(at("Lab 1 · Orders and ordering failed (1.5 s)") < at("Step 2:"));
        assert!(at("Step 2:") < at(&lab.steps[1]));
        assert!(at(&lab.steps[1]) < at("expected 5"));
        assert!(at("expected 5") < at("expected (-) and seen (+):"));
        assert!(at("     sent order1") < at("    -sent order2"));
        assert!(at("    -sent order2") < at("    +sent order3"));
        assert!(at("+sent order3") < at("Stuck? cargo checker hint 1 shows the next hint."));
    }

    #[test]
    fn the_hint_pointer_fits_where_the_report_is_shown() {
        let lab = lab();
        let outcome = failed(None, Vec::new());
        let watch =
            console::strip_ansi_codes(&render(&lab, &outcome, Audience::Watch)).into_owned();
        assert!(watch.contains("Press h for the next hint"), "{watch}");
        assert!(!watch.contains("Step"), "no step to name: {watch}");
        let solution = render(&lab, &outcome, Audience::Solution);
        assert!(solution.contains("report it as a bug"), "{solution}");
    }
}
