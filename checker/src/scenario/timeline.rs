//! The run as one text timeline: every process's lines, the checker's signals and the
//! processes' exits, and what the checker saw on the broker, in the order and at the time the checker saw them. Printed under a
//! failure, and in full by `checker verify --verbose`. Its lines have the shape of a book
//! timeline's data lines, `<seconds> <lane>: <event>`.

use std::time::Instant;

use nix::sys::signal::Signal;

use super::{ProcessId, Run};

impl Run<'_> {
    /// Notes that the checker sent `signal` to process `id`, for the timeline.
    pub(super) fn mark_signal(&self, id: ProcessId, signal: Signal) {
        self.mark(id, signal.as_str());
    }

    /// Notes on process `id`'s lane of the timeline what the checker saw happen to it at
    /// this moment on the broker (`group committed offset 5`).
    pub fn mark(&self, id: ProcessId, note: impl Into<String>) {
        self.marks
            .lock()
            .expect("marks poisoned")
            .push((Instant::now(), id, note.into()));
    }

    /// Every event of the run so far, as `<seconds> <lane>: <event>` lines in time order,
    /// the seconds counted from the start of the run.
    pub fn timeline(&self) -> Vec<String> {
        let mut entries: Vec<(Instant, String, String)> = Vec::new();
        for process in &self.processes {
            let lane = process.label().to_string();
            for (at, line) in process.timed_lines() {
                entries.push((at, lane.clone(), line));
            }
            if let Some(at) = process.exited_at() {
                entries.push((at, lane.clone(), "exited".to_string()));
            }
        }
        for (at, id, note) in self.marks.lock().expect("marks poisoned").iter() {
            let lane = self.process(*id).label().to_string();
            entries.push((*at, lane, format!("! {note}")));
        }
        // Stable: lines read at the same instant keep the order they were printed in.
        entries.sort_by_key(|(at, _, _)| *at);
        entries
            .into_iter()
            .map(|(at, lane, event)| {
                let seconds = at.saturating_duration_since(self.began).as_secs_f64();
                format!("{seconds:.2} {lane}: {event}")
            })
            .collect()
    }
}
