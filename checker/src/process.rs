//! Lab processes: each in its own process group, with captured and capped output.
//!
//! A learner's program may panic, hang, flood its output or start children of its own. Every
//! process the checker starts therefore leads a fresh process group, and everything in that
//! group is killed when the process is dropped, when the run ends, or when the checker is
//! interrupted (the group is registered with [`crate::cleanup`]).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::Notify;

use crate::cleanup::{Registration, Stage};
use crate::confinement::Confinement;

/// The program a scenario starts: a lab's binary, or a graded submission's launcher with
/// the sandbox its processes take on.
#[derive(Debug, Clone)]
pub struct Program {
    /// The file to run.
    pub path: PathBuf,
    /// The operating-system sandbox every process of it runs in, if any.
    pub confinement: Option<Arc<Confinement>>,
}

impl Program {
    /// `path`, run as it is.
    pub fn plain(path: impl Into<PathBuf>) -> Program {
        Program {
            path: path.into(),
            confinement: None,
        }
    }

    /// `path`, run in `confinement`.
    pub fn confined(path: impl Into<PathBuf>, confinement: Arc<Confinement>) -> Program {
        Program {
            path: path.into(),
            confinement: Some(confinement),
        }
    }
}

/// Lines of stdout kept per process; a program printing more is flooding and is stopped.
pub const MAX_LINES: usize = 20_000;
/// Bytes of one stdout line kept; the rest of a longer line is dropped.
pub const MAX_LINE_BYTES: usize = 2_000;
/// Bytes of stdout read per process before it counts as flooding.
pub const MAX_STDOUT_BYTES: usize = 4 << 20;
/// Bytes of stderr kept per process (its tail, where panics are).
pub const STDERR_TAIL_BYTES: usize = 16 << 10;

/// Starts `command`, retrying while its program is "busy" (ETXTBSY).
///
/// The grader writes a launcher script and starts it at once, while other threads of the
/// checker fork programs of their own. A child forked while the script was still open for
/// writing holds that descriptor until it execs, and for that instant Linux refuses to
/// execute the script. Waiting a moment is the known remedy; the file is complete.
fn spawn_when_written(command: &mut Command) -> std::io::Result<tokio::process::Child> {
    let busy = nix::errno::Errno::ETXTBSY as i32;
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(error) if error.raw_os_error() == Some(busy) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// The last `count` lines of a program's output, to quote in a message.
pub fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// A process group the checker leads, registered so that Ctrl-C ends it too, and killed
/// whole when dropped. Lab processes hold one; so do the grader's cargo builds.
#[derive(Debug)]
pub struct GroupGuard {
    _kill: Registration,
}

impl GroupGuard {
    /// Takes charge of process group `group`.
    pub fn new(group: i32) -> GroupGuard {
        let kill = Registration::new(Stage::Processes, move || {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
        });
        GroupGuard { _kill: kill }
    }
}

/// How to start one lab process.
#[derive(Debug, Clone)]
pub struct Launch {
    /// A short name for reports: `producer`, `consumer A`, ...
    pub label: String,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// Environment variables to set (on top of the checker's own, minus any `KAFKA_*`).
    pub env: Vec<(String, String)>,
}

impl Launch {
    /// A launch with a label and arguments, no extra environment.
    pub fn new(label: impl Into<String>, args: &[&str]) -> Launch {
        Launch {
            label: label.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
        }
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Launch {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// What a process has printed and whether it has ended, shared with its reader tasks.
#[derive(Debug, Default)]
struct Output {
    lines: Vec<String>,
    // When the checker read each line: timings such as a handover are measured from them.
    read_at: Vec<Instant>,
    stdout_bytes: usize,
    stderr: Vec<u8>,
    // The first panic report seen on stderr.
    panic: Option<String>,
    flooded: bool,
    exit: Option<ExitStatus>,
    // When the checker saw the exit: the end of the process's lane in a timeline.
    exited_at: Option<Instant>,
}

/// A running (or finished) lab process.
#[derive(Debug)]
pub struct LabProcess {
    label: String,
    group: i32,
    output: Arc<Mutex<Output>>,
    /// Kills whatever the process left running in its group when the process is dropped.
    _guard: GroupGuard,
}

impl LabProcess {
    /// Starts `binary` as the leader of a new process group.
    ///
    /// `events` is notified whenever the process prints a line or exits, so a scenario can
    /// wait for what it expects instead of sleeping.
    pub fn spawn(program: &Program, launch: &Launch, events: Arc<Notify>) -> Result<LabProcess> {
        let binary = &program.path;
        let mut command = Command::new(binary);
        command
            .args(&launch.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // The learner's shell may have its own Kafka settings; only the checker's count.
        for (key, _) in std::env::vars_os() {
            if key
                .to_string_lossy()
                .starts_with(lab_contract::env::KAFKA_PREFIX)
            {
                command.env_remove(&key);
            }
        }
        command.env("RUST_BACKTRACE", "0");
        command.envs(
            launch
                .env
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        );
        // If the checker itself is killed outright, its direct children go with it.
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from)
            });
        }
        if let Some(confinement) = &program.confinement {
            let confine = confinement
                .before_exec()
                .context("cannot prepare the sandbox")?;
            // SAFETY: the hook only makes system calls (see `Confinement::before_exec`).
            unsafe { command.pre_exec(confine) };
        }
        let mut child = spawn_when_written(&mut command)
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let group = child
            .id()
            .context("process exited before it could be tracked")? as i32;
        let guard = GroupGuard::new(group);

        let output = Arc::new(Mutex::new(Output::default()));
        let stdout = child.stdout.take().context("stdout not captured")?;
        let stderr = child.stderr.take().context("stderr not captured")?;
        let readers = (
            tokio::spawn(read_stdout(stdout, group, output.clone(), events.clone())),
            tokio::spawn(read_stderr(stderr, output.clone(), events.clone())),
        );
        let reaped = output.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            // Read what is left in the pipes before announcing the exit, so a waiter that
            // sees the exit also sees every line printed before it.
            let _ = readers.0.await;
            let _ = readers.1.await;
            if let Ok(status) = status {
                let mut output = reaped.lock().expect("output poisoned");
                output.exit = Some(status);
                output.exited_at = Some(Instant::now());
            }
            events.notify_waiters();
        });
        Ok(LabProcess {
            label: launch.label.clone(),
            group,
            output,
            _guard: guard,
        })
    }

    /// The label given at launch.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Every stdout line so far, each trimmed of trailing whitespace.
    pub fn lines(&self) -> Vec<String> {
        self.output.lock().expect("output poisoned").lines.clone()
    }

    /// Every line so far, with when the checker read it.
    pub fn timed_lines(&self) -> Vec<(Instant, String)> {
        let out = self.output.lock().expect("output poisoned");
        out.read_at
            .iter()
            .copied()
            .zip(out.lines.iter().cloned())
            .collect()
    }

    /// When the checker saw the process end, once it has.
    pub fn exited_at(&self) -> Option<Instant> {
        self.output.lock().expect("output poisoned").exited_at
    }

    /// The exit status, once the process has ended and its output has been read.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.output.lock().expect("output poisoned").exit
    }

    /// Whether the process printed more than the checker keeps (it has been killed).
    pub fn flooded(&self) -> bool {
        self.output.lock().expect("output poisoned").flooded
    }

    /// The last part of what the process wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("output poisoned").stderr).into_owned()
    }

    /// The first panic report the process wrote to stderr, from any of its threads or tasks.
    pub fn panic(&self) -> Option<String> {
        self.output.lock().expect("output poisoned").panic.clone()
    }

    /// Sends `signal` to the process's whole group, as a terminal's Ctrl-C would.
    pub fn signal(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.group), signal);
    }

    /// Kills the whole group at once (SIGKILL): a crash, as far as Kafka can tell.
    pub fn kill(&self) {
        self.signal(Signal::SIGKILL);
    }
}

