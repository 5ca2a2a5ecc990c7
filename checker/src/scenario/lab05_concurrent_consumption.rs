//! Lab 5: partitions are the unit of parallelism. Four consumers on four partitions process
//! eight messages in about two processing slots; each partition stays sequential; an offset
//! is committed only after its message is processed; SIGTERM lets in-flight messages finish,
//! and a restarted group resumes exactly where the last one stopped.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lab_contract::{env, lab05};

use super::group;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;

/// Consumers: one for each partition of the topic.
const CONSUMERS: usize = lab05::TOPIC.partitions as usize;
/// The simulated work per message. Long enough that checker overheads are small beside it,
/// and that a signal sent just after a message starts lands mid-processing.
const PROCESSING: Duration = Duration::from_millis(1000);
/// How long the group may take to settle before the lab counts as not forming one group.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(20);
/// The most processing slots 8 messages may take on 4 partitions: 2 is ideal, a group that
/// uses only 2 of its partitions at a time needs 4, a sequential program 8.
const MAX_SLOTS: f64 = 3.5;
/// How often the broker's committed offsets are sampled while a message is in processing.
const COMMIT_SAMPLE_INTERVAL: Duration = Duration::from_millis(50);

/// Plays the three phases: throughput, shutdown mid-processing, restart.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    run.step(1);
    let topic = run.topic(lab05::TOPIC).await?;
    let group = run.unique(lab05::GROUP);
    let first = start(run, "consumers", &topic, &group).await?;

    run.step(2);
    let batch = produce(run, &topic, 0..8).await?;
    throughput(run, first, &batch).await?;
    check_sequential(run, first)?;
    check_committed(run, &group, &topic, first).await?;
    run.transcript.section(
        "8 messages, 4 partitions, 4 consumers",
        [
            // The measured time varies from run to run; only the verdict on it may be here.
            format!("took under {MAX_SLOTS} processing slots (2 at best; sequential would take 8)"),
            "each partition processed in order, one message at a time".to_string(),
            "every offset committed after its message was processed".to_string(),
        ],
    );

    run.step(3);
    // No message of the batch can be taken, let alone processed, before it is written.
    let written = Instant::now();
    let more = produce(run, &topic, 8..16).await?;
    // Waits for the first `started` line of the new batch: the signal then lands at the start
    // of a processing slot, with the whole slot still to run.
    let in_flight = run
        .wait_for("a message to be in processing", EVENT_TIMEOUT, |run| {
            let lines = run.process(first).lines();
            let started: Vec<group::Handled> = group::handled(&lines, "started")
                .into_iter()
                .filter(|s| more.iter().any(|m| m.payload == s.payload))
                .collect();
            Ok((!started.is_empty()).then_some(started))
        })
        .await?;
    run.terminate(first);
    run.step(2);
    check_not_committed_early(run, &group, &topic, &in_flight, written).await?;
    run.step(3);
    run.wait_success(first, EVENT_TIMEOUT)
        .await
        .map_err(|failure| {
            failure.detail(
                "On SIGTERM, stop taking messages, let the ones in flight finish and be committed, \
                 close the consumers, print `stopped` and return from main.",
            )
        })?;
    let stopped = check_shutdown(run, first, &more)?;
    check_committed(run, &group, &topic, first).await?;
    let committed_before = run.committed(&group, &topic).await?;

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
            "no message in processing was committed before its processing ended".to_string(),
            "every message in flight at the signal finished and was committed".to_string(),
            "no message started after the signal; `stopped` printed last; exit code 0".to_string(),
            "committed offsets matched exactly what was processed".to_string(),
            "the restarted group resumed right after the last processed message of every partition"
                .to_string(),
        ],
    );
    Ok(())
}

/// Starts the program in `group` and waits until each of its consumers owns one partition.
async fn start(
    run: &mut Run<'_>,
    label: &str,
    topic: &str,
    group: &str,
) -> Result<ProcessId, Failure> {
    let launch = Launch::new(label, &[])
        .env(env::KAFKA_TOPIC, topic)
        .env(env::KAFKA_GROUP_ID, group)
        .env(env::CONSUMERS, CONSUMERS.to_string())
        .env(env::PROCESSING_MS, PROCESSING.as_millis().to_string());
    let (id, _) = group::start_settled(run, launch, CONSUMERS, CONSUMERS as i32, SETTLE_TIMEOUT)
        .await
        .map_err(|failure| {
            failure.detail(format!(
                "With CONSUMERS={CONSUMERS} the program runs consumers 0 to {}, each its own \
                 member of the group in its own task, each printing its rebalances with \
                 AssignmentPrinter {{ member: Some(i) }}.",
                CONSUMERS - 1
            ))
        })?;
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
    run.produce(topic, &outgoing).await
}

