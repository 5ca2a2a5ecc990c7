//! The report for people: one line per lab, then the evidence of each failure.

use std::fmt::Write;

use crate::grade::Report;

/// Lines of a failure's evidence shown per lab; the JSON report has all of it.
const DETAIL_LINES: usize = 40;

/// Renders `report` as plain text.
pub fn render(report: &Report) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "{} ({})", report.submission, report.path.display());
    for lab in &report.labs {
        let label = lab.label();
        let (mark, verdict) = (label.mark(), label.phrase());
        let _ = writeln!(
            text,
            "{mark} lab {} {:<24} {:<24} {:>2}/{} ({:.1} s)",
            lab.number,
            lab.name,
            verdict,
            lab.score,
            lab.max_score,
            lab.took_ms as f64 / 1000.0
        );
        if !label.passed() {
            if let Some(message) = &lab.message {
                let _ = writeln!(text, "    {message}");
            }
            let lines: Vec<&str> = lab.details.iter().flat_map(|d| d.lines()).collect();
            for line in lines.iter().take(DETAIL_LINES) {
                let _ = writeln!(text, "      {line}");
            }
            if lines.len() > DETAIL_LINES {
                let _ = writeln!(
                    text,
                    "      [... {} more lines: see --format json]",
                    lines.len() - DETAIL_LINES
                );
            }
        }
        for note in &lab.notes {
            let _ = writeln!(text, "    note: {note}");
        }
    }
    if !report.integrity.unchanged {
        let _ = writeln!(
            text,
            "✗ the submission folder changed while it was graded: {}",
            report.integrity.changed.join(", ")
        );
    }
    let _ = writeln!(
        text,
        "score {}/{} in {:.1} s",
        report.score,
        report.max_score,
        report.took_ms as f64 / 1000.0
    );
    text
}
