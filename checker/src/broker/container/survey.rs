//! Finding a container engine: Docker or Podman (or the one `CHECKER_ENGINE` names), each
//! asked whether it works, and one clear line when none does.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};

use super::engine::{last_line, run_program};
use super::{Engine, EngineKind, ENGINE_VAR, USE_EMBEDDED};

/// What `survey` found out about one engine.
#[derive(Debug)]
pub struct EngineReport {
    /// `docker` or `podman`, or the program named by `CHECKER_ENGINE`.
    pub name: String,
    /// Where it is, if installed.
    pub program: Option<PathBuf>,
    /// The engine, when it answers; else why not.
    pub status: Result<Engine, String>,
    /// Whether `CHECKER_ENGINE` named it.
    pub forced: bool,
}

impl Engine {
    /// Finds an engine that answers: `CHECKER_ENGINE` if set, else Docker, else Podman.
    ///
    /// The error is one line that says what to do, for a learner who asked for
    /// `--broker container` on a machine without a working engine.
    pub async fn detect() -> Result<Engine> {
        let reports = survey().await;
        pick(reports)
    }
}

/// Looks for Docker and Podman (or the engine `CHECKER_ENGINE` names) and asks each one
/// whether it works.
pub async fn survey() -> Vec<EngineReport> {
    survey_in(
        std::env::var_os("PATH"),
        std::env::var(ENGINE_VAR)
            .ok()
            .filter(|v| !v.trim().is_empty()),
    )
    .await
}

/// [`survey`] with an explicit `PATH` and engine choice.
pub async fn survey_in(path: Option<OsString>, forced: Option<String>) -> Vec<EngineReport> {
    let names = match &forced {
        Some(name) => vec![name.clone()],
        None => vec!["docker".to_string(), "podman".to_string()],
    };
    let mut reports = Vec::new();
    for name in names {
        let program = find_program(&name, path.as_deref());
        let status = match &program {
            None => Err("not installed".to_string()),
            Some(program) => answer(program).await,
        };
        reports.push(EngineReport {
            name,
            program,
            status,
            forced: forced.is_some(),
        });
    }
    reports
}

/// The first engine that answers, or a one-line error that says what to do.
pub fn pick(reports: Vec<EngineReport>) -> Result<Engine> {
    let mut installed = Vec::new();
    let mut forced = None;
    for report in reports {
        if report.forced {
            forced = Some(report.name.clone());
        }
        match report.status {
            Ok(engine) => return Ok(engine),
            Err(why) if report.program.is_some() => installed.push((report.name, why)),
            Err(_) => {}
        }
    }
    match installed.first() {
        None if forced.is_some() => bail!(
            "{ENGINE_VAR}={} names no program on PATH: unset it to use Docker or Podman, \
             {USE_EMBEDDED}",
            forced.unwrap_or_default()
        ),
        None => bail!(
            "no container engine found: install Docker or Podman to run Kafka in a container, \
             {USE_EMBEDDED}"
        ),
        Some((name, why)) => bail!(
            "{name} is installed but does not answer ({why}): start it (Docker: start Docker \
             Desktop or `sudo systemctl start docker`), {USE_EMBEDDED}"
        ),
    }
}

/// Asks the engine at `program` for its version, and whether its daemon (Docker) or its
/// storage (Podman) works.
async fn answer(program: &Path) -> Result<Engine, String> {
    let version = run_program(program, &["--version"], Duration::from_secs(20))
        .await
        .map_err(|e| e.to_string())?;
    let version_text = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let kind = if version_text.to_ascii_lowercase().contains("podman") {
        EngineKind::Podman
    } else {
        EngineKind::Docker
    };
    let check: &[&str] = match kind {
        EngineKind::Docker => &["version", "--format", "{{.Server.Version}}"],
        EngineKind::Podman => &["info", "--format", "{{.Version.Version}}"],
    };
    let output = run_program(program, check, Duration::from_secs(20))
        .await
        .map_err(|e| e.to_string())?;
    let server = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || server.is_empty() {
        return Err(last_line(&output.stderr, &output.stdout));
    }
    Ok(Engine {
        kind,
        program: program.to_path_buf(),
        version: server,
    })
}

/// The executable called `name` in `path` (or `name` itself when it is a path).
fn find_program(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |candidate: &Path| {
        candidate
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let candidate = PathBuf::from(name);
        return executable(&candidate).then_some(candidate);
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|candidate| executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::container::free_port;
    use std::os::unix::fs::PermissionsExt;

    fn fake_engine(dir: &Path, name: &str, script: &str) {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "checker-engine-{tag}-{}-{}",
            std::process::id(),
            free_port().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn no_engine_is_one_clear_line() {
        let dir = temp_dir("none");
        let error = pick(survey_in(Some(dir.clone().into()), None).await).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("no container engine found"),
            "{message}"
        );
        assert!(message.contains("--broker embedded"), "{message}");
        assert!(!message.contains('\n'), "{message}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_engine_that_does_not_answer_is_named() {
        let dir = temp_dir("down");
        fake_engine(
            &dir,
            "docker",
            r#"case "$1" in
                 --version) echo "Docker version 28.2.2, build e6534b4";;
                 *) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1;;
               esac"#,
        );
        let error = pick(survey_in(Some(dir.clone().into()), None).await).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("docker is installed but does not answer (Cannot connect"),
            "{message}"
        );
        assert!(message.contains("--broker embedded"), "{message}");
        assert!(!message.contains('\n'), "{message}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn the_first_engine_that_answers_wins() {
        let dir = temp_dir("pick");
        fake_engine(
            &dir,
            "docker",
            r#"[ "$1" = --version ] && echo "Docker version 28" || exit 1"#,
        );
        fake_engine(
            &dir,
            "podman",
            r#"case "$1" in --version) echo "podman version 4.3.1";; info) echo 4.3.1;; esac"#,
        );
        let engine = pick(survey_in(Some(dir.clone().into()), None).await).unwrap();
        assert_eq!(engine.kind(), EngineKind::Podman);
        assert_eq!(engine.version(), "4.3.1");
        assert_eq!(engine.program(), dir.join("podman"));
        // CHECKER_ENGINE names one engine, and only that one is tried.
        let forced = survey_in(Some(dir.clone().into()), Some("docker".into())).await;
        assert_eq!(forced.len(), 1);
        assert!(pick(forced).is_err());
        let missing = survey_in(Some(dir.clone().into()), Some("nerdctl".into())).await;
        let error = pick(missing).unwrap_err().to_string();
        assert!(
            error.starts_with("CHECKER_ENGINE=nerdctl names no program"),
            "{error}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
