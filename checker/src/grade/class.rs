//! Grading a class: every subfolder of a folder is one student's submission. Submissions
//! are graded a few at a time on one broker, and the run ends with one summary table.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::shard::Shard;
use super::{formats, locate, write_output, Format, Grader, Options, Report};
use crate::broker::{Broker, BrokerChoice};
use crate::info_file::InfoFile;
use crate::verdict::{Label, Status};

/// One lab of one student, as the summary shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The lab's number.
    pub number: usize,
    /// The lab's name.
    pub name: String,
    /// `passed`, `failed`, `does-not-compile` or `missing`.
    pub status: Status,
    /// Points earned.
    pub score: u32,
    /// The step whose check failed, if one did.
    pub failed_step: Option<usize>,
    /// Why it did not pass.
    pub message: Option<String>,
}

/// One student's line of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The student: the submission folder's name.
    pub student: String,
    /// The submission folder.
    pub path: PathBuf,
    /// Every lab, in course order (empty when grading failed).
    pub labs: Vec<Cell>,
    /// Points earned.
    pub total: u32,
    /// Points available.
    pub max_score: u32,
    /// Whether the submission folder was left byte-identical.
    pub unchanged: bool,
    /// The grader's own error, when it could not grade this submission.
    pub error: Option<String>,
}

/// The class summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// One row per student, by name.
    pub students: Vec<Row>,
    /// Wall time of the whole run, in milliseconds.
    pub took_ms: u64,
    /// `K/N` when only shard K of N was graded (`--shard`); `checker grade merge` joins
    /// the shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

/// Whether `path` looks like a class: a subfolder of it is a submission.
pub fn looks_like_class(path: &Path, info: &InfoFile) -> bool {
    submissions(path)
        .iter()
        .any(|(_, sub)| locate::locate(sub, info).is_ok_and(|found| !found.is_empty()))
}

/// The submissions in a class folder: its subfolders (hidden ones aside), by name.
pub fn submissions(path: &Path) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            )
        })
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    found.sort();
    found
}

/// How a class is graded and reported.
#[derive(Debug, Clone)]
pub struct ClassRun<'a> {
    /// Submissions graded at once.
    pub jobs: usize,
    /// Only this shard of the students, if given.
    pub shard: Option<Shard>,
    /// The summary's format: text, json, csv, or junit with one testsuite per student.
    pub format: Format,
    /// Where the summary goes (stdout if `None`).
    pub output: Option<&'a Path>,
}

/// Grades every submission in `path` (or the shard's share of them) and writes the
/// summary.
pub async fn run(
    path: &Path,
    course: &Path,
    options: Options,
    choice: &BrokerChoice,
    how: ClassRun<'_>,
) -> Result<ExitCode> {
    let ClassRun {
        jobs,
        shard,
        format,
        output,
    } = how;
    let started = Instant::now();
    let everyone = submissions(path);
    let students = match shard {
        Some(shard) => shard.pick(&everyone),
        None => everyone,
    };
    let grader = Arc::new(Grader::new(course, options)?);
    let broker = Arc::new(Broker::connect(choice).await?);
    let reports = grade_all(&grader, &broker, &students, jobs).await;
    if let Ok(broker) = Arc::try_unwrap(broker) {
        broker.shutdown().await;
    }
    let mut summary = summarise(&students, &reports, started.elapsed().as_millis() as u64);
    summary.shard = shard.map(|s| s.to_string());
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&summary)? + "\n",
        Format::Csv => csv_table(&summary, grader.info())?,
        Format::Junit => {
            let graded: Vec<Report> = reports
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .cloned()
                .collect();
            formats::junit::render(&graded)?
        }
        _ => text_table(&summary, grader.info()),
    };
    write_output(output, &text)?;
    Ok(summary.exit_code())
}

