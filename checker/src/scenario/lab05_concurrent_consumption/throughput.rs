//! Lab 5's parallelism: partitions processed side by side, each one sequentially.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::PROCESSING;
use crate::broker::records::Stored;
use lab_contract::lab05;

use crate::scenario::reading::Handling;
use crate::scenario::{group, Failure, ProcessId, Run};

/// The most processing slots 8 messages may take on 4 partitions: 2 is ideal, a group that
/// uses only 2 of its partitions at a time needs 4, a sequential program 8.
pub(super) const MAX_SLOTS: f64 = 3.5;

/// Waits for the batch to be committed and checks, from the first `started` to the last
/// `committed` line, that it took fewer than [`MAX_SLOTS`] processing slots. Records the
/// time and the speed-up over one consumer.
pub(super) async fn throughput(
    run: &mut Run<'_>,
    id: ProcessId,
    group_id: &str,
    topic: &str,
    batch: &[Stored],
) -> Result<(), Failure> {
    let mut first_start: Option<Instant> = None;
    let handling = Handling {
        what: "all 8 messages to be processed and committed",
        ids: &[id],
        group: group_id,
        topic,
        patience: run.patience(lab05::TIMERS),
    };
    let elapsed = run
        .wait_handled(handling, |run| {
            let lines = run.process(id).lines();
            if first_start.is_none() && !group::handled(&lines, "started").is_empty() {
                first_start = Some(Instant::now());
            }
            let done = group::handled(&lines, "committed");
            let all = batch
                .iter()
                .all(|m| done.iter().any(|d| d.payload == m.payload));
            Ok(all.then(|| first_start.map_or(Duration::ZERO, |t| t.elapsed())))
        })
        .await?;
    let slots = elapsed.as_secs_f64() / PROCESSING.as_secs_f64();
    // Against one slot per message, done one after another.
    let speedup = 8.0 / slots.max(1.0);
    if slots >= MAX_SLOTS {
        return Err(run
            .fail(format!(
                "8 messages took {:.1} s, {slots:.1} processing slots of {} ms: a speed-up of \
                 {speedup:.1}× over one consumer, where 4 consumers on 4 partitions give about 4× \
                 (2 slots)",
                elapsed.as_secs_f64(),
                PROCESSING.as_millis()
            ))
            .detail(
                "Each consumer needs its own task, so that the four process their partitions at \
                 the same time; nothing they share may be held while a message is processed.",
            ));
    }
    run.measured(
        format!(
            "8 messages of {} ms on 4 partitions processed in",
            PROCESSING.as_millis()
        ),
        elapsed,
    );
    run.measured_ratio("speed-up over one consumer", speedup);
    Ok(())
}

/// Within each partition, a message starts only after the previous one was committed.
pub(super) fn check_sequential(run: &Run<'_>, id: ProcessId) -> Result<(), Failure> {
    let lines = run.process(id).lines();
    if let Some(line) = group::unexpected(&lines, &["started", "committed", "skipped"])
        .iter()
        .find(|l| **l != "stopped")
    {
        return Err(run.off_contract(
            None,
            line,
            "consumer <i> started|committed id=<id> partition=<p> offset=<o>, consumer <i> \
             skipped partition=<p> offset=<o>, or stopped",
        ));
    }
    let mut open: BTreeMap<i32, String> = BTreeMap::new();
    for line in &lines {
        for event in [("started", true), ("committed", false)] {
            if let Some(handled) = group::handled(std::slice::from_ref(line), event.0).first() {
                let id = handled.payload.clone();
                if event.1 {
                    if let Some(previous) = open.insert(handled.partition, id.clone()) {
                        return Err(run.fail(format!(
                            "{id} started on partition {} before {previous} was committed: process a partition one message at a time",
                            handled.partition
                        )));
                    }
                } else if open.remove(&handled.partition) != Some(id.clone()) {
                    return Err(run.fail(format!(
                        "{id} was committed without being started (or out of turn) on partition {}",
                        handled.partition
                    )));
                }
            }
        }
    }
    Ok(())
}
