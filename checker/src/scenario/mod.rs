//! Scenarios: what the checker does with a lab's program, and what it asserts.
//!
//! A scenario creates fresh topics and groups, starts the lab's processes, waits for the
//! events it expects (never for a fixed time), checks what the broker holds, and writes a
//! normalised [`Transcript`] for the snapshot. Each lab has one module here.

pub mod group;
mod group_watch;
mod lab01_orders;
mod lab02_group_sizing;
mod lab03_modulo_assignment;
mod lab04_group_consumer;
mod lab05_concurrent_consumption;
mod lab06_click_processors;
mod lab07_delivery_semantics;
mod lab08_slow_consumers;
mod lab09_static_membership;
mod lab10_assignors;
mod lab11_consumer_protocol;
mod lab12_lag_and_offsets;
pub mod lines;
pub mod patience;
mod readback;
pub mod reading;
mod split;
mod stray_topic;
mod timeline;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab_contract::{env, AssignmentLine, GroupTimers, Topic};
use tokio::sync::Notify;

use self::lines::ownership;
use self::patience::Patience;
use crate::broker::Broker;
use crate::process::{describe_exit, last_lines, LabProcess, Launch, Program};
use crate::transcript::Transcript;

/// Why a lab did not pass: the step of the problem statement and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The step (from 1) of the lab's `steps` being checked, if the scenario had reached one.
    pub step: Option<usize>,
    /// What went wrong, in a sentence or two.
    pub message: String,
    /// Supporting evidence: a program's stderr, the lines that did not fit, ...
    pub details: Vec<String>,
}

impl Failure {
    /// Adds a line of evidence.
    pub fn detail(mut self, detail: impl Into<String>) -> Failure {
        self.details.push(detail.into());
        self
    }
}

/// A figure a scenario measured on its way (a handover time, a speed-up), for the learner
/// and the benchmark. Never part of the transcript, which must not vary from run to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// What was measured: `leave round (range): handover after SIGTERM`.
    pub name: String,
    /// Its value, in `unit`.
    pub value: f64,
    /// `s`, `×`, or nothing for a count.
    pub unit: &'static str,
}

impl std::fmt::Display for Measurement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.unit {
            "×" => write!(f, "{} {:.1}×", self.name, self.value),
            "" => write!(f, "{} {}", self.name, self.value),
            unit => write!(f, "{} {:.1} {unit}", self.name, self.value),
        }
    }
}

/// Identifies a process started in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessId(usize);

/// One run of a scenario: its broker, names, processes and transcript.
pub struct Run<'b> {
    /// The broker the lab runs against.
    pub broker: &'b Broker,
    /// The normalised output that will be compared with the snapshot.
    pub transcript: Transcript,
    /// What the scenario measured on its way.
    pub measurements: Vec<Measurement>,
    program: Program,
    nonce: String,
    step: Option<usize>,
    events: Arc<Notify>,
    processes: Vec<LabProcess>,
    // Processes the checker killed on purpose, or expects to end on their own: their end is
    // not the lab's fault.
    // Behind a lock, so that waits running side by side can each kill at their moment.
    expected_ends: std::sync::Mutex<Vec<ProcessId>>,
    // When the run began, and the checker's notes on it (signals sent, broker events seen):
    // for the timeline.
    began: std::time::Instant,
    marks: std::sync::Mutex<Vec<(std::time::Instant, ProcessId, String)>>,
}

/// How long a scenario may wait for one expected event before calling the lab stuck.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

