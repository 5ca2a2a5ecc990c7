//! A guard process for a broker the checker started: it undoes the start (removes the
//! container, kills the JVM) if the checker exits without saying it is done, even when the
//! checker is killed outright (SIGKILL), where no destructor and no Ctrl-C handler runs.

use std::ffi::OsStr;
use std::io::Write;
use std::process::{Child, Command, Stdio};

/// A watchdog process, armed until [`Watchdog::disarm`].
pub(super) struct Watchdog(Option<Child>);

impl Watchdog {
    /// Starts a process that runs `program args…` when the checker's end of its stdin closes
    /// without saying `done`: when the checker exits in any way. It leads its own process
    /// group, so the terminal's Ctrl-C does not stop it. `None` inside: it could not start,
    /// and only the checker's own cleanup remains.
    pub(super) fn arm<S: AsRef<OsStr>>(program: impl AsRef<OsStr>, args: &[S]) -> Watchdog {
        let script = r#"read line; [ "$line" = done ] || exec "$@" >/dev/null 2>&1"#;
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(script)
            .arg("kafka-course-watchdog")
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        Watchdog(command.spawn().ok())
    }

    /// Lets the watchdog go without it doing anything.
    pub(super) fn disarm(mut self) {
        if let Some(mut child) = self.0.take() {
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(b"done\n");
            }
            let _ = child.wait();
        }
    }
}
