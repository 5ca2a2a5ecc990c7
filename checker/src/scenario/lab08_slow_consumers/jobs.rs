//! Lab 8's jobs as the program reports them: when each started and finished.

use std::collections::BTreeMap;

use crate::broker::records::Stored;
use crate::scenario::lines::Fields;
use crate::scenario::readback::Reports;
use crate::scenario::{Failure, ProcessId, Run};

/// Each job's `started` and `finished` lines, by job id: line positions, in printing order.
#[derive(Debug, Default)]
pub struct Jobs {
    started: BTreeMap<String, Vec<usize>>,
    finished: BTreeMap<String, Vec<usize>>,
}

impl Jobs {
    /// Reads `started <job> partition=<p> offset=<o>` and `finished ...` lines.
    pub fn of(lines: &[String]) -> Jobs {
        let mut jobs = Jobs::default();
        for (index, line) in lines.iter().enumerate() {
            let fields = Fields::parse(line);
            match fields.words.as_slice() {
                ["started", job] => jobs.started.entry(job.to_string()).or_default().push(index),
                ["finished", job] => jobs
                    .finished
                    .entry(job.to_string())
                    .or_default()
                    .push(index),
                _ => {}
            }
        }
        jobs
    }

    /// Whether `job` has started.
    pub fn started(&self, job: &str) -> bool {
        self.started.contains_key(job)
    }

    /// Whether `job` has finished.
    pub fn finished(&self, job: &str) -> bool {
        self.finished.contains_key(job)
    }

    fn first(map: &BTreeMap<String, Vec<usize>>, job: &str) -> usize {
        map.get(job)
            .and_then(|v| v.first())
            .copied()
            .unwrap_or(usize::MAX)
    }

    /// On each partition, a job starts only after the one before it finished.
    pub fn check_order(&self, run: &Run<'_>, stored: &[Stored]) -> Result<(), Failure> {
        let mut by_partition: BTreeMap<i32, Vec<&Stored>> = BTreeMap::new();
        for record in stored {
            by_partition
                .entry(record.partition)
                .or_default()
                .push(record);
        }
        for (partition, mut records) in by_partition {
            records.sort_by_key(|r| r.offset);
            for pair in records.windows(2) {
                let (before, after) = (&pair[0].payload, &pair[1].payload);
                if Jobs::first(&self.started, after) < Jobs::first(&self.finished, before) {
                    return Err(run
                        .fail(format!(
                            "{after} started before {before}, the job before it on partition \
                             {partition}, had finished"
                        ))
                        .detail(
                            "A partition's jobs must run one at a time, in order: pause the \
                             partition when its job starts (consumer.pause), and resume it when \
                             the job is done.",
                        ));
                }
            }
        }
        Ok(())
    }

    /// The jobs `others` (of other partitions) all finished before the slow job; returns how
    /// many jobs finished while it ran.
    pub fn check_not_stalled(
        &self,
        run: &Run<'_>,
        slow: &str,
        others: &[Stored],
    ) -> Result<usize, Failure> {
        let slow_done = Jobs::first(&self.finished, slow);
        if let Some(late) = others
            .iter()
            .find(|j| Jobs::first(&self.finished, &j.payload) > slow_done)
        {
            return Err(run
                .fail(format!(
                    "{} (partition {}) finished only after the slow job: the other partition \
                     stalled behind it",
                    late.payload, late.partition
                ))
                .detail(
                    "Render each job in a task of its own, so that one slow job holds up only \
                     its own partition.",
                ));
        }
        let slow_start = Jobs::first(&self.started, slow);
        Ok(self
            .finished
            .values()
            .filter(|at| at.iter().any(|i| *i > slow_start && *i < slow_done))
            .count())
    }
}

/// Every job started once and finished once, where the broker stored it, and no line is
/// off the contract; returns the jobs.
pub fn check_jobs(run: &Run<'_>, id: ProcessId, stored: &[Stored]) -> Result<Jobs, Failure> {
    let reports = Reports {
        verbs: &["started", "finished"],
        noun: "job",
        assignments: true,
    };
    run.check_reported(id, reports, stored)?;
    let lines = run.process(id).lines();
    let jobs = Jobs::of(&lines);
    for record in stored {
        for (what, map) in [("started", &jobs.started), ("finished", &jobs.finished)] {
            let times = map.get(&record.payload).map_or(0, Vec::len);
            if times != 1 {
                return Err(run.fail(format!(
                    "{} {what} {times} times; every job should, once",
                    record.payload
                )));
            }
        }
    }
    Ok(jobs)
}