impl<'b> Run<'b> {
    /// A run of `program` against `broker`, with a fresh nonce.
    pub fn new(broker: &'b Broker, program: Program) -> Run<'b> {
        Run {
            broker,
            transcript: Transcript::default(),
            measurements: Vec::new(),
            program,
            nonce: new_nonce(),
            step: None,
            events: Arc::new(Notify::new()),
            processes: Vec::new(),
            expected_ends: std::sync::Mutex::new(Vec::new()),
            began: std::time::Instant::now(),
            marks: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The run's nonce: part of every topic, group and checker-written payload.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// A name unique to this run: `<base>-<nonce>`.
    pub fn unique(&self, base: &str) -> String {
        format!("{base}-{}", self.nonce)
    }

    /// The waits for a lab whose consumers set `timers`, on this run's broker.
    pub fn patience(&self, timers: GroupTimers) -> Patience {
        Patience {
            initial_delay: self.broker.initial_rebalance_delay(),
            timers,
        }
    }

    /// Records a duration the scenario measured.
    pub fn measured(&mut self, name: impl Into<String>, duration: Duration) {
        self.measurements.push(Measurement {
            name: name.into(),
            value: duration.as_secs_f64(),
            unit: "s",
        });
    }

    /// Records a ratio the scenario measured (a speed-up).
    pub fn measured_ratio(&mut self, name: impl Into<String>, ratio: f64) {
        self.measurements.push(Measurement {
            name: name.into(),
            value: ratio,
            unit: "×",
        });
    }

    /// Records a number of things the scenario counted (messages lost, repeated).
    pub fn measured_count(&mut self, name: impl Into<String>, count: usize) {
        self.measurements.push(Measurement {
            name: name.into(),
            value: count as f64,
            unit: "",
        });
    }

    /// When process `id`, a single consumer, first owned exactly `partitions` at or after
    /// `since`, by when the checker read the line that made it so.
    pub fn owned_from(&self, id: ProcessId, partitions: &[i32], since: Instant) -> Option<Instant> {
        let mut owned = Vec::new();
        for (at, line) in self.process(id).timed_lines() {
            let Some(line) = AssignmentLine::parse(&line).filter(|l| l.member.is_none()) else {
                continue;
            };
            lines::apply(&mut owned, &line);
            if at >= since && owned == partitions {
                return Some(at);
            }
        }
        None
    }

    /// Marks which step of the lab the following checks belong to.
    pub fn step(&mut self, step: usize) {
        self.step = Some(step);
    }

    /// A failure of the current step.
    pub fn fail(&self, message: impl Into<String>) -> Failure {
        Failure {
            step: self.step,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// The failure for a line outside the lab's output contract: who printed it (when the
    /// lines of several processes were checked together, nobody in particular), the line,
    /// and what the contract expects there.
    pub fn off_contract(&self, printer: Option<&str>, line: &str, expected: &str) -> Failure {
        let message = match printer {
            Some(label) => format!("{label} printed a line outside the lab's output contract"),
            None => "a line outside the lab's output contract".to_string(),
        };
        self.fail(message)
            .detail(format!("the line: {line:?}"))
            .detail(format!("expected: {expected}"))
    }

    /// Creates a fresh topic shaped like the lab's `topic`, `<name>-<nonce>`, and returns
    /// its name.
    pub async fn topic(&self, topic: Topic) -> Result<String, Failure> {
        self.create_topic(self.unique(topic.name), topic.partitions)
            .await
    }

    /// Like [`Run::topic`], for a scenario that needs several: `<name>-<tag>-<nonce>`.
    pub async fn tagged_topic(&self, topic: Topic, tag: &str) -> Result<String, Failure> {
        self.create_topic(
            self.unique(&format!("{}-{tag}", topic.name)),
            topic.partitions,
        )
        .await
    }

    async fn create_topic(&self, name: String, partitions: i32) -> Result<String, Failure> {
        self.broker
            .create_topic(&name, partitions)
            .await
            .map_err(|e| self.fail(format!("the checker could not create topic {name}: {e:#}")))?;
        Ok(name)
    }

    /// Starts the lab's program; `KAFKA_BOOTSTRAP_SERVERS` is set for it.
    pub fn start(&mut self, launch: Launch) -> Result<ProcessId, Failure> {
        let launch = launch.env(env::KAFKA_BOOTSTRAP_SERVERS, self.broker.bootstrap());
        let process = LabProcess::spawn(&self.program, &launch, self.events.clone())
            .map_err(|e| self.fail(format!("could not start {}: {e:#}", launch.label)))?;
        self.processes.push(process);
        Ok(ProcessId(self.processes.len() - 1))
    }

    /// The process behind `id`.
    pub fn process(&self, id: ProcessId) -> &LabProcess {
        &self.processes[id.0]
    }

    /// The partitions process `id`, a single consumer, owns now: its assignment lines
    /// replayed in order.
    pub fn owned(&self, id: ProcessId) -> Vec<i32> {
        ownership(&self.process(id).lines())
            .remove(&None)
            .unwrap_or_default()
    }

    /// The partitions process `id`, a single consumer, revoked in the lines it printed
    /// after its first `from`.
    pub fn revoked_since(&self, id: ProcessId, from: usize) -> Vec<i32> {
        self.process(id).lines()[from..]
            .iter()
            .filter_map(|l| AssignmentLine::parse(l))
            .filter(|l| l.member.is_none() && l.event == lab_contract::Event::Revoked)
            .flat_map(|l| l.partitions)
            .collect()
    }

    /// Whether any of `ids` has printed an assignment line yet. When none has, a lab that
    /// does not form its group is missing its rebalance callbacks, not its group settings.
    pub fn printed_assignment(&self, ids: &[ProcessId]) -> bool {
        ids.iter().any(|id| {
            self.process(*id)
                .lines()
                .iter()
                .any(|line| AssignmentLine::parse(line).is_some())
        })
    }

    /// Asks process `id` to stop, as Ctrl-C or a service manager would (SIGTERM).
    pub fn terminate(&self, id: ProcessId) {
        self.mark_signal(id, nix::sys::signal::Signal::SIGTERM);
        self.process(id).signal(nix::sys::signal::Signal::SIGTERM);
    }

    /// Lets process `id` end on its own with any exit status, as a fenced consumer must:
    /// its end is then not a crash. The scenario checks how it ended.
    pub fn expect_end(&self, id: ProcessId) {
        self.expected_ends
            .lock()
            .expect("expected_ends poisoned")
            .push(id);
    }

    /// Kills process `id` outright (SIGKILL): a crash, as far as Kafka can tell.
    pub fn kill(&self, id: ProcessId) {
        self.expect_end(id);
        self.mark_signal(id, nix::sys::signal::Signal::SIGKILL);
        self.process(id).kill();
    }

    /// Waits until `check` returns a value, re-checking whenever a process prints or exits.
    ///
    /// Fails at once if a process crashes or floods its output, and after `timeout` with a
    /// message saying it was waiting for `what`.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Run<'b>) -> Result<Option<T>, Failure>,
    ) -> Result<T, Failure> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.events.notified();
            tokio::pin!(notified);
            // Registered before checking, so an event between check and await is not lost.
            notified.as_mut().enable();
            if let Some(value) = check(self)? {
                return Ok(value);
            }
            self.check_health()?;
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(self.stuck(what, timeout));
                }
            }
        }
    }

