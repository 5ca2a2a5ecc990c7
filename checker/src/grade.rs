//! `checker grade`: an instructor's grader for submitted labs.
//!
//! A submission is never built or run where it lies. Its lab crates' `src/` folders are
//! copied into a temporary workspace made from the course's own files (workspace manifest,
//! lock file, `lab-contract`, each lab's `Cargo.toml`, `labs/info.toml`), so a submission
//! cannot change its dependencies, add a build script or bring its own solutions. The crates
//! are built into a target folder shared by the whole grading run (librdkafka is compiled
//! once), each program runs in a sandbox folder with its own `HOME` and `TMPDIR`, and every
//! scenario uses fresh topic and group names, as `checker verify` does.
//!
//! What the grader enforces, and what it cannot:
//! - the submission folder is fingerprinted before and after and must be byte-identical
//!   (`target/` and `.git/` excepted); a change is reported;
//! - writes to relative paths and to `~` land in the sandbox, which is deleted afterwards;
//! - the grader's own environment is scrubbed (only `PATH`, locale and the lab contract's
//!   variables reach a lab), so tokens in a CI environment do not leak into reports;
//! - processes a lab leaves behind, even ones that left its process group, are found through
//!   `/proc` (sandbox marker in the environment, working folder or executable in the
//!   sandbox) and killed;
//! - on Linux with Landlock, every program runs confined ([`crate::confinement`]): it reads
//!   only the system's files and its crate, writes only its sandbox folder, and connects
//!   only to the broker; where the kernel lacks Landlock the grader says so once.
//!
//! The parts: [`grader`] runs a grading from submission to [`report`]; [`locate`] finds the
//! labs in a submission, [`workspace`] and [`sandbox`] hold them while they are built
//! ([`builds`]) and run, [`integrity`] proves the submission folder untouched; [`formats`]
//! renders a report, [`class`] grades a folder of submissions into one summary, and
//! [`shard`] splits a class across machines and merges their summaries.

pub mod builds;
pub mod class;
pub mod formats;
pub mod grader;
pub mod integrity;
pub mod locate;
pub mod report;
pub mod sandbox;
pub mod shard;
pub mod workspace;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::broker::{Broker, BrokerChoice};
use crate::info_file::InfoFile;

pub use grader::{default_target_dir, Grader, Options};
pub use integrity::Integrity;
pub use report::{cap, LabResult, Report, LAB_POINTS, MAX_DETAIL_CHARS, MAX_OUTPUT_CHARS};

/// Default for `--build-timeout`: one lab crate's build, librdkafka already compiled.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// The report formats `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A human-readable report (class mode: a table).
    Text,
    /// The report as JSON (class mode: the summary as JSON).
    Json,
    /// JUnit XML: one testsuite per submission, one testcase per lab.
    Junit,
    /// Exercism's test-runner `results.json`, version 3: one test per lab step.
    Exercism,
    /// The JSON a GitHub Classroom autograding runner reports (`max_score`, `tests`).
    Classroom,
    /// The same, base64-encoded: the value of the runner's `result` output.
    ClassroomBase64,
    /// Class mode only: the summary table as CSV.
    Csv,
}

/// `checker grade`'s arguments.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    /// `merge`: join the JSON summaries of a class graded in shards.
    #[command(subcommand)]
    pub command: Option<GradeCommand>,
    /// The submission: a folder holding `labs/`, a copy of `labs/`, or one lab crate
    /// (`labs/03-modulo-assignment`); with --class, a folder of submissions.
    #[arg(required = true)]
    pub path: Option<PathBuf>,
    /// The report's format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// PATH is a class: each subfolder is one student's submission (detected on its own
    /// when PATH holds no labs but its subfolders do).
    #[arg(long)]
    pub class: bool,
    /// How many submissions to grade at once in class mode.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_JOBS)]
    pub jobs: usize,
    /// Class mode: grade only shard K of N (every N-th student of the sorted class, from
    /// the K-th), for a class split across N machines; join the JSON summaries with
    /// `checker grade merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<shard::Shard>,
    /// The target folder shared by the run's builds (default: `grade-cache` in the
    /// course's target folder, or $CHECKER_GRADE_TARGET_DIR).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// The longest one lab's build may take, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = BUILD_TIMEOUT.as_secs())]
    pub build_timeout: u64,
    /// Keep the temporary workspaces (their path is printed) to inspect a verdict.
    #[arg(long)]
    pub keep: bool,
}

