//! `checker reset LAB`: put one lab's starter back from git, leaving every other lab alone.
//!
//! The starter is restored with `git restore --source=HEAD -- labs/NN-name`, limited to that
//! one folder: a plain `git checkout .` would throw away the learner's work on every lab.
//! Files the learner created in the folder and never added to git are kept and listed, since
//! deleting files git knows nothing about cannot be undone.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use console::style;

use crate::info_file::{InfoFile, LabInfo};
use crate::state_file::StateFile;

/// What resetting one lab will do, worked out before anything is changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The lab's folder relative to the course root: `labs/01-orders`.
    pub folder: String,
    /// Files whose changes the reset discards (`git status --porcelain` lines).
    pub changed: Vec<String>,
    /// Files git does not track; the reset keeps them.
    pub untracked: Vec<String>,
}

/// Works out what resetting `lab` of the course at `root` would change.
///
/// Fails, changing nothing, when `root` is not in a git clone or the lab's folder is not in
/// the clone's last commit, because then there is no starter to restore.
pub fn plan(root: &Path, lab: &LabInfo) -> Result<Plan> {
    let folder = format!("labs/{}", lab.dir());
    let inside = git(root, &["rev-parse", "--is-inside-work-tree"]);
    if !matches!(inside.as_deref().map(str::trim), Ok("true")) {
        bail!(
            "{} is not a git clone, so there is no starter to restore lab {} from. \
             Clone the course with git, or copy {folder}/ from a fresh download of the course.",
            root.display(),
            lab.number
        );
    }
    let tracked = git(
        root,
        &["ls-tree", "-d", "--name-only", "HEAD", "--", &folder],
    )
    .with_context(|| format!("cannot read the last commit of {}", root.display()))?;
    if tracked.trim().is_empty() {
        bail!("the last commit (HEAD) holds no {folder}/, so there is no starter to restore");
    }
    let status = git(
        root,
        &[
            "status",
            "--porcelain",
            "--untracked-files=all",
            "--",
            &folder,
        ],
    )?;
    let (untracked, changed): (Vec<String>, Vec<String>) = status
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_string)
        .partition(|line| line.starts_with("??"));
    let untracked = untracked
        .into_iter()
        .map(|line| line.trim_start_matches("??").trim().to_string())
        .collect();
    Ok(Plan {
        folder,
        changed,
        untracked,
    })
}

/// Restores the starter of the plan's folder as committed in HEAD, in the index and the
/// working tree, and touches nothing outside that folder.
pub fn apply(root: &Path, plan: &Plan) -> Result<()> {
    git(
        root,
        &[
            "restore",
            "--source=HEAD",
            "--staged",
            "--worktree",
            "--",
            &plan.folder,
        ],
    )
    .with_context(|| format!("cannot restore {}/ from git", plan.folder))?;
    Ok(())
}

/// Describes what the reset will discard, for the learner to confirm.
pub fn describe(lab: &LabInfo, plan: &Plan) -> String {
    let mut text = format!(
        "Reset lab {} ({}) to its starter, as committed in git: {}/ only, no other lab.\n",
        lab.number, lab.title, plan.folder
    );
    if plan.changed.is_empty() {
        text.push_str("It has no changes to discard; its progress and hints start over.\n");
    } else {
        text.push_str("This discards your changes to:\n");
        for line in &plan.changed {
            text.push_str(&format!("  {}\n", describe_change(line)));
        }
    }
    if !plan.untracked.is_empty() {
        text.push_str("These files are not in git and are kept:\n");
        for path in &plan.untracked {
            text.push_str(&format!("  {path}\n"));
        }
    }
    text
}

/// One `git status --porcelain` line (`XY path`) in words: `src/main.rs (changed)`.
fn describe_change(line: &str) -> String {
    let (codes, path) = line.split_at(line.len().min(2));
    let what = if codes.contains('D') {
        "deleted"
    } else if codes.contains('A') {
        "new"
    } else if codes.contains('R') {
        "renamed"
    } else {
        "changed"
    };
    format!("{} ({what})", path.trim())
}

/// `checker reset LAB [--yes]`: confirms, restores the starter, and clears the lab's
/// progress and hints.
pub fn run(
    root: &Path,
    info: &InfoFile,
    state: &mut StateFile,
    query: &str,
    yes: bool,
) -> Result<ExitCode> {
    let lab = info.find(query)?;
    let plan = plan(root, lab)?;
    print!("{}", describe(lab, &plan));
    if !yes && !confirm("Reset it?")? {
        println!("Nothing was changed.");
        return Ok(ExitCode::FAILURE);
    }
    apply(root, &plan)?;
    state.forget(&lab.dir());
    state.save()?;
    println!(
        "{} Lab {} is back to its starter.",
        style("✓").green().bold(),
        lab.number
    );
    Ok(ExitCode::SUCCESS)
}

