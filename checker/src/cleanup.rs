//! What the checker must undo before it exits, however it exits: one registry, one Ctrl-C
//! handler.
//!
//! Whatever the checker starts or changes that would outlive it registers here: the process
//! groups of lab programs and cargo builds, a broker's run topics and containers, a grading
//! run's scratch folders, the terminal's mode in watch mode. Each owner holds the
//! [`Registration`] and undoes its work itself when it is done with it (dropping the
//! registration does it). Ctrl-C is the one exit where destructors do not run: the handler
//! of [`exit_on_ctrl_c`] then undoes everything still registered, [`Stage`] by stage, and
//! exits.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// When, among everything registered, a piece of work is undone on exit. Earlier stages
/// go first: lab processes are stopped before their topics are deleted (a running consumer
/// could recreate them) and before their working folders go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Process groups the checker leads: lab programs, cargo builds.
    Processes,
    /// What a run left on a broker: its topics and groups, or its container.
    Brokers,
    /// Scratch folders on disk.
    Files,
    /// The terminal's settings, put back last so every message before it reads normally.
    Terminal,
}

/// The work that undoes one registration.
pub type Undo = Box<dyn FnOnce() + Send>;

struct Entry {
    stage: Stage,
    undo: Undo,
}

/// Everything registered and not yet undone or dismissed, by registration number.
static PENDING: Mutex<BTreeMap<u64, Entry>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn pending() -> std::sync::MutexGuard<'static, BTreeMap<u64, Entry>> {
    // An undo never runs under the lock, so a panic cannot leave the map half-changed.
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One piece of work the checker must undo before it exits. Dropping it undoes the work
/// now (unless it was taken or dismissed), so an early return or a panic cleans up too.
#[must_use = "dropping a registration undoes its work at once"]
#[derive(Debug)]
pub struct Registration(u64);

impl Registration {
    /// Registers `undo`, to run in `stage` if the checker is interrupted before the
    /// registration is dropped.
    pub fn new(stage: Stage, undo: impl FnOnce() + Send + 'static) -> Registration {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let undo = Box::new(undo);
        pending().insert(id, Entry { stage, undo });
        Registration(id)
    }

    /// Takes the undo work out of the registry, for the owner to run (on another thread,
    /// say). `None` once it has been taken, run or dismissed.
    pub fn take(&self) -> Option<Undo> {
        pending().remove(&self.0).map(|entry| entry.undo)
    }

    /// Undoes the work now, if it is still registered.
    pub fn run(&self) {
        if let Some(undo) = self.take() {
            undo();
        }
    }

    /// Forgets the work without undoing it: what it guarded is meant to stay.
    pub fn dismiss(self) {
        drop(self.take());
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.run();
    }
}

/// Undoes everything registered in `stage`, at once, on one thread each (deleting topics
/// waits on a broker; nothing should wait for another). Blocks until all are done.
pub fn run_stage(stage: Stage) {
    run_where(|_, entry_stage| entry_stage == stage);
}

/// Undoes, in parallel, the registered work whose number and stage `due` picks.
fn run_where(due: impl Fn(u64, Stage) -> bool) {
    let due: Vec<Undo> = {
        let mut pending = pending();
        let ids: Vec<u64> = pending
            .iter()
            .filter(|(id, entry)| due(**id, entry.stage))
            .map(|(id, _)| *id)
            .collect();
        ids.iter()
            .filter_map(|id| pending.remove(id))
            .map(|entry| entry.undo)
            .collect()
    };
    let workers: Vec<_> = due.into_iter().map(std::thread::spawn).collect();
    for worker in workers {
        let _ = worker.join();
    }
}

/// Undoes everything still registered, stage by stage. Blocks for at most a few seconds.
pub fn run_all() {
    for stage in [
        Stage::Processes,
        Stage::Brokers,
        Stage::Files,
        Stage::Terminal,
    ] {
        run_stage(stage);
    }
}

/// Starts the checker's one Ctrl-C handler: on Ctrl-C it undoes everything still
/// registered ([`run_all`]) and exits with 130. Call it once, inside the async runtime.
///
/// Lab processes lead their own process groups, so the terminal's Ctrl-C does not reach
/// them: the checker must end them itself, and exiting here skips every destructor.
pub fn exit_on_ctrl_c() {
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            run_all();
            eprintln!("\nInterrupted: every lab process has been stopped.");
            std::process::exit(130);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn recorder() -> (Arc<Mutex<Vec<&'static str>>>, impl Fn(&'static str) -> Undo) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = log.clone();
        let undo = move |what: &'static str| -> Undo {
            let log = shared.clone();
            Box::new(move || log.lock().unwrap().push(what))
        };
        (log, undo)
    }

    #[test]
    fn a_registration_is_undone_once() {
        let (log, undo) = recorder();
        let dropped = Registration::new(Stage::Files, undo("dropped"));
        let run = Registration::new(Stage::Files, undo("run"));
        let dismissed = Registration::new(Stage::Files, undo("dismissed"));
        let taken = Registration::new(Stage::Files, undo("taken"));
        drop(dropped);
        run.run();
        run.run();
        drop(run);
        dismissed.dismiss();
        let work = taken.take().expect("still registered");
        assert!(taken.take().is_none());
        drop(taken);
        work();
        assert_eq!(*log.lock().unwrap(), ["dropped", "run", "taken"]);
    }

    #[test]
    fn a_stage_undoes_only_its_own_work() {
        let (log, undo) = recorder();
        let terminal = Registration::new(Stage::Terminal, undo("terminal"));
        let first = Registration::new(Stage::Processes, undo("process"));
        let second = Registration::new(Stage::Processes, undo("process"));
        // Only this test's work: other tests register process groups in the same registry.
        let ours = [terminal.0, first.0, second.0];
        run_where(|id, stage| ours.contains(&id) && stage == Stage::Processes);
        assert_eq!(*log.lock().unwrap(), ["process", "process"]);
        // Undone already: dropping the registrations does nothing more.
        drop((first, second));
        assert_eq!(log.lock().unwrap().len(), 2);
        terminal.dismiss();
    }

    #[test]
    fn stages_are_in_exit_order() {
        assert!(Stage::Processes < Stage::Brokers);
        assert!(Stage::Brokers < Stage::Files);
        assert!(Stage::Files < Stage::Terminal);
    }
}