/// `checker grade`'s subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum GradeCommand {
    /// Join the JSON summaries of a class graded in shards (`--shard K/N --format json`)
    /// into the summary one run would have printed.
    Merge {
        /// Every shard's summary, in any order.
        #[arg(required = true, value_name = "REPORT")]
        reports: Vec<PathBuf>,
        /// The summary's format: text, json or csv.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Write the summary to FILE instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Runs `checker grade` for the course at `course` on `choice`'s broker: one submission or
/// a class. Exit code 0 when everything passed, 1 when something failed; `Err` (exit 2) on
/// a usage or infrastructure error.
pub async fn run(args: Args, course: &Path, choice: &BrokerChoice) -> Result<ExitCode> {
    if let Some(GradeCommand::Merge {
        reports,
        format,
        output,
    }) = &args.command
    {
        return merge(reports, *format, output.as_deref());
    }
    let given = args.path.clone().expect("clap requires a path");
    let path = given
        .canonicalize()
        .with_context(|| format!("cannot read the submission {}", given.display()))?;
    let info = InfoFile::load();
    let class = args.class
        || (locate::locate(&path, &info)?.is_empty() && class::looks_like_class(&path, &info));
    let mut options = Options::new(course);
    if let Some(dir) = &args.target_dir {
        options.target_dir = std::path::absolute(dir)?;
    }
    options.build_timeout = Duration::from_secs(args.build_timeout);
    options.keep = args.keep;
    if class {
        if !matches!(
            args.format,
            Format::Text | Format::Json | Format::Csv | Format::Junit
        ) {
            bail!("a class is reported as text, json, csv or junit");
        }
        let how = class::ClassRun {
            jobs: args.jobs.max(1),
            shard: args.shard,
            format: args.format,
            output: args.output.as_deref(),
        };
        return class::run(&path, course, options, choice, how).await;
    }
    if args.shard.is_some() {
        bail!("--shard splits a class: add --class, or leave --shard out");
    }
    if args.format == Format::Csv {
        bail!("csv is the format of a class summary: add --class, or pick another format");
    }
    let grader =
        Grader::new(course, options)?.with_live_status(format!("Grading {}", path.display()));
    let broker = Broker::connect(choice).await?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".to_string());
    let graded = grader.grade(&broker, &path, &name).await;
    broker.shutdown().await;
    grader.stop_live_status();
    let report = graded?;
    if let Some(kept) = &report.workspace {
        eprintln!("kept the workspace in {}", kept.display());
    }
    let text = formats::render(&report, grader.info(), args.format)?;
    write_output(args.output.as_deref(), &text)?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `checker grade merge`: the shards' summaries as one, in `format`, with the exit code
/// one class run would have had ([`class::Summary::exit_code`]).
fn merge(reports: &[PathBuf], format: Format, output: Option<&Path>) -> Result<ExitCode> {
    let summary = shard::merge(reports)?;
    let info = InfoFile::load();
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&summary)? + "\n",
        Format::Csv => class::csv_table(&summary, &info)?,
        Format::Text => class::text_table(&summary, &info),
        _ => bail!("merged shards are reported as text, json or csv"),
    };
    write_output(output, &text)?;
    Ok(summary.exit_code())
}

/// Class mode's default parallelism, whatever the CPU count: a scenario spends its time
/// waiting for the broker and for simulated processing, not computing. On 2 cores, 20
/// submissions took 5.8 min 2 at a time, 2 min 8 at a time and 1.4 min 12 at a time, every
/// one scored in full each time; 8 leaves room for a busier machine.
pub const DEFAULT_JOBS: usize = 8;

/// Writes a report to `output`, or stdout.
pub fn write_output(output: Option<&Path>, text: &str) -> Result<()> {
    match output {
        Some(file) => std::fs::write(file, text)
            .with_context(|| format!("cannot write the report to {}", file.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
