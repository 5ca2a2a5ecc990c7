//! Verifying a lab: build its crate, play its scenario against a broker, compare the
//! normalised transcript with the reviewed snapshot.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::broker::Broker;
use crate::cargo_build::{self, Built, CargoBuild};
use crate::info_file::{LabInfo, Variant};
use crate::process::Program;
use crate::scenario::{self, Failure, Measurement, Run};
use crate::snapshot::Comparison;
use crate::status::LiveStatus;
use crate::verdict::Label;

/// The longest a whole scenario may take before the lab counts as hanging.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// What the checker concluded about one lab.
#[derive(Debug)]
pub enum Verdict {
    /// Every check passed and the transcript matches the snapshot.
    Passed,
    /// The program ran but a check failed.
    Failed(Failure),
    /// The crate does not compile; the compiler's messages.
    DoesNotCompile(String),
}

/// The verdict on one lab, with what was observed.
#[derive(Debug)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// The normalised transcript, when the scenario ran to its end.
    pub transcript: Option<String>,
    /// Wall time of build and scenario.
    pub took: Duration,
    /// What the scenario measured on its way (handover times, a speed-up).
    pub measurements: Vec<Measurement>,
    /// Every line the lab's processes printed, with the checker's signals and their exits,
    /// as `<seconds> <lane>: <event>`.
    pub timeline: Vec<String>,
    /// The run's nonce, part of its topics, groups and payloads (empty: nothing ran).
    pub nonce: String,
}

/// What playing a scenario gave.
#[derive(Debug)]
pub struct Played {
    /// Whether every check passed, or the first that failed.
    pub result: Result<(), Failure>,
    /// The normalised transcript.
    pub transcript: String,
    /// What the scenario measured on its way.
    pub measurements: Vec<Measurement>,
    /// What happened, process by process, in time order.
    pub timeline: Vec<String>,
    /// The run's nonce.
    pub nonce: String,
}

impl Verdict {
    /// The verdict as the reports name it. Verify words a failed output comparison as any
    /// failure before a step: its message says what differs.
    pub fn label(&self) -> Label {
        match self {
            Verdict::Passed => Label::Passed,
            Verdict::Failed(failure) => failure.step.map_or(Label::Failed, Label::FailedAtStep),
            Verdict::DoesNotCompile(_) => Label::DoesNotCompile,
        }
    }
}

impl Outcome {
    /// Whether the lab passed.
    pub fn passed(&self) -> bool {
        matches!(self.verdict, Verdict::Passed)
    }
}

/// How to verify.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Which crate of the lab to build.
    pub variant: Variant,
    /// Compare the transcript with the reviewed snapshot (off only while recording one).
    pub compare_snapshot: bool,
}

/// Builds and checks `lab` of the workspace at `root` against `broker`.
pub async fn check(
    root: &Path,
    lab: &LabInfo,
    broker: &Broker,
    settings: Settings,
) -> Result<Outcome> {
    let started = Instant::now();
    let package = settings.variant.package(lab);
    let status = if lacks_librdkafka(&cargo_build::target_folder(root)) {
        LiveStatus::start(format!(
            "Building {package}. The first build also compiles librdkafka (C), which takes a \
             few minutes; later builds take seconds"
        ))
    } else {
        LiveStatus::start(format!("Building {package}"))
    };
    let binary = match CargoBuild::new(root, &package).program().await? {
        Built::Binary(binary) => binary,
        Built::DoesNotCompile(messages) => {
            return Ok(Outcome {
                verdict: Verdict::DoesNotCompile(messages),
                transcript: None,
                took: started.elapsed(),
                measurements: Vec::new(),
                timeline: Vec::new(),
                nonce: String::new(),
            })
        }
    };
    status.update(format!(
        "Running lab {} on the {}",
        lab.number,
        broker.describe()
    ));
    let mut outcome = judge(lab, broker, binary, settings).await;
    drop(status);
    outcome.took = started.elapsed();
    Ok(outcome)
}

/// Plays `lab`'s scenario with the built program `binary` and compares its transcript with
/// the snapshot. `took` is the scenario's time alone.
pub async fn judge(lab: &LabInfo, broker: &Broker, binary: PathBuf, settings: Settings) -> Outcome {
    let started = Instant::now();
    let Played {
        result,
        transcript,
        measurements,
        timeline,
        nonce,
    } = play(lab, broker, Program::plain(binary)).await;
    let verdict = match result {
        Err(failure) => Verdict::Failed(failure),
        Ok(()) if settings.compare_snapshot => Comparison::of(lab, &transcript)
            .failure(lab)
            .map_or(Verdict::Passed, Verdict::Failed),
        Ok(()) => Verdict::Passed,
    };
    Outcome {
        verdict,
        transcript: Some(transcript),
        took: started.elapsed(),
        measurements,
        timeline,
        nonce,
    }
}

/// Whether a build into the target folder `target` will compile librdkafka first: true
/// while that folder holds no build of `rdkafka-sys`.
///
/// The learner is told, since a silent build of several minutes looks like a hang.
pub fn lacks_librdkafka(target: &Path) -> bool {
    match std::fs::read_dir(target.join("debug").join("build")) {
        Ok(entries) => !entries.flatten().any(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("rdkafka-sys-")
        }),
        Err(_) => true,
    }
}

/// Plays `lab`'s scenario with the program `binary`. Every process it started is gone when
/// this returns.
pub async fn play(lab: &LabInfo, broker: &Broker, program: Program) -> Played {
    let mut run = Run::new(broker, program);
    let played = tokio::time::timeout(SCENARIO_TIMEOUT, scenario::play(lab.number, &mut run)).await;
    let played = played.unwrap_or_else(|_| {
        Err(run.fail(format!(
            "the scenario did not finish within {} s",
            SCENARIO_TIMEOUT.as_secs()
        )))
    });
    Played {
        result: played,
        transcript: run.transcript.render(run.nonce()),
        measurements: std::mem::take(&mut run.measurements),
        timeline: run.timeline(),
        nonce: run.nonce().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_folder_without_rdkafka_means_a_long_first_build() {
        let dir = std::env::temp_dir().join(format!("checker-target-{}", std::process::id()));
        let build = dir.join("debug").join("build");
        std::fs::create_dir_all(&build).unwrap();
        assert!(lacks_librdkafka(&dir));
        std::fs::create_dir_all(build.join("rdkafka-sys-0123abcd")).unwrap();
        assert!(!lacks_librdkafka(&dir));
        assert!(lacks_librdkafka(&dir.join("missing")));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
