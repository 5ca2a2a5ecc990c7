//! The local backend (`--broker local`) through the `checker` command, as a learner meets it:
//! each bad input gets one line that names the cause and leaves nothing behind, and a broker
//! it started is gone after the run, after Ctrl-C and after the checker is killed.
//!
//! The bad inputs need no Kafka: a folder laid out like an installation, and a stand-in
//! `java` (a shell script) that answers `-version` and plays the broker's failures. The
//! tests that start a real broker need `$KAFKA_HOME` (see `kafka/mod.rs`), and skip loudly
//! without it unless `REQUIRE_KAFKA=1`.

mod kafka;
mod skip;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn course() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("checker-local-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The checker, in the course, with no broker settings of the caller's.
fn checker() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_checker"));
    command
        .current_dir(course())
        .env_remove("KAFKA_HOME")
        .env_remove("JAVA_HOME")
        .env_remove("CHECKER_BROKER")
        .stdin(Stdio::null());
    command
}

/// A folder that looks like a Kafka 4.3.1 installation to the checker (its jars are empty).
fn fake_installation(dir: &Path) -> PathBuf {
    let home = dir.join("kafka");
    std::fs::create_dir_all(home.join("libs")).unwrap();
    std::fs::write(home.join("libs/kafka_2.13-4.3.1.jar"), "").unwrap();
    home
}

/// A `JAVA_HOME` whose `java` prints `version` for `-version` and runs `script` (sh, with
/// the JVM's arguments) otherwise.
fn fake_java(dir: &Path, version: &str, script: &str) -> PathBuf {
    let home = dir.join("jdk");
    std::fs::create_dir_all(home.join("bin")).unwrap();
    let java = home.join("bin/java");
    let text = format!(
        "#!/bin/sh\nif [ \"$1\" = -version ]; then echo 'openjdk version \"{version}\" 2025-04-15' >&2; exit 0; fi\n{script}\n"
    );
    std::fs::write(&java, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&java, std::fs::Permissions::from_mode(0o755)).unwrap();
    home
}

/// Runs `checker --broker local broker up` with `envs`, expecting it to fail.
fn broker_up_fails(envs: &[(&str, &Path)], extra: &[&str]) -> String {
    let mut command = checker();
    command
        .args(["--broker", "local", "broker", "up"])
        .args(extra);
    for (key, value) in envs {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(stderr.contains("error:"), "{stderr}");
    stderr
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The processes whose command line mentions the scratch folders of checker `pid`: its
/// broker's JVM, and the watchdog that kills it should the checker be killed.
fn kafka_of(pid: u32) -> Vec<i32> {
    let mark = format!("kafka-course-local-{pid}-");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|p| {
            let cmdline = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let zombie = std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            });
            !zombie && String::from_utf8_lossy(&cmdline).contains(&mark)
        })
        .collect()
}

fn scratch_folders_of(pid: u32) -> Vec<PathBuf> {
    let mark = format!("kafka-course-local-{pid}-");
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&mark))
        .map(|e| e.path())
        .collect()
}