    /// Waits for process `id` to exit successfully.
    pub async fn wait_success(&self, id: ProcessId, timeout: Duration) -> Result<(), Failure> {
        let label = self.process(id).label().to_string();
        let status = self
            .wait_for(&format!("{label} to finish"), timeout, |run| {
                Ok(run.process(id).exit_status())
            })
            .await?;
        if status.success() {
            return Ok(());
        }
        // A flood ends in the checker's SIGKILL: say so rather than "killed by SIGKILL",
        // which is all the exit status tells when the exit is seen first.
        self.check_health()?;
        Err(self.crash(self.process(id), &describe_exit(status)))
    }

    /// Fails if any process crashed (non-zero exit, killed) or flooded its output, unless
    /// the checker itself signalled it.
    pub fn check_health(&self) -> Result<(), Failure> {
        for (index, process) in self.processes.iter().enumerate() {
            if process.flooded() {
                return Err(self
                    .fail(format!(
                        "{} printed more than the checker keeps ({} lines or {} MB) and was stopped",
                        process.label(),
                        crate::process::MAX_LINES,
                        crate::process::MAX_STDOUT_BYTES >> 20
                    ))
                    .detail("Print one line per event of the lab's output contract, not per poll."));
            }
            if self
                .expected_ends
                .lock()
                .expect("expected_ends poisoned")
                .contains(&ProcessId(index))
            {
                continue;
            }
            // First, so that a panic reads the same whether the process has exited yet or
            // not: a panicked task or thread may leave it running, doing nothing. (Its stderr
            // is read before its exit is announced, so an exit after a panic shows both.)
            if let Some(panic) = process.panic() {
                return Err(self
                    .fail(format!("{} panicked", process.label()))
                    .detail(format!("it panicked:\n{panic}")));
            }
            if let Some(status) = process.exit_status() {
                if !status.success() {
                    return Err(self.crash(process, &describe_exit(status)));
                }
            }
        }
        Ok(())
    }

    fn crash(&self, process: &LabProcess, how: &str) -> Failure {
        let stderr = process.stderr_tail();
        let panic = stderr
            .lines()
            .skip_while(|l| !l.contains("panicked at"))
            .take(6)
            .collect::<Vec<_>>()
            .join("\n");
        let mut failure = self.fail(format!("{} ended with {how}", process.label()));
        if !panic.is_empty() {
            failure = failure.detail(format!("it panicked:\n{panic}"));
        } else if !stderr.trim().is_empty() {
            failure = failure.detail(format!(
                "its stderr ended with:\n{}",
                last_lines(&stderr, 12)
            ));
        }
        failure
    }

    fn stuck(&self, what: &str, timeout: Duration) -> Failure {
        let mut failure = self.fail(format!(
            "waited {} s for {what}, and it did not happen",
            timeout.as_secs()
        ));
        for process in &self.processes {
            let lines = process.lines();
            let shown = if lines.is_empty() {
                "(nothing)".to_string()
            } else {
                last_lines(&lines.join("\n"), 8)
            };
            failure = failure.detail(format!("{} printed:\n{shown}", process.label()));
        }
        failure
    }
}

/// A short random tag for this run's names and payloads.
fn new_nonce() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("{:08x}", hasher.finish() as u32)
}

/// Plays lab `number`'s scenario in `run`.
pub async fn play(number: usize, run: &mut Run<'_>) -> Result<(), Failure> {
    match number {
        1 => lab01_orders::play(run).await,
        2 => lab02_group_sizing::play(run).await,
        3 => lab03_modulo_assignment::play(run).await,
        4 => lab04_group_consumer::play(run).await,
        5 => lab05_concurrent_consumption::play(run).await,
        6 => lab06_click_processors::play(run).await,
        7 => lab07_delivery_semantics::play(run).await,
        8 => lab08_slow_consumers::play(run).await,
        9 => lab09_static_membership::play(run).await,
        10 => lab10_assignors::play(run).await,
        11 => lab11_consumer_protocol::play(run).await,
        12 => lab12_lag_and_offsets::play(run).await,
        _ => Err(run.fail(format!("lab {number} has no scenario yet"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_differ() {
        assert_ne!(new_nonce(), new_nonce());
        assert_eq!(new_nonce().len(), 8);
    }
}
