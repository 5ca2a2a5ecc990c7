//! A grading run: locate a submission's labs, copy them into a workspace of the course's
//! own files, build each (see [`super::builds`]), play its scenario in a sandbox, and
//! compare the transcript with the reviewed snapshot, as `checker verify` does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::builds::Builds;
use super::integrity;
use super::locate::{self, Located};
use super::report::{cap, LabResult, Report, LAB_POINTS, MAX_DETAIL_CHARS, MAX_OUTPUT_CHARS};
use super::sandbox;
use super::workspace::{self, Workspace};
use super::BUILD_TIMEOUT;
use crate::broker::Broker;
use crate::cargo_build::Built;
use crate::confinement::Enforced;
use crate::info_file::{InfoFile, LabInfo};
use crate::process::Program;
use crate::snapshot::Comparison;
use crate::status::LiveStatus;
use crate::verdict::Status;
use crate::verify;

/// Settings of a grading run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target folder the run's builds share.
    pub target_dir: PathBuf,
    /// The longest one lab's build may take.
    pub build_timeout: Duration,
    /// Keep the temporary workspaces.
    pub keep: bool,
}

impl Options {
    /// The defaults for the course at `course`: the shared cache in its target folder.
    pub fn new(course: &Path) -> Options {
        Options {
            target_dir: default_target_dir(course),
            build_timeout: BUILD_TIMEOUT,
            keep: false,
        }
    }
}

/// The default shared target folder: `$CHECKER_GRADE_TARGET_DIR`, else `grade-cache` in
/// the course's target folder (`$CARGO_TARGET_DIR` when set). Kept apart from the course's
/// own builds, whose feature set differs, so neither invalidates the other.
pub fn default_target_dir(course: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CHECKER_GRADE_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    crate::cargo_build::target_folder(course).join("grade-cache")
}

/// A grading run: the course, where its builds go, and what the run has built so far.
pub struct Grader {
    course: PathBuf,
    info: InfoFile,
    options: Options,
    scratch: workspace::Scratch,
    builds: Builds,
    counter: std::sync::atomic::AtomicUsize,
    /// Live status of a one-submission run (class runs show a progress bar instead).
    status: std::sync::Mutex<Option<LiveStatus>>,
    /// Scenarios allowed to play at once, across every submission being graded.
    scenarios: tokio::sync::Semaphore,
    /// Whether a sandbox the kernel enforces only in part was reported.
    warned: AtomicBool,
    /// The TCP ports of each broker graded on, by bootstrap address: asked once.
    ports: tokio::sync::Mutex<HashMap<String, Vec<u16>>>,
}

/// Scenarios that may play at once per core. A scenario mostly waits on the group protocol,
/// but its checks have deadlines (lab 5 must read the committed offsets within one
/// processing slot), and a class graded with every lab of eight submissions at once (48
/// scenarios on 2 cores) missed one: a correct program got a wrong grade. Four per core
/// is what eight submissions one lab at a time used to run, and never missed.
const SCENARIOS_PER_CORE: usize = 4;

