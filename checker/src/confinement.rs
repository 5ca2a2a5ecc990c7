//! The operating-system sandbox of a graded program: Landlock rules that the program's
//! process takes on just before it runs (in the child, between fork and exec), and keeps
//! for everything it starts.
//!
//! A confined program may read and run the system's programs and libraries (`/usr`,
//! `/bin`, `/lib`, ...), read `/etc` and a few devices, read its crate, read and write its
//! own sandbox folder (its binary, `HOME` and `TMPDIR` are there), and open TCP connections
//! to the broker's ports only; it may bind no TCP port. Everything else on the file system
//! (the grader's home, other students' folders, the course's `solutions/`, `/proc`) is
//! refused with EACCES, as is a connection to any other port.
//!
//! Landlock needs no privilege. It restricts files from Linux 5.13 (ABI 1) and TCP ports
//! from Linux 6.7 (ABI 4); [`Confinement::new`] asks for both and settles for what the
//! kernel has, and [`Enforced`] says what that is.

use std::path::{Path, PathBuf};

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetError, ABI,
};

/// The Landlock ABI whose rights the sandbox uses: files and TCP ports.
const WANTED: ABI = ABI::V4;

/// The system folders a program may read and run from.
const SYSTEM: [&str; 8] = [
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt",
];

/// The devices a program may read and write.
const DEVICES: [&str; 4] = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"];

/// What the kernel enforces of the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforced {
    /// Files and TCP ports (Landlock ABI 4 or later).
    FilesAndPorts,
    /// Files only (Landlock ABI 1 to 3): a program may connect anywhere.
    FilesOnly,
    /// Nothing: the kernel has no Landlock, or it is turned off.
    Nothing,
}

impl Enforced {
    /// What the kernel here enforces.
    pub fn here() -> Enforced {
        if ruleset(true).is_ok() {
            Enforced::FilesAndPorts
        } else if ruleset(false).is_ok() {
            Enforced::FilesOnly
        } else {
            Enforced::Nothing
        }
    }

    /// One line for a report: what a graded program is kept from.
    pub fn describe(self) -> &'static str {
        match self {
            Enforced::FilesAndPorts => {
                "enforced (Landlock): files outside its sandbox and crate, and TCP ports other \
                 than the broker's, are refused"
            }
            Enforced::FilesOnly => {
                "partly enforced (Landlock before ABI 4, Linux < 6.7): files outside its \
                 sandbox are refused, but it may connect to any port"
            }
            Enforced::Nothing => {
                "NOT enforced: this kernel has no Landlock (or it is turned off); a graded \
                 program can read and write whatever the grading user can, and connect \
                 anywhere"
            }
        }
    }
}

/// An empty ruleset that handles the file rights of [`WANTED`] and, if `ports`, its TCP
/// rights; an error where the kernel cannot enforce them all.
fn ruleset(ports: bool) -> Result<RulesetCreated, RulesetError> {
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
    ruleset = ruleset.handle_access(AccessFs::from_all(if ports { WANTED } else { ABI::V1 }))?;
    if ports {
        ruleset = ruleset.handle_access(AccessNet::from_all(WANTED))?;
    }
    ruleset.create()
}

/// The rules for one graded program, ready for its process to take on.
#[derive(Debug)]
pub struct Confinement {
    ruleset: Option<RulesetCreated>,
    enforced: Enforced,
}

impl Confinement {
    /// Rules that let a program read (and run) `read_only`, read and write `read_write`, and
    /// connect to `ports` on any host, besides the system folders. As much of it as the
    /// kernel enforces; none where it has no Landlock.
    pub fn new(read_only: &[PathBuf], read_write: &[PathBuf], ports: &[u16]) -> Confinement {
        let enforced = Enforced::here();
        let ruleset = match enforced {
            Enforced::Nothing => None,
            _ => build(enforced, read_only, read_write, ports).ok(),
        };
        let enforced = if ruleset.is_some() {
            enforced
        } else {
            Enforced::Nothing
        };
        Confinement { ruleset, enforced }
    }

    /// What the kernel enforces of these rules.
    pub fn enforced(&self) -> Enforced {
        self.enforced
    }