/// Waits for the batch to be committed and checks, from the first `started` to the last
/// `committed` line, that it took fewer than [`MAX_SLOTS`] processing slots.
async fn throughput(run: &Run<'_>, id: ProcessId, batch: &[Stored]) -> Result<(), Failure> {
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
    Ok(())
}

/// Within each partition, a message starts only after the previous one was committed.
fn check_sequential(run: &Run<'_>, id: ProcessId) -> Result<(), Failure> {
    let lines = run.process(id).lines();
    if let Some(line) = group::unexpected(&lines, &["started", "committed"])
        .iter()
        .find(|l| **l != "stopped")
    {
        return Err(run.off_contract(
            None,
            line,
            "consumer <i> started|committed id=<id> partition=<p> offset=<o>, or stopped",
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

/// Samples the broker's committed offsets while the messages in flight at the signal are
/// being processed: none of them may be committed yet.
///
/// None of them was written before `written`, so a correct program cannot commit one
/// sooner than one processing slot after it: a sample that came back before then never
/// shows a correct program's commit, however late the program's lines reached the checker,
/// while a program that commits before it processes shows the new offset at once. Only
/// samples are compared, never arrival times. If not one sample came back in time (a
/// machine too busy to answer within a slot), the check has not happened, and says so.
async fn check_not_committed_early(
    run: &Run<'_>,
    group: &str,
    topic: &str,
    in_flight: &[group::Handled],
    written: Instant,
) -> Result<(), Failure> {
    let deadline = written + PROCESSING;
    let mut samples = 0;
    loop {
        let committed = run.committed(group, topic).await?;
        if Instant::now() >= deadline {
            // This sample may have been taken after a correct commit: it proves nothing.
            break;
        }
        samples += 1;
        for message in in_flight {
            let Some(offset) = message.offset else {
                continue;
            };
            let at = committed.get(&message.partition).copied().flatten();
            if at.is_some_and(|at| at > offset) {
                return Err(run
                    .fail(format!(
                        "{} (partition {}, offset {offset}) was committed while it was still being \
                         processed: the broker held offset {} less than {} ms after the checker \
                         wrote the message, and processing takes {} ms",
                        message.payload,
                        message.partition,
                        at.unwrap_or_default(),
                        PROCESSING.as_millis(),
                        PROCESSING.as_millis()
                    ))
                    .detail(
                        "Commit a message after processing it. Committed first, it is lost if the \
                         program crashes mid-message: the group believes it done and never \
                         delivers it again.",
                    ));
            }
        }
        // Sampling a bounded window, not waiting for an event: the broker does not announce
        // commits.
        tokio::time::sleep(COMMIT_SAMPLE_INTERVAL).await;
    }
    if samples == 0 {
        return Err(run
            .fail(format!(
                "the checker could not read the group's committed offsets within {} ms of \
                 writing the messages, so it could not check that no message is committed \
                 before it is processed",
                PROCESSING.as_millis()
            ))
            .detail(
                "This is the checker's trouble, not the lab's: the machine was too busy to \
                 answer in time. Run the check again.",
            ));
    }
    Ok(())
}

/// Checks the shutdown: every message started was committed, no message started after the
/// first of `more` was taken, and `stopped` came last. Returns the payloads processed.
fn check_shutdown(run: &Run<'_>, id: ProcessId, more: &[Stored]) -> Result<Vec<String>, Failure> {
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

/// The broker's committed offsets equal one past the last committed message of each
/// partition: nothing committed unprocessed, nothing processed left uncommitted.
async fn check_committed(
    run: &Run<'_>,
    group: &str,
    topic: &str,
    id: ProcessId,
) -> Result<(), Failure> {
    let committed = run.committed(group, topic).await?;
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