/// Describes how a process ended, for a learner: `exit code 101`, `killed by SIGKILL`.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => match Signal::try_from(signal) {
            Ok(signal) => format!("killed by {signal}"),
            Err(_) => format!("killed by signal {signal}"),
        },
        _ => "ended".to_string(),
    }
}

async fn read_stdout(
    mut pipe: impl AsyncRead + Unpin,
    group: i32,
    output: Arc<Mutex<Output>>,
    events: Arc<Notify>,
) {
    let mut chunk = vec![0u8; 8192];
    let mut line = Vec::new();
    loop {
        let read = match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut new_lines = Vec::new();
        for &byte in &chunk[..read] {
            if byte == b'\n' {
                new_lines.push(String::from_utf8_lossy(&line).trim_end().to_string());
                line.clear();
            } else if line.len() < MAX_LINE_BYTES {
                line.push(byte);
            }
        }
        let flooded = {
            let mut out = output.lock().expect("output poisoned");
            out.stdout_bytes += read;
            let now = Instant::now();
            out.read_at.extend(new_lines.iter().map(|_| now));
            out.lines.extend(new_lines);
            if out.lines.len() > MAX_LINES || out.stdout_bytes > MAX_STDOUT_BYTES {
                out.flooded = true;
                out.lines.truncate(MAX_LINES);
                out.read_at.truncate(MAX_LINES);
            }
            out.flooded
        };
        if flooded {
            let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
            events.notify_waiters();
            // Keep draining so the process cannot block on a full pipe before it dies.
            while let Ok(n) = pipe.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
            }
            return;
        }
        events.notify_waiters();
    }
    if !line.is_empty() {
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let mut out = output.lock().expect("output poisoned");
        out.lines.push(text);
        out.read_at.push(Instant::now());
    }
}

