//! Lab 5: partitions are the unit of parallelism. Four consumers on four partitions process
//! eight messages in about two processing slots; each partition stays sequential; an offset
//! is committed only after its message is processed; SIGTERM lets in-flight messages finish,
//! and a restarted group resumes exactly where the last one stopped.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::group;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;

/// Consumers, and partitions: one each.
const CONSUMERS: usize = 4;
/// The simulated work per message. Long enough that checker overheads are small beside it,
/// and that a signal sent just after a message starts lands mid-processing.
const PROCESSING: Duration = Duration::from_millis(1000);
/// How long the group may take to settle before the lab counts as not forming one group.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(20);

/// Plays the three phases: throughput, shutdown mid-processing, restart.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    run.step(1);
    let topic = run.topic("topic1", CONSUMERS as i32).await?;
    let group = run.unique("group1");
    let first = start(run, "consumers", &topic, &group).await?;

    run.step(2);
    let batch = produce(run, &topic, 0..8).await?;
    let slots = throughput(run, first, &batch).await?;
    check_sequential(run, first)?;
    check_committed(run, &group, &topic, first).await?;
    run.transcript.section(
        "8 messages, 4 partitions, 4 consumers",
        [
            format!("took about {slots} processing slots (sequential would take 8)"),
            "each partition processed in order, one message at a time".to_string(),
            "every offset committed after its message was processed".to_string(),
        ],
    );

    run.step(3);
    let more = produce(run, &topic, 8..16).await?;
    run.wait_for("a message to be in processing", EVENT_TIMEOUT, |run| {
        let lines = run.process(first).lines();
        let started = group::handled(&lines, "started");
        Ok(more
            .iter()
            .any(|m| started.iter().any(|s| s.payload == m.payload))
            .then_some(()))
    })
    .await?;
    run.terminate(first);
    run.wait_success(first, EVENT_TIMEOUT).await?;
    let stopped = check_shutdown(run, first, &more)?;
    check_committed(run, &group, &topic, first).await?;
    let committed_before = run
        .broker
        .committed(&group, &topic)
        .await
        .map_err(|e| run.fail(format!("the checker could not read offsets: {e:#}")))?;

    let restarted = start(run, "restarted consumers", &topic, &group).await?;
    let remaining: Vec<&Stored> = more
        .iter()
        .filter(|m| !stopped.contains(&m.payload))
        .collect();
    run.wait_for(
        "the restarted group to process the rest",
        EVENT_TIMEOUT,
        |run| {
            let done = group::handled(&run.process(restarted).lines(), "committed");
            Ok(remaining
                .iter()
                .all(|m| done.iter().any(|d| d.payload == m.payload))
                .then_some(()))
        },
    )
    .await?;
    run.terminate(restarted);
    run.wait_success(restarted, EVENT_TIMEOUT).await?;
    check_resumed(run, restarted, &committed_before, &batch, &stopped)?;
    run.transcript.section(
        "SIGTERM while messages are in processing, then a restart",
        [
            // How many partitions had started a message when the signal landed varies.
            "every message in flight at the signal finished and was committed".to_string(),
            "no message started after the signal; `stopped` printed last; exit code 0".to_string(),
            "committed offsets matched exactly what was processed".to_string(),
            "the restarted group resumed right after the last processed message of every partition"
                .to_string(),
        ],
    );
    Ok(())
}

async fn start(
    run: &mut Run<'_>,
    label: &str,
    topic: &str,
    group: &str,
) -> Result<ProcessId, Failure> {
    let launch = Launch::new(label, &[])
        .env("KAFKA_TOPIC", topic)
        .env("KAFKA_GROUP_ID", group)
        .env("CONSUMERS", CONSUMERS.to_string())
        .env("PROCESSING_MS", PROCESSING.as_millis().to_string());
    let (id, _) =
        group::start_settled(run, launch, CONSUMERS, CONSUMERS as i32, SETTLE_TIMEOUT).await?;
    Ok(id)
}

