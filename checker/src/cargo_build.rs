//! Building a lab's crate with cargo and finding the program it produced.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{anyhow, Context, Result};

/// Why a build produced no program.
#[derive(Debug)]
pub enum BuildError {
    /// The code does not compile; the compiler's messages, rendered.
    Compile(String),
    /// Cargo itself could not run or answered unexpectedly.
    Cargo(anyhow::Error),
}

/// The target folder cargo builds the workspace at `root` into: `$CARGO_TARGET_DIR`
/// (relative to `root`, where cargo runs), else `root/target`.
pub fn target_folder(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Builds `package` of the workspace at `root` and returns the path of its binary.
///
/// The compiler's output is returned only when the build fails.
pub async fn build(root: &Path, package: &str) -> Result<PathBuf, BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let color = if console::colors_enabled_stderr() {
        "always"
    } else {
        "never"
    };
    let mut command = tokio::process::Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "--quiet", "--package", package])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--color",
            color,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = command
        .output()
        .await
        .context("cannot run cargo")
        .map_err(BuildError::Cargo)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(BuildError::Compile(compiler_messages(&stderr)));
    }
    binary_path(&String::from_utf8_lossy(&output.stdout), package).map_err(BuildError::Cargo)
}

/// The executable of `package`'s binary target, from cargo's JSON messages.
pub(crate) fn binary_path(messages: &str, package: &str) -> Result<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| {
            message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"))
        })
        .find(|message| message["target"]["name"] == package)
        .and_then(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| anyhow!("cargo built {package} but reported no program for it"))
}

/// The compiler's diagnostics without cargo's progress lines.
pub(crate) fn compiler_messages(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| {
            let plain = line.trim_start();
            !(plain.starts_with("Compiling")
                || plain.starts_with("Blocking")
                || plain.starts_with("Finished"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_is_found_in_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"lab_contract"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"lab01-orders"},"executable":"/t/debug/lab01-orders"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            binary_path(messages, "lab01-orders").unwrap(),
            PathBuf::from("/t/debug/lab01-orders")
        );
        assert!(binary_path(messages, "lab02-x").is_err());
    }

    #[test]
    fn progress_lines_are_dropped() {
        let stderr = "   Compiling lab01-orders v0.1.0\nerror[E0425]: cannot find value `x`\n    Finished dev";
        assert_eq!(
            compiler_messages(stderr),
            "error[E0425]: cannot find value `x`"
        );
    }
}