impl Grader {
    /// A grading run for the course at `course`.
    pub fn new(course: &Path, options: Options) -> Result<Grader> {
        let scratch = workspace::Scratch::create()?;
        let builds = Builds::new(
            &options.target_dir,
            options.build_timeout,
            scratch.join("bin"),
        );
        Ok(Grader {
            course: course.to_path_buf(),
            info: InfoFile::load(),
            options,
            scratch,
            builds,
            scenarios: tokio::sync::Semaphore::new(
                SCENARIOS_PER_CORE * std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            counter: Default::default(),
            status: Default::default(),
            warned: AtomicBool::new(false),
            ports: Default::default(),
        })
    }

    /// Shows what the run is doing as it goes: a spinner on a terminal, plain lines on
    /// stderr otherwise.
    pub fn with_live_status(self, first: String) -> Grader {
        *self.status.lock().expect("status poisoned") = Some(LiveStatus::start(first));
        self
    }

    /// Ends the live status, before the report is printed.
    pub fn stop_live_status(&self) {
        self.status.lock().expect("status poisoned").take();
    }

    fn say(&self, message: String) {
        if let Some(status) = &*self.status.lock().expect("status poisoned") {
            status.update(message);
        }
    }

    /// The course manifest the run grades against.
    pub fn info(&self) -> &InfoFile {
        &self.info
    }

    /// Grades the submission at `path`, named `name` in reports, against `broker`.
    ///
    /// `Err` only for the grader's own failures (cargo missing, disk full); everything a
    /// submission can get wrong is a verdict in the report.
    pub async fn grade(&self, broker: &Broker, path: &Path, name: &str) -> Result<Report> {
        let started = Instant::now();
        let located = locate::locate(path, &self.info)?;
        let before = integrity::fingerprint(path)?;
        self.say(format!(
            "Preparing the builds in {} (the first grading run compiles librdkafka: minutes)",
            self.options.target_dir.display()
        ));
        self.builds
            .prime(|| {
                let empty = Located::default();
                Workspace::create(&self.scratch, "prime", &self.course, &self.info, &empty)
            })
            .await?;
        let index = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let workspace = Workspace::create(
            &self.scratch,
            &format!("{index}-{}", sanitize(name)),
            &self.course,
            &self.info,
            &located,
        )?;
        // The labs side by side: each has its own sandbox, topics and groups, and most of
        // a scenario's time is spent waiting on the group protocol.
        let graded = self
            .info
            .labs
            .iter()
            .filter(|lab| located.single.is_none_or(|only| only == lab.number))
            .map(|lab| async {
                match located.labs.get(&lab.number) {
                    None => Ok(missing(lab)),
                    Some(_) => self.grade_lab(broker, &workspace, lab).await,
                }
            });
        let labs = futures_util::future::join_all(graded)
            .await
            .into_iter()
            .collect::<Result<Vec<LabResult>>>()?;
        let after = integrity::fingerprint(path)?;
        let integrity = integrity::compare(&before, &after);
        let kept = if self.options.keep {
            Some(workspace.keep())
        } else {
            drop(workspace);
            None
        };
        Ok(Report {
            submission: name.to_string(),
            path: path.to_path_buf(),
            score: labs.iter().map(|lab| lab.score).sum(),
            max_score: labs.iter().map(|lab| lab.max_score).sum(),
            labs,
            took_ms: started.elapsed().as_millis() as u64,
            integrity,
            workspace: kept,
        })
    }

    async fn grade_lab(
        &self,
        broker: &Broker,
        workspace: &Workspace,
        lab: &LabInfo,
    ) -> Result<LabResult> {
        let started = Instant::now();
        let mut result = blank(lab);
        result.notes = workspace.notes(lab.number);
        self.say(format!("Lab {}: building", lab.number));
        let built = self.builds.program(workspace, lab).await?;
        let binary = match built {
            Built::DoesNotCompile(messages) => {
                result.status = Status::DoesNotCompile;
                result.message = Some("the crate does not compile".to_string());
                result.details = vec![cap(&messages, MAX_DETAIL_CHARS)];
                result.took_ms = started.elapsed().as_millis() as u64;
                return Ok(result);
            }
            Built::Binary(binary) => binary,
        };
        self.say(format!("Lab {}: running its scenario", lab.number));
        let sandbox = workspace.sandbox(lab)?;
        let launcher = sandbox.launcher(&binary)?;
        let confinement = Arc::new(sandbox.confinement(&self.broker_ports(broker).await));
        self.warn_once(confinement.enforced());
        let enforced = confinement.enforced();
        let played = {
            let _slot = self.scenarios.acquire().await?;
            verify::play(lab, broker, Program::confined(launcher, confinement)).await
        };
        let verify::Played {
            result: played,
            transcript,
            ..
        } = played;
        // Whatever escaped the process groups the scenario killed goes now.
        sandbox.sweep();
        let verdict = match played {
            Err(failure) => Err((failure, false)),
            Ok(()) => {
                let comparison = Comparison::of(lab, &transcript);
                let mismatch = matches!(comparison, Comparison::Differs(_));
                comparison
                    .failure(lab)
                    .map_or(Ok(()), |f| Err((f, mismatch)))
            }
        };
        match verdict {
            Ok(()) => {
                result.status = Status::Passed;
                result.score = LAB_POINTS;
            }
            Err((failure, mismatch)) => {
                result.status = Status::Failed;
                result.failed_step = failure.step;
                result.output_mismatch = mismatch;
                result.details = failure
                    .details
                    .iter()
                    .map(|d| cap(&console::strip_ansi_codes(d), MAX_DETAIL_CHARS))
                    .collect();
                result.message = Some(sandbox::name_refusals(
                    failure.message,
                    &result.details,
                    enforced,
                ));
            }
        }
        if !transcript.trim().is_empty() {
            result.output = Some(cap(&transcript, MAX_OUTPUT_CHARS));
        }
        result.took_ms = started.elapsed().as_millis() as u64;
        Ok(result)
    }
}

impl Drop for Grader {
    fn drop(&mut self) {
        self.scratch.release(self.options.keep);
    }
}

impl Grader {
    /// The ports a graded program may connect to on `broker`, read from its metadata the
    /// first time only: a metadata request per lab cost a class graded one lab at a time
    /// about 5 s in 50.
    async fn broker_ports(&self, broker: &Broker) -> Vec<u16> {
        let mut known = self.ports.lock().await;
        if let Some(ports) = known.get(broker.bootstrap()) {
            return ports.clone();
        }
        let ports = sandbox::broker_ports(broker).await;
        known.insert(broker.bootstrap().to_string(), ports.clone());
        ports
    }

    /// Says, once per grader, that the kernel does not enforce the whole sandbox.
    fn warn_once(&self, enforced: Enforced) {
        if enforced != Enforced::FilesAndPorts && !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!(
                "WARNING: the graded programs' sandbox is {}",
                enforced.describe()
            );
        }
    }
}

fn blank(lab: &LabInfo) -> LabResult {
    LabResult {
        number: lab.number,
        name: lab.name.clone(),
        title: lab.title.clone(),
        status: Status::Failed,
        score: 0,
        max_score: LAB_POINTS,
        failed_step: None,
        output_mismatch: false,
        message: None,
        details: Vec::new(),
        output: None,
        notes: Vec::new(),
        took_ms: 0,
    }
}

fn missing(lab: &LabInfo) -> LabResult {
    LabResult {
        status: Status::Missing,
        message: Some(format!("not submitted: no labs/{} crate", lab.dir())),
        ..blank(lab)
    }
}

/// A name safe as one path component.
fn sanitize(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if clean.is_empty() {
        "submission".to_string()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_safe_path_components() {
        assert_eq!(sanitize("alice/../x y"), "alice____x_y");
        assert_eq!(sanitize(""), "submission");
    }
}
