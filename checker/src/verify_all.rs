//! `checker verify --all`: every lab in turn against one broker, then a summary table.
//!
//! One broker serves every lab: starting it is the slow part of a short check, and each
//! scenario uses topic and group names of its own, so the labs cannot disturb each other.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use console::style;

use crate::broker::{Broker, BrokerChoice};
use crate::info_file::{InfoFile, LabInfo, Variant};
use crate::state_file::StateFile;
use crate::status::LiveStatus;
use crate::verify::{self, Settings};

/// One line of the summary: a lab, its verdict and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The lab's number.
    pub number: usize,
    /// The lab's name.
    pub name: String,
    /// `passed`, `failed at step 2`, `does not compile`, or the checker's own error.
    pub result: String,
    /// Whether the lab passed.
    pub passed: bool,
    /// Wall time of its build and scenario.
    pub took: Duration,
}

/// Checks every lab of `variant` on one broker, records each verdict of the learner's labs
/// in `state`, prints a line per lab and then the summary. Returns whether all passed.
pub async fn run(
    choice: &BrokerChoice,
    root: &Path,
    info: &InfoFile,
    state: &mut StateFile,
    variant: Variant,
) -> Result<bool> {
    let started = Instant::now();
    let broker = {
        let _status = LiveStatus::start(format!("Starting the {} broker", choice.kind()));
        Broker::connect(choice).await?
    };
    let settings = Settings {
        variant,
        compare_snapshot: true,
    };
    let mut rows = Vec::new();
    for lab in &info.labs {
        let row = match verify::check(root, lab, &broker, settings).await {
            Ok(outcome) => {
                if variant == Variant::Starter {
                    state.record(&lab.dir(), outcome.passed());
                    // Saved after every lab, so an interrupted run keeps what it learnt.
                    state.save()?;
                }
                row(
                    lab,
                    outcome.verdict.label().phrase(),
                    outcome.passed(),
                    outcome.took,
                )
            }
            // The checker itself failed (cargo missing, say): not the learner's verdict.
            Err(error) => row(
                lab,
                format!("checker error: {error:#}"),
                false,
                Duration::ZERO,
            ),
        };
        print_line(&row);
        rows.push(row);
    }
    // Deletes the runs' topics and groups on a broker that outlives them, removes a
    // container started for them.
    broker.shutdown().await;
    println!();
    print_table(&rows, started.elapsed());
    let all_passed = rows.iter().all(|row| row.passed);
    if let Some(failed) = rows.iter().find(|row| !row.passed) {
        let command = match variant {
            Variant::Starter => format!("cargo checker verify {}", failed.number),
            Variant::Solution => format!("cargo checker verify {} --solution", failed.number),
        };
        println!(
            "Run {} to see what lab {} expects and what it saw.",
            style(command).cyan(),
            failed.number
        );
    }
    Ok(all_passed)
}

fn row(lab: &LabInfo, result: String, passed: bool, took: Duration) -> Row {
    Row {
        number: lab.number,
        name: lab.name.clone(),
        result,
        passed,
        took,
    }
}

fn print_line(row: &Row) {
    let mark = if row.passed {
        style("✓").green().bold()
    } else {
        style("✗").red().bold()
    };
    println!(
        "{mark} lab {} {}: {} {}",
        row.number,
        row.name,
        row.result,
        style(format!("({:.1} s)", row.took.as_secs_f64())).dim()
    );
}

/// Prints the summary table; the columns are padded before colouring, so they line up on
/// a terminal as in a log.
pub fn print_table(rows: &[Row], total: Duration) {
    println!("{}", style(table_header()).bold());
    for row in rows {
        println!("{}", table_row(row, true));
    }
    let passed = rows.iter().filter(|row| row.passed).count();
    println!(
        "{passed}/{} labs passed in {:.1} s",
        rows.len(),
        total.as_secs_f64()
    );
}

fn table_header() -> String {
    format!(" {:>2}  {:<26} {:<24} {:>9}", "#", "lab", "result", "time")
}

fn table_row(row: &Row, colour: bool) -> String {
    let result = format!("{:<24}", row.result);
    let result = match (colour, row.passed) {
        (false, _) => result,
        (true, true) => style(result).green().to_string(),
        (true, false) => style(result).red().to_string(),
    };
    format!(
        " {:>2}  {:<26} {result} {:>7.1} s",
        row.number,
        row.name,
        row.took.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_columns_line_up_with_the_header() {
        let header = table_header();
        let row = Row {
            number: 3,
            name: "modulo-assignment".into(),
            result: "failed at step 2".into(),
            passed: false,
            took: Duration::from_millis(12_345),
        };
        let line = table_row(&row, false);
        assert_eq!(line.find("modulo"), header.find("lab"));
        assert_eq!(line.find("failed"), header.find("result"));
        assert_eq!(line.len(), header.len(), "{line:?} / {header:?}");
        assert!(line.ends_with("   12.3 s"), "{line:?}");
    }
}
