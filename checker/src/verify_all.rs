//! `checker verify --all`: every lab against one broker, side by side, then a summary table.
//!
//! One broker serves every lab: starting it is the slow part of a short check. The labs are
//! built one after another (cargo would serialise the builds anyway), then their scenarios
//! run at the same time: each uses topic and group names of its own, so the labs cannot
//! disturb each other, and most of a scenario's time is spent waiting on the group
//! protocol, not on the CPU.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use console::style;
use tokio::task::JoinSet;

use crate::broker::{Broker, BrokerChoice};
use crate::cargo_build::{Built, CargoBuild};
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
    /// Wall time of its scenario (of its build, when it did not compile).
    pub took: Duration,
}

/// Checks every lab of `variant` on one broker, records each verdict of the learner's labs
/// in `state`, prints a line per lab as it finishes and then the summary. Returns whether
/// all passed.
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
    let broker = Arc::new(broker);
    let mut rows = check_all(root, &info.labs, &broker, variant, |lab, row| {
        if variant == Variant::Starter {
            state.record(&lab.dir(), row.passed);
            // Saved after every lab, so an interrupted run keeps what it learnt.
            state.save()?;
        }
        Ok(())
    })
    .await?;
    rows.sort_by_key(|row| row.number);
    // Deletes the runs' topics and groups on a broker that outlives them, removes a
    // container started for them.
    if let Ok(broker) = Arc::try_unwrap(broker) {
        broker.shutdown().await;
    }
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

/// Builds every lab of `labs`, then plays their scenarios side by side on `broker`. Prints
/// a line per lab as it finishes and hands it and its row to `finished`; returns the rows in the
/// order the labs finished.
pub async fn check_all(
    root: &Path,
    labs: &[LabInfo],
    broker: &Arc<Broker>,
    variant: Variant,
    mut finished: impl FnMut(&LabInfo, &Row) -> Result<()>,
) -> Result<Vec<Row>> {
    let settings = Settings {
        variant,
        compare_snapshot: true,
    };
    let mut rows = Vec::new();
    let mut scenarios = JoinSet::new();
    for (index, lab) in labs.iter().enumerate() {
        let package = variant.package(lab);
        let built = {
            let _status = LiveStatus::start(format!(
                "Building {package} ({} of {})",
                index + 1,
                labs.len()
            ));
            let started = Instant::now();
            CargoBuild::new(root, &package)
                .program()
                .await
                .map(|built| (built, started.elapsed()))
        };
        match built {
            Ok((Built::Binary(binary), _)) => {
                let (lab, broker) = (lab.clone(), broker.clone());
                scenarios.spawn(async move {
                    let outcome = verify::judge(&lab, &broker, binary, settings).await;
                    let row = row(
                        &lab,
                        outcome.verdict.label().phrase(),
                        outcome.passed(),
                        outcome.took,
                    );
                    (lab, row)
                });
            }
            Ok((Built::DoesNotCompile(_), took)) => {
                let row = row(lab, "does not compile".to_string(), false, took);
                finish(lab, &row, None, &mut finished)?;
                rows.push(row);
            }
            // The checker itself failed (cargo missing, say): not the learner's verdict.
            Err(error) => {
                let row = row(
                    lab,
                    format!("checker error: {error:#}"),
                    false,
                    Duration::ZERO,
                );
                finish(lab, &row, None, &mut finished)?;
                rows.push(row);
            }
        }
    }
    let status = LiveStatus::start(format!(
        "Running {} labs side by side on the {}",
        scenarios.len(),
        broker.describe()
    ));
    while let Some(done) = scenarios.join_next().await {
        let (lab, row) = done?;
        finish(&lab, &row, Some(&status), &mut finished)?;
        rows.push(row);
        if !scenarios.is_empty() {
            let left = scenarios.len();
            status.update(format!(
                "{left} lab{} still running",
                if left == 1 { "" } else { "s" }
            ));
        }
    }
    Ok(rows)
}

fn finish(
    lab: &LabInfo,
    row: &Row,
    status: Option<&LiveStatus>,
    finished: &mut impl FnMut(&LabInfo, &Row) -> Result<()>,
) -> Result<()> {
    match status {
        Some(status) => status.println(line(row)),
        None => println!("{}", line(row)),
    }
    finished(lab, row)
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

fn line(row: &Row) -> String {
    let mark = if row.passed {
        style("✓").green().bold()
    } else {
        style("✗").red().bold()
    };
    format!(
        "{mark} lab {} {}: {} {}",
        row.number,
        row.name,
        row.result,
        style(format!("({:.1} s)", row.took.as_secs_f64())).dim()
    )
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