/// Waits up to `within` until checker `pid` has left no broker process nor folder.
fn assert_nothing_left(pid: u32, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let (processes, folders) = (kafka_of(pid), scratch_folders_of(pid));
        if processes.is_empty() && folders.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            for process in &processes {
                let _ = kill(Pid::from_raw(*process), Signal::SIGKILL);
            }
            panic!("checker {pid} left broker processes {processes:?} and folders {folders:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn no_installation_named_says_how_to_name_one() {
    let stderr = broker_up_fails(&[], &[]);
    assert!(
        stderr.contains("--broker local needs a Kafka installation"),
        "{stderr}"
    );
    assert!(stderr.contains("KAFKA_HOME"), "{stderr}");
}

#[test]
fn a_kafka_home_without_libs_is_named() {
    let dir = scratch("no-libs");
    let stderr = broker_up_fails(&[("KAFKA_HOME", &dir)], &[]);
    assert!(stderr.contains("has no libs/ folder"), "{stderr}");
    assert!(stderr.contains(&dir.display().to_string()), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_java_older_than_17_is_refused() {
    let dir = scratch("old-java");
    let home = fake_installation(&dir);
    let java = fake_java(&dir, "11.0.21", "exit 1");
    let stderr = broker_up_fails(&[("KAFKA_HOME", &home), ("JAVA_HOME", &java)], &[]);
    assert!(stderr.contains("is Java 11"), "{stderr}");
    assert!(stderr.contains("needs Java 17 or newer"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn no_java_is_named() {
    let dir = scratch("no-java");
    let home = fake_installation(&dir);
    let stderr = broker_up_fails(
        &[("KAFKA_HOME", &home), ("JAVA_HOME", &dir.join("none"))],
        &[],
    );
    assert!(stderr.contains("no Java found"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_broker_that_dies_while_starting_shows_its_log() {
    let dir = scratch("dies");
    let home = fake_installation(&dir);
    // Formatting succeeds; the broker logs a fatal error and exits.
    let script = r#"case "$*" in *StorageTool*) exit 0;; esac
echo "[2026-12-02 10:00:00,000] ERROR Exiting Kafka due to fatal exception (kafka.Kafka\$)"
exit 1"#;
    let java = fake_java(&dir, "17.0.15", script);
    let mut command = checker();
    command
        .args(["--broker", "local", "broker", "up"])
        .env("KAFKA_HOME", &home)
        .env("JAVA_HOME", &java);
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Kafka 4.3.1 stopped while starting"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Exiting Kafka due to fatal exception"),
        "{stderr}"
    );
    assert_nothing_left(pid, Duration::from_secs(2));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_failed_format_shows_the_tools_output() {
    let dir = scratch("format");
    let home = fake_installation(&dir);
    let java = fake_java(
        &dir,
        "17.0.15",
        "echo 'Error: log.dirs is not writable' >&2; exit 1",
    );
    let stderr = broker_up_fails(&[("KAFKA_HOME", &home), ("JAVA_HOME", &java)], &[]);
    assert!(
        stderr.contains("could not format its log folder"),
        "{stderr}"
    );
    assert!(stderr.contains("log.dirs is not writable"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn port_is_only_for_the_local_broker() {
    let output = checker()
        .args(["--broker", "embedded", "broker", "up", "--port", "9"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("--port is for the local broker"),
        "{}",
        text(&output)
    );
}

/// The real broker's installation, or `None` (skipped, loudly).
fn real_kafka() -> Option<PathBuf> {
    match kafka::installation() {
        Ok((installation, _)) => Some(installation.home),
        Err(why) => {
            skip::missing(&why, kafka::REQUIRE);
            None
        }
    }
}

#[test]
fn a_taken_port_is_named() {
    let Some(home) = real_kafka() else {
        return;
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let stderr = broker_up_fails(&[("KAFKA_HOME", &home)], &["--port", &port]);
    assert!(
        stderr.contains(&format!(
            "port {port} of 127.0.0.1 is taken by another program"
        )),
        "{stderr}"
    );
}

/// A checker started by a test: killed when dropped, so that a failing assertion leaves no
/// checker (and, through its watchdog, no broker) running.
struct Running(Child);

impl Running {
    fn id(&self) -> u32 {
        self.0.id()
    }

    /// Waits for the checker to exit by itself.
    fn wait(&mut self) -> std::process::ExitStatus {
        self.0.wait().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `checker --broker local <args>` on the real broker, and waits until its output
/// has a line holding `ready`. Returns the checker.
fn start_until(home: &Path, args: &[&str], ready: &str) -> Running {
    let mut child = checker()
        .args(["--broker", "local"])
        .args(args)
        .env("KAFKA_HOME", home)
        .env("CI", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match receiver.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains(ready) => return Running(child),
            Ok(line) => seen.push(line),
            Err(_) if child.try_wait().unwrap().is_some() => break,
            Err(_) => {}
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the checker never printed {ready:?}:\n{}", seen.join("\n"));
}

#[test]
fn broker_up_serves_kafka_until_ctrl_c_and_leaves_nothing() {
    let Some(home) = real_kafka() else {
        return;
    };
    let mut child = start_until(&home, &["broker", "up"], "Press Ctrl-C to stop it");
    let pid = child.id();
    let jvms = kafka_of(pid)
        .into_iter()
        .filter(|p| {
            let cmdline = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).contains("kafka.Kafka")
        })
        .count();
    assert_eq!(jvms, 1, "one broker JVM runs");
    kill(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
    let status = child.wait();
    assert!(
        status.code().is_some(),
        "the checker exits by itself: {status}"
    );
    assert_nothing_left(pid, Duration::from_secs(5));
}

#[test]
fn a_killed_checker_leaves_no_broker() {
    let Some(home) = real_kafka() else {
        return;
    };
    let mut child = start_until(&home, &["broker", "up"], "Press Ctrl-C to stop it");
    let pid = child.id();
    // No destructor and no handler runs: the watchdog must do it.
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    child.wait();
    assert_nothing_left(pid, Duration::from_secs(5));
}

#[test]
fn ctrl_c_during_a_lab_on_kafka_leaves_nothing() {
    let Some(home) = real_kafka() else {
        return;
    };
    let mut child = start_until(&home, &["verify", "6", "--solution"], "Running lab 6");
    let pid = child.id();
    // Interrupt the run midway: once the lab's programs run.
    let deadline = Instant::now() + Duration::from_secs(60);
    while lab6_processes().is_empty() {
        assert!(Instant::now() < deadline, "lab 6 never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
    let status = child.wait();
    assert_eq!(status.code(), Some(130), "{status}");
    assert_nothing_left(pid, Duration::from_secs(5));
    let labs = lab6_processes();
    assert!(labs.is_empty(), "lab 6 processes survived Ctrl-C: {labs:?}");
}

/// The live processes running a lab 6 program.
fn lab6_processes() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|p| {
            std::fs::read_link(format!("/proc/{p}/exe"))
                .is_ok_and(|exe| exe.to_string_lossy().contains("lab06-click-processors"))
        })
        .collect()
}

#[tokio::test]
async fn the_broker_logs_through_its_binding() {
    let Some(kafka) = kafka::shared().await else {
        return;
    };
    // Without log4j-slf4j-impl, slf4j falls back to NOP and the log stays empty.
    let log = std::fs::read_to_string(kafka.log()).unwrap();
    assert!(log.contains("Kafka Server started"), "{log}");
    assert!(log.contains(" INFO "), "{log}");
    assert!(!log.contains("SLF4J: Defaulting to no-operation"), "{log}");
}
