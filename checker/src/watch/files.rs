//! Noticing that the learner saved a file of a lab: a watcher on `labs/`, filtered and
//! debounced.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Component, Path};
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use super::Event;

/// How long the files must be quiet before a change counts: an editor's save is often a
/// burst of writes and renames, and one save must give one check.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// The longest a stream of changes can put a check off: a tool that writes without pause
/// must not stop the checks altogether.
const DEBOUNCE_AT_MOST: Duration = Duration::from_secs(2);

/// Watches every lab under `labs` and sends [`Event::Changed`] with a lab's folder name when
/// one of its source files changes. The watch lasts as long as the returned value.
pub fn watch(labs: &Path, events: UnboundedSender<Event>) -> notify::Result<RecommendedWatcher> {
    // Canonical, so the paths notify reports start with exactly this prefix.
    let labs = labs.canonicalize().map_err(notify::Error::io)?;
    let prefix = labs.clone();
    let mut watcher = notify::recommended_watcher(move |result: notify::Result<notify::Event>| {
        match result {
            Ok(event) if counts(&event.kind) => {
                let dirs: BTreeSet<String> = event
                    .paths
                    .iter()
                    .filter_map(|path| lab_of_change(&prefix, path))
                    .collect();
                for dir in dirs {
                    // The receiver is gone only when watch mode is over.
                    let _ = events.send(Event::Changed(dir));
                }
            }
            Ok(_) => {}
            Err(error) => {
                let _ = events.send(Event::WatchFailed(error.to_string()));
            }
        }
    })?;
    watcher.watch(&labs, RecursiveMode::Recursive)?;
    Ok(watcher)
}

/// Whether a kind of file event can mean new content.
///
/// Opening and reading a file is an event too (inotify reports it), and the checker's own
/// build reads every source file: counting reads would make each check start the next.
pub fn counts(kind: &EventKind) -> bool {
    !matches!(kind, EventKind::Access(_))
}

/// Waits until the changes to lab `dir` have been quiet for [`DEBOUNCE`] (or
/// [`DEBOUNCE_AT_MOST`] has passed), swallowing them, so a burst of writes gives one check.
/// Any other event that arrives meanwhile is put in `deferred`.
pub async fn settle(
    events: &mut UnboundedReceiver<Event>,
    dir: &str,
    deferred: &mut VecDeque<Event>,
) {
    let give_up = Instant::now() + DEBOUNCE_AT_MOST;
    loop {
        let quiet_until = (Instant::now() + DEBOUNCE).min(give_up);
        match tokio::time::timeout_at(quiet_until, events.recv()).await {
            Ok(Some(Event::Changed(changed))) if changed == dir => {
                if Instant::now() >= give_up {
                    return;
                }
            }
            Ok(Some(other)) => deferred.push_back(other),
            // Quiet long enough, or the senders are gone.
            Err(_) | Ok(None) => return,
        }
    }
}