/// Asks a yes/no question on the terminal; anything but `y` or `yes` is no.
///
/// Without a terminal nobody can answer, so it refuses rather than guess: a script must say
/// `--yes`.
fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("reset asks for confirmation, but no one can answer (stdin is not a terminal): pass --yes to reset anyway");
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(is_yes(&answer))
}

/// Whether an answer to a yes/no question means yes.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Runs git in `root` and returns its stdout, or its stderr as the error.
fn git(root: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .context("cannot run git: is it installed?")?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    // Not trimmed: `git status --porcelain` lines start with a meaningful space.
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("checker-reset-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn lab(number: usize) -> LabInfo {
        InfoFile::load()
            .labs
            .into_iter()
            .find(|lab| lab.number == number)
            .unwrap()
    }

    fn sh(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    fn write(path: PathBuf, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn reset_refuses_outside_a_git_clone() {
        // The temp folder may itself be inside a clone, and git looks upwards for one. These
        // two folders stop that search, so the test checks the same wherever it runs:
        // a bare repository (git is there, but no work tree to restore into) ...
        let bare = temp_dir("bare");
        sh(&bare, &["init", "-q", "--bare"]);
        // ... and a folder whose `.git` points nowhere (a clone that was moved or deleted).
        let broken = temp_dir("broken");
        std::fs::write(broken.join(".git"), "gitdir: /nonexistent/checker-reset\n").unwrap();
        for dir in [bare, broken] {
            let message = plan(&dir, &lab(1)).unwrap_err().to_string();
            assert!(
                message.contains("is not a git clone"),
                "{}: {message}",
                dir.display()
            );
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn reset_refuses_an_unknown_lab() {
        let info = InfoFile::load();
        let mut state = StateFile::default();
        let dir = temp_dir("unknown");
        let error = run(&dir, &info, &mut state, "kafka-streams", true).unwrap_err();
        assert!(error.to_string().contains("no lab called"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reset_restores_one_lab_and_leaves_the_others_alone() {
        let dir = temp_dir("clone");
        let one = lab(1);
        let two = lab(2);
        let main_of = |lab: &LabInfo| dir.join("labs").join(lab.dir()).join("src/main.rs");
        write(main_of(&one), "// starter 1\n");
        write(main_of(&two), "// starter 2\n");
        sh(&dir, &["init", "-q"]);
        sh(&dir, &["add", "."]);
        sh(&dir, &["commit", "-q", "-m", "course"]);

        write(main_of(&one), "// my work on 1\n");
        write(main_of(&two), "// my work on 2\n");
        let extra = dir.join("labs").join(one.dir()).join("src/notes.rs");
        write(extra.clone(), "// my notes\n");
        sh(&dir, &["add", main_of(&one).to_str().unwrap()]);

        let plan = plan(&dir, &one).unwrap();
        assert_eq!(plan.folder, "labs/01-orders");
        assert_eq!(plan.changed.len(), 1, "{plan:?}");
        assert!(plan.changed[0].ends_with("labs/01-orders/src/main.rs"));
        assert_eq!(plan.untracked, vec!["labs/01-orders/src/notes.rs"]);
        assert!(describe(&one, &plan).contains("kept"));

        apply(&dir, &plan).unwrap();
        assert_eq!(
            std::fs::read_to_string(main_of(&one)).unwrap(),
            "// starter 1\n"
        );
        assert_eq!(
            std::fs::read_to_string(main_of(&two)).unwrap(),
            "// my work on 2\n",
            "another lab's work must survive a reset"
        );
        assert!(extra.exists(), "files git does not know are kept");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn changes_are_described_in_words() {
        assert_eq!(
            describe_change(" M labs/01-orders/src/main.rs"),
            "labs/01-orders/src/main.rs (changed)"
        );
        assert_eq!(
            describe_change("M  labs/01-orders/src/main.rs"),
            "labs/01-orders/src/main.rs (changed)"
        );
        assert_eq!(
            describe_change(" D labs/01-orders/src/x.rs"),
            "labs/01-orders/src/x.rs (deleted)"
        );
        assert_eq!(
            describe_change("A  labs/01-orders/src/y.rs"),
            "labs/01-orders/src/y.rs (new)"
        );
    }

    #[test]
    fn only_yes_confirms() {
        assert!(is_yes("y\n"));
        assert!(is_yes(" YES "));
        assert!(!is_yes("\n"));
        assert!(!is_yes("n"));
        assert!(!is_yes("yep"));
    }
}
