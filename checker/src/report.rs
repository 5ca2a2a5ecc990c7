//! Printing verdicts for a learner: what failed, expected against seen, and what to do next.

use console::style;
use similar::ChangeTag;

use crate::info_file::LabInfo;
use crate::snapshot;
use crate::verify::{Outcome, Verdict};

/// Prints the verdict on `lab`, with the failing step, evidence and a pointer to a hint.
pub fn print(lab: &LabInfo, outcome: &Outcome, solution: bool) {
    let name = format!("Lab {} · {}", lab.number, lab.title);
    let took = format!("({:.1} s)", outcome.took.as_secs_f64());
    match &outcome.verdict {
        Verdict::Passed => {
            println!(
                "{} {} passed {}",
                style("✓").green().bold(),
                style(name).bold(),
                style(took).dim()
            );
        }
        Verdict::DoesNotCompile(messages) => {
            println!(
                "{} {} does not compile {}",
                style("✗").red().bold(),
                style(name).bold(),
                style(took).dim()
            );
            println!("{messages}");
            next_step(lab, solution);
        }
        Verdict::Failed(failure) => {
            println!(
                "{} {} failed {}",
                style("✗").red().bold(),
                style(name).bold(),
                style(took).dim()
            );
            if let Some(step) = failure.step {
                let text = lab.steps.get(step - 1).map(String::as_str).unwrap_or("");
                println!(
                    "  {} {}",
                    style(format!("Step {step}:")).yellow().bold(),
                    text
                );
            }
            println!("  {}", style(&failure.message).bold());
            for detail in &failure.details {
                for line in detail.lines() {
                    println!("    {line}");
                }
            }
            next_step(lab, solution);
        }
    }
}

fn next_step(lab: &LabInfo, solution: bool) {
    if solution {
        println!("  This is the reference solution failing: please report it as a bug.");
    } else {
        println!(
            "  Stuck? {} shows the next hint.",
            style(format!("cargo checker hint {}", lab.number)).cyan()
        );
    }
}

/// A diff of the expected and seen transcripts, `-` for expected lines and `+` for seen
/// ones, coloured on a terminal.
pub fn render_diff(expected: &str, actual: &str) -> String {
    let mut text = String::from("expected (-) and seen (+):\n");
    for (tag, line) in snapshot::diff(expected, actual) {
        let line = match tag {
            ChangeTag::Delete => style(format!("-{line}")).red().to_string(),
            ChangeTag::Insert => style(format!("+{line}")).green().to_string(),
            ChangeTag::Equal => format!(" {line}"),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}