    /// What a child process runs between fork and exec to take the rules on. It only makes
    /// system calls (no allocation), as code there must; the rules' file descriptor was
    /// duplicated for it beforehand.
    pub fn before_exec(&self) -> std::io::Result<impl FnMut() -> std::io::Result<()>> {
        let mut ruleset = match &self.ruleset {
            Some(ruleset) => Some(ruleset.try_clone().map_err(std::io::Error::other)?),
            None => None,
        };
        Ok(move || match ruleset.take() {
            Some(ruleset) => ruleset
                .restrict_self()
                .map(|_| ())
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
            None => Ok(()),
        })
    }
}

fn build(
    enforced: Enforced,
    read_only: &[PathBuf],
    read_write: &[PathBuf],
    ports: &[u16],
) -> Result<RulesetCreated, RulesetError> {
    let abi = if enforced == Enforced::FilesAndPorts {
        WANTED
    } else {
        ABI::V1
    };
    let read = AccessFs::from_read(abi);
    let all = AccessFs::from_all(abi);
    let system = SYSTEM.iter().map(Path::new);
    let mut ruleset = ruleset(enforced == Enforced::FilesAndPorts)?
        .add_rules(path_beneath_rules(system, read))?
        .add_rules(path_beneath_rules(read_only, read))?
        .add_rules(path_beneath_rules(DEVICES, read | AccessFs::WriteFile))?
        .add_rules(path_beneath_rules(read_write, all))?;
    if enforced == Enforced::FilesAndPorts {
        for port in ports {
            ruleset = ruleset.add_rule(NetPort::new(*port, AccessNet::ConnectTcp))?;
        }
    }
    Ok(ruleset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    /// Runs `sh -c script` confined by `confinement`: its exit code and its stderr.
    fn confined(confinement: &Confinement, script: &str) -> (i32, String) {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", script]);
        let hook = confinement.before_exec().unwrap();
        // SAFETY: the hook only makes system calls.
        unsafe { command.pre_exec(hook) };
        let output = command.output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    #[test]
    fn a_confined_program_reads_and_writes_only_where_it_may() {
        if Enforced::here() == Enforced::Nothing {
            eprintln!("SKIPPED: this kernel has no Landlock");
            return;
        }
        let root = std::env::temp_dir().join(format!("confinement-{}", std::process::id()));
        let (inside, outside) = (root.join("sandbox"), root.join("elsewhere"));
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "s").unwrap();
        let confinement = Confinement::new(&[], std::slice::from_ref(&inside), &[]);
        let (code, _) = confined(
            &confinement,
            &format!("echo ok > {0}/f && cat {0}/f >/dev/null", inside.display()),
        );
        assert_eq!(code, 0, "inside its sandbox");
        let (code, stderr) = confined(&confinement, &format!("cat {}/secret", outside.display()));
        assert_ne!(code, 0);
        assert!(stderr.contains("Permission denied"), "{stderr}");
        let (code, _) = confined(&confinement, &format!("echo x > {}/new", outside.display()));
        assert_ne!(code, 0);
        assert!(!outside.join("new").exists());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_confined_program_connects_to_the_brokers_port_only() {
        if Enforced::here() != Enforced::FilesAndPorts {
            eprintln!("SKIPPED: this kernel's Landlock does not restrict TCP ports");
            return;
        }
        let allowed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = |l: &std::net::TcpListener| l.local_addr().unwrap().port();
        // The probe is this test binary again, which it must be able to read.
        let exe = std::env::current_exe().unwrap();
        let confinement = Confinement::new(
            &[exe.parent().unwrap().to_path_buf()],
            &[],
            &[port(&allowed)],
        );
        let connect = |to: u16| {
            let mut command = Command::new(std::env::current_exe().unwrap());
            command
                .args([
                    "--exact",
                    "confinement::tests::connect_probe",
                    "--nocapture",
                ])
                .env("CONFINEMENT_PROBE_PORT", to.to_string());
            let hook = confinement.before_exec().unwrap();
            // SAFETY: the hook only makes system calls.
            unsafe { command.pre_exec(hook) };
            let output = command.output().unwrap();
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        assert!(connect(port(&allowed)).contains("probe connected"));
        let refused_output = connect(port(&refused));
        assert!(
            refused_output.contains("probe refused: Permission denied"),
            "{refused_output}"
        );
    }

    /// Run by the test above in a confined child: connects to the port it is given.
    #[test]
    fn connect_probe() {
        let Ok(port) = std::env::var("CONFINEMENT_PROBE_PORT") else {
            return;
        };
        match std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())) {
            Ok(_) => println!("probe connected"),
            Err(e) => println!("probe refused: {e}"),
        }
    }
}
