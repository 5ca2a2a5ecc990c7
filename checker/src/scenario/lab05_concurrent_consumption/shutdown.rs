//! Lab 5's shutdown: SIGTERM lets the messages in flight finish, and a restarted group
//! resumes right after the last one processed.

use std::collections::BTreeMap;

use super::throughput::check_sequential;
use super::CONSUMERS;
use crate::broker::records::Stored;
use crate::scenario::{group, Failure, ProcessId, Run};

/// Checks the shutdown: every message started was committed, no message started after the
/// first of `more` was taken, and `stopped` came last. Returns the payloads processed.
pub(super) fn check_shutdown(
    run: &Run<'_>,
    id: ProcessId,
    more: &[Stored],
) -> Result<Vec<String>, Failure> {
    let lines = run.process(id).lines();
    check_sequential(run, id)?;
    if lines.last().map(String::as_str) != Some("stopped") {
        let tail = lines[lines.len().saturating_sub(4)..].join("\n");
        return Err(run
            .fail("the program must print `stopped` last, once every consumer has closed")
            .detail(format!("its last lines:\n{tail}"))
            .detail(
                "Wait for every worker to finish its message and hand back its consumer, close \
                 the consumers, then print `stopped`.",
            ));
    }
    let started = group::handled(&lines, "started");
    let committed = group::handled(&lines, "committed");
    let mut processed = Vec::new();
    for message in more {
        let began = started.iter().any(|s| s.payload == message.payload);
        let done = committed.iter().any(|c| c.payload == message.payload);
        if began && !done {
            return Err(run.fail(format!(
                "{} was being processed at SIGTERM and never committed: finish the message in flight before stopping",
                message.payload
            )));
        }
        if done {
            processed.push(message.payload.clone());
        }
    }
    // The signal landed within the first of each partition's two new messages, so the
    // second must not have been taken.
    for partition in 0..CONSUMERS as i32 {
        let taken = more
            .iter()
            .filter(|m| m.partition == partition && processed.contains(&m.payload))
            .count();
        if taken > 1 {
            return Err(run.fail(format!(
                "partition {partition} took a new message after SIGTERM: stop taking messages once asked to stop"
            )));
        }
    }
    Ok(processed)
}

/// The restarted group started every partition at the committed offset, and processed no
/// message a second time.
pub(super) fn check_resumed(
    run: &Run<'_>,
    id: ProcessId,
    committed_before: &BTreeMap<i32, Option<i64>>,
    first_batch: &[Stored],
    stopped: &[String],
) -> Result<(), Failure> {
    let started = group::handled(&run.process(id).lines(), "started");
    for partition in 0..CONSUMERS as i32 {
        let first = started
            .iter()
            .find(|s| s.partition == partition)
            .and_then(|s| s.offset);
        let resume = committed_before.get(&partition).copied().flatten();
        if first.is_some() && first != resume {
            return Err(run.fail(format!(
                "after the restart partition {partition} began at offset {} instead of the committed {}",
                first.unwrap_or_default(),
                resume.map_or("nothing".into(), |o| o.to_string())
            )));
        }
    }
    for again in started.iter().map(|s| s.payload.clone()) {
        if stopped.contains(&again) || first_batch.iter().any(|m| m.payload == again) {
            return Err(run.fail(format!("{again} was processed again after the restart")));
        }
    }
    Ok(())
}