/// Writes messages `ids`, round robin over the partitions.
async fn produce(
    run: &Run<'_>,
    topic: &str,
    ids: std::ops::Range<i32>,
) -> Result<Vec<Stored>, Failure> {
    let outgoing: Vec<Outgoing> = ids
        .map(|id| Outgoing {
            key: None,
            partition: Some(id % CONSUMERS as i32),
            payload: format!("{id}-{}", run.nonce()),
        })
        .collect();
    run.broker
        .produce(topic, &outgoing)
        .await
        .map_err(|e| run.fail(format!("the checker could not write the messages: {e:#}")))
}

/// Waits for the batch to be committed and measures, from the first `started` to the last
/// `committed` line, how many processing slots it took.
async fn throughput(run: &Run<'_>, id: ProcessId, batch: &[Stored]) -> Result<u32, Failure> {
    let mut first_start: Option<Instant> = None;
    let elapsed = run
        .wait_for(
            "all 8 messages to be processed and committed",
            EVENT_TIMEOUT,
            |run| {
                let lines = run.process(id).lines();
                if first_start.is_none() && !group::handled(&lines, "started").is_empty() {
                    first_start = Some(Instant::now());
                }
                let done = group::handled(&lines, "committed");
                let all = batch
                    .iter()
                    .all(|m| done.iter().any(|d| d.payload == m.payload));
                Ok(all.then(|| first_start.map_or(Duration::ZERO, |t| t.elapsed())))
            },
        )
        .await?;
    let slots = elapsed.as_secs_f64() / PROCESSING.as_secs_f64();
    let speedup = 8.0 / slots.max(1.0);
    // Two slots is ideal; the third allows for fetch latency. Sequential work takes eight.
    if slots > 3.0 {
        return Err(run.fail(format!(
            "8 messages took {:.1} s, {slots:.1} processing slots of {} ms (speed-up {speedup:.1}×); \
             4 consumers on 4 partitions should need about 2",
            elapsed.as_secs_f64(),
            PROCESSING.as_millis()
        )));
    }
    Ok(slots.round().max(1.0) as u32)
}

/// Within each partition, a message starts only after the previous one was committed.
fn check_sequential(run: &Run<'_>, id: ProcessId) -> Result<(), Failure> {
    let lines = run.process(id).lines();
    if let Some(line) = group::unexpected(&lines, &["started", "committed"])
        .iter()
        .find(|l| **l != "stopped")
    {
        return Err(run
            .fail("a line outside the lab's output contract")
            .detail(format!("the line: {line:?}"))
            .detail("expected: consumer <i> started|committed id=<id> partition=<p> offset=<o>, or stopped"));
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

/// Checks the shutdown: every message started was committed, no message started after the
/// first of `more` was taken, and `stopped` came last. Returns the payloads processed.
fn check_shutdown(run: &Run<'_>, id: ProcessId, more: &[Stored]) -> Result<Vec<String>, Failure> {
    let lines = run.process(id).lines();
    check_sequential(run, id)?;
    if lines.last().map(String::as_str) != Some("stopped") {
        return Err(
            run.fail("the program must print `stopped` last, once every consumer has closed")
        );
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

/// The broker's committed offsets equal one past the last committed message of each
/// partition: nothing committed unprocessed, nothing processed left uncommitted.
async fn check_committed(
    run: &Run<'_>,
    group: &str,
    topic: &str,
    id: ProcessId,
) -> Result<(), Failure> {
    let committed = run
        .broker
        .committed(group, topic)
        .await
        .map_err(|e| run.fail(format!("the checker could not read offsets: {e:#}")))?;
    let reported = group::handled(&run.process(id).lines(), "committed");
    for partition in 0..CONSUMERS as i32 {
        let last = reported
            .iter()
            .filter(|h| h.partition == partition)
            .filter_map(|h| h.offset)
            .max();
        let expected = last.map(|o| o + 1);
        let actual = committed.get(&partition).copied().flatten();
        if actual != expected {
            return Err(run
                .fail(format!(
                    "partition {partition}: the group committed offset {} but the program reported processing up to {}",
                    actual.map_or("nothing".into(), |o| o.to_string()),
                    last.map_or("nothing".into(), |o| o.to_string())
                ))
                .detail("Commit each message right after processing it (commit_message), and never before."));
        }
    }
    Ok(())
}

/// The restarted group started every partition at the committed offset, and processed no
/// message a second time.
fn check_resumed(
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