impl Summary {
    /// The class run's exit code: 2 when a submission could not be graded, 0 when every
    /// lab of every student passed with the submission left unchanged, 1 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        let passed =
            |row: &Row| row.unchanged && row.labs.iter().all(|lab| lab.status == Status::Passed);
        if self.students.iter().any(|row| row.error.is_some()) {
            ExitCode::from(2)
        } else if self.students.iter().all(passed) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Grades `students` on `broker`, at most `jobs` at once; results in the students' order.
pub async fn grade_all(
    grader: &Arc<Grader>,
    broker: &Arc<Broker>,
    students: &[(String, PathBuf)],
    jobs: usize,
) -> Vec<Result<Report, String>> {
    let progress = progress_bar(students.len());
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (name, path)) in students.iter().cloned().enumerate() {
        let (grader, broker, permits) = (grader.clone(), broker.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            let report = grader
                .grade(&broker, &path, &name)
                .await
                .map_err(|e| format!("{e:#}"));
            (index, name, report)
        });
    }
    let mut results: Vec<Option<Result<Report, String>>> = vec![None; students.len()];
    while let Some(joined) = tasks.join_next().await {
        let (index, name, report) = match joined {
            Ok(done) => done,
            Err(e) => {
                progress.println(format!("a grading task failed: {e}"));
                continue;
            }
        };
        let line = match &report {
            Ok(report) => format!("{name}: {}/{}", report.score, report.max_score),
            Err(error) => format!("{name}: grading failed: {error}"),
        };
        if progress.is_hidden() {
            eprintln!("{line}");
        } else {
            progress.println(line);
        }
        progress.inc(1);
        results[index] = Some(report);
    }
    progress.finish_and_clear();
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("the grading task panicked".to_string())))
        .collect()
}

fn progress_bar(len: usize) -> indicatif::ProgressBar {
    if !console::Term::stderr().is_term() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30.cyan} {pos}/{len} submissions graded {elapsed:.dim} (eta {eta})",
        )
        .expect("valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The summary of a run.
pub fn summarise(
    students: &[(String, PathBuf)],
    reports: &[Result<Report, String>],
    took_ms: u64,
) -> Summary {
    let students = students
        .iter()
        .zip(reports)
        .map(|((student, path), report)| match report {
            Ok(report) => Row {
                student: student.clone(),
                path: path.clone(),
                labs: report
                    .labs
                    .iter()
                    .map(|lab| Cell {
                        number: lab.number,
                        name: lab.name.clone(),
                        status: lab.status,
                        score: lab.score,
                        failed_step: lab.failed_step,
                        message: lab.message.clone(),
                    })
                    .collect(),
                total: report.score,
                max_score: report.max_score,
                unchanged: report.integrity.unchanged,
                error: None,
            },
            Err(error) => Row {
                student: student.clone(),
                path: path.clone(),
                labs: Vec::new(),
                total: 0,
                max_score: 0,
                unchanged: true,
                error: Some(error.clone()),
            },
        })
        .collect();
    Summary {
        students,
        took_ms,
        shard: None,
    }
}

/// The summary as CSV: a row per student, a status and a score column per lab.
pub fn csv_table(summary: &Summary, info: &InfoFile) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["student".to_string()];
    for lab in &info.labs {
        header.push(format!("lab{:02}_status", lab.number));
        header.push(format!("lab{:02}_score", lab.number));
    }
    header.extend(["total", "max_score", "unchanged", "error"].map(String::from));
    writer.write_record(&header)?;
    for row in &summary.students {
        let mut record = vec![row.student.clone()];
        for lab in &info.labs {
            match row.labs.iter().find(|cell| cell.number == lab.number) {
                Some(cell) => {
                    record.push(cell.status.as_str().to_string());
                    record.push(cell.score.to_string());
                }
                None => record.extend([String::new(), String::new()]),
            }
        }
        record.push(row.total.to_string());
        record.push(row.max_score.to_string());
        record.push(row.unchanged.to_string());
        record.push(row.error.clone().unwrap_or_default());
        writer.write_record(&record)?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

/// The summary as a table for people.
pub fn text_table(summary: &Summary, info: &InfoFile) -> String {
    use std::fmt::Write;
    let mut text = format!("{:<24}", "student");
    for lab in &info.labs {
        let _ = write!(text, " {:>6}", format!("lab {}", lab.number));
    }
    let _ = writeln!(text, " {:>7}", "total");
    for row in &summary.students {
        let _ = write!(text, "{:<24}", row.student);
        if let Some(error) = &row.error {
            let _ = writeln!(text, " grading failed: {error}");
            continue;
        }
        for lab in &info.labs {
            let cell = row.labs.iter().find(|cell| cell.number == lab.number);
            // The summary keeps no output mismatch: such a lab shows as any failure.
            let shown = cell.map_or("-".to_string(), |c| {
                Label::new(c.status, c.failed_step, false).cell()
            });
            let _ = write!(text, " {shown:>6}");
        }
        let changed = if row.unchanged {
            ""
        } else {
            " (folder changed!)"
        };
        let _ = writeln!(text, " {:>4}/{}{changed}", row.total, row.max_score);
    }
    let _ = writeln!(
        text,
        "{} submissions graded in {:.1} s",
        summary.students.len(),
        summary.took_ms as f64 / 1000.0
    );
    text
}