async fn read_stderr(
    mut pipe: impl AsyncRead + Unpin,
    output: Arc<Mutex<Output>>,
    events: Arc<Notify>,
) {
    let mut chunk = vec![0u8; 8192];
    while let Ok(read) = pipe.read(&mut chunk).await {
        if read == 0 {
            break;
        }
        let panicked = {
            let mut out = output.lock().expect("output poisoned");
            out.stderr.extend_from_slice(&chunk[..read]);
            let excess = out.stderr.len().saturating_sub(STDERR_TAIL_BYTES);
            out.stderr.drain(..excess);
            if out.panic.is_none() {
                out.panic = panic_report(&String::from_utf8_lossy(&out.stderr));
            }
            out.panic.is_some()
        };
        // A panic in a task or thread need not end the process: say so at once, so a
        // scenario can fail now instead of waiting for lines that will never come.
        if panicked {
            events.notify_waiters();
        }
    }
}

/// The start of Rust's panic report in `stderr`, if it holds one: its first lines.
fn panic_report(stderr: &str) -> Option<String> {
    let at = stderr.find("panicked at")?;
    let start = stderr[..at].rfind('\n').map_or(0, |n| n + 1);
    let report: Vec<&str> = stderr[start..].lines().take(6).collect();
    // The message is on the line after "panicked at <place>:"; wait for it.
    (report.len() >= 2).then(|| report.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_report_is_found_once_its_message_is_in() {
        let head = "log line\nthread 'tokio-runtime-worker' panicked at src/worker.rs:9:5:\n";
        assert_eq!(panic_report(head), None, "the message has not arrived yet");
        let whole =
            format!("{head}every message is a job: Error(\"expected value\")\nnote: run with\n");
        let report = panic_report(&whole).unwrap();
        assert!(report.starts_with("thread 'tokio-runtime-worker' panicked at"));
        assert!(report.contains("every message is a job"));
        assert_eq!(panic_report("no trouble here\n"), None);
    }

    #[test]
    fn the_last_lines_are_quoted_whole() {
        let log = "one\ntwo\nerror: invalid value 'x'\n";
        assert_eq!(last_lines(log, 2), "two\nerror: invalid value 'x'");
        assert_eq!(last_lines(log, 10), "one\ntwo\nerror: invalid value 'x'");
        assert_eq!(last_lines("", 3), "");
    }
    use std::time::Duration;

    async fn wait_exit(process: &LabProcess, events: &Notify) -> ExitStatus {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = events.notified();
                if let Some(status) = process.exit_status() {
                    return status;
                }
                notified.await;
            }
        })
        .await
        .expect("process did not exit")
    }

    fn shell(label: &str, script: &str) -> Launch {
        Launch::new(label, &["-c", script])
    }

    #[tokio::test]
    async fn captures_lines_and_exit_code() {
        let events = Arc::new(Notify::new());
        let launch = shell("t", "echo one; echo two; echo oops >&2; exit 3").env("X", "1");
        let process =
            LabProcess::spawn(&Program::plain("/bin/sh"), &launch, events.clone()).unwrap();
        let status = wait_exit(&process, &events).await;
        assert_eq!(describe_exit(status), "exit code 3");
        assert_eq!(process.lines(), vec!["one", "two"]);
        assert_eq!(process.stderr_tail(), "oops\n");
        assert!(!process.flooded());
    }

    #[tokio::test]
    async fn a_flood_is_cut_and_the_process_killed() {
        let events = Arc::new(Notify::new());
        let launch = shell("flood", "yes 'all work and no play'");
        let process =
            LabProcess::spawn(&Program::plain("/bin/sh"), &launch, events.clone()).unwrap();
        let status = wait_exit(&process, &events).await;
        assert!(process.flooded());
        assert_eq!(process.lines().len(), MAX_LINES);
        assert_eq!(describe_exit(status), "killed by SIGKILL");
    }

    #[tokio::test]
    async fn dropping_a_process_kills_its_children_too() {
        let events = Arc::new(Notify::new());
        let launch = shell("parent", "sleep 300 & echo $!; wait");
        let process =
            LabProcess::spawn(&Program::plain("/bin/sh"), &launch, events.clone()).unwrap();
        let child_pid = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let notified = events.notified();
                if let Some(line) = process.lines().first() {
                    return line.parse::<i32>().unwrap();
                }
                notified.await;
            }
        })
        .await
        .unwrap();
        drop(process);
        // The grandchild is in the dropped group; once SIGKILL lands it is a zombie or gone.
        for _ in 0..100 {
            let state = std::fs::read_to_string(format!("/proc/{child_pid}/stat"));
            match state {
                Err(_) => return,
                Ok(stat) if stat.split_whitespace().nth(2) == Some("Z") => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        panic!("the child process {child_pid} survived its group being killed");
    }

    #[test]
    fn long_lines_are_cut() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let events = Arc::new(Notify::new());
            let launch = shell(
                "wide",
                "head -c 10000 /dev/zero | tr '\\0' x; echo; echo end",
            );
            let process =
                LabProcess::spawn(&Program::plain("/bin/sh"), &launch, events.clone()).unwrap();
            wait_exit(&process, &events).await;
            let lines = process.lines();
            assert_eq!(lines[0].len(), MAX_LINE_BYTES);
            assert_eq!(lines[1], "end");
        });
    }
}