/// The lab folder (`01-orders`) a changed `path` under `labs` belongs to, if the change can
/// matter to the lab's build.
///
/// Only `.rs` and `.toml` files count. Build output (`target/`), hidden files and folders
/// (`.git`, vim's `.main.rs.swp`, emacs's `.#main.rs`) and backups (`main.rs~`, `#main.rs#`)
/// are ignored: editors write them on every keystroke or save, and re-running for them
/// would run the lab twice per save or for no save at all.
pub fn lab_of_change(labs: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(labs).ok()?;
    let parts: Vec<&str> = relative
        .components()
        .map(|part| match part {
            Component::Normal(name) => name.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    // A file directly in labs/ (info.toml) belongs to no lab.
    if parts.len() < 2 {
        return None;
    }
    if parts
        .iter()
        .any(|part| *part == "target" || part.starts_with('.'))
    {
        return None;
    }
    let file = parts.last()?;
    let wanted = Path::new(file)
        .extension()
        .is_some_and(|ext| ext == "rs" || ext == "toml");
    if !wanted || file.ends_with('~') || file.starts_with('#') {
        return None;
    }
    Some(parts[0].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn change(path: &str) -> Option<String> {
        lab_of_change(Path::new("/course/labs"), &PathBuf::from(path))
    }

    #[test]
    fn source_files_of_a_lab_count() {
        let lab = Some("01-orders".to_string());
        assert_eq!(change("/course/labs/01-orders/src/main.rs"), lab);
        assert_eq!(change("/course/labs/01-orders/src/bin/consumer.rs"), lab);
        assert_eq!(change("/course/labs/01-orders/Cargo.toml"), lab);
    }

    #[test]
    fn build_output_and_editor_files_are_ignored() {
        for path in [
            "/course/labs/01-orders/target/debug/build/x.rs",
            "/course/labs/01-orders/src/.main.rs.swp",
            "/course/labs/01-orders/src/.#main.rs",
            "/course/labs/01-orders/src/#main.rs#",
            "/course/labs/01-orders/src/main.rs~",
            "/course/labs/01-orders/src/4913",
            "/course/labs/01-orders/src/main.rs.tmp",
            "/course/labs/01-orders/src/main.rs___jb_tmp___",
            "/course/labs/01-orders/.git/index",
            "/course/labs/01-orders/notes.md",
            "/course/labs/info.toml",
            "/course/book/src/lab01.md",
            "/elsewhere/labs/01-orders/src/main.rs",
        ] {
            assert_eq!(change(path), None, "{path} should be ignored");
        }
    }

    #[test]
    fn reading_a_file_is_no_change() {
        use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
        assert!(!counts(&EventKind::Access(AccessKind::Open(
            AccessMode::Read
        ))));
        assert!(!counts(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(counts(&EventKind::Modify(ModifyKind::Any)));
        assert!(counts(&EventKind::Create(CreateKind::File)));
    }

    fn temp_labs(name: &str) -> (PathBuf, PathBuf) {
        let labs =
            std::env::temp_dir().join(format!("checker-watch-{name}-{}", std::process::id()));
        let src = labs.join("01-orders").join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("main.rs"), "fn main() {}").unwrap();
        (labs, src)
    }

    #[tokio::test]
    async fn a_save_is_reported_and_settles_into_one_change() {
        let (labs, src) = temp_labs("save");
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let _watch = watch(&labs, sender).unwrap();
        // A save as editors do it: a swap file, a temp file, a rename over the original.
        std::fs::write(src.join(".main.rs.swp"), "x").unwrap();
        std::fs::write(src.join("main.rs.tmp"), "fn main() { }").unwrap();
        std::fs::rename(src.join("main.rs.tmp"), src.join("main.rs")).unwrap();
        std::fs::write(labs.join("02-group-sizing.rs"), "").unwrap();
        let first = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
            .await
            .expect("a change is reported")
            .unwrap();
        assert!(
            matches!(&first, Event::Changed(dir) if dir == "01-orders"),
            "{first:?}"
        );
        let mut deferred = VecDeque::new();
        settle(&mut receiver, "01-orders", &mut deferred).await;
        assert!(deferred.is_empty(), "{deferred:?}");
        assert!(receiver.try_recv().is_err(), "the burst was one save");
        std::fs::remove_dir_all(labs).unwrap();
    }

    #[tokio::test]
    async fn reading_the_sources_reports_nothing() {
        let (labs, src) = temp_labs("read");
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let _watch = watch(&labs, sender).unwrap();
        // What a build does to the sources: open and read them.
        std::fs::read_to_string(src.join("main.rs")).unwrap();
        let event = tokio::time::timeout(DEBOUNCE * 2, receiver.recv()).await;
        assert!(event.is_err(), "a read started a check: {event:?}");
        std::fs::remove_dir_all(labs).unwrap();
    }
}
