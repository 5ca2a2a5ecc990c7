//! Lab 5: partitions are the unit of parallelism. Four consumers on four partitions process
//! eight messages in about two processing slots; each partition stays sequential; an offset
//! is committed only after its message is processed; SIGTERM lets in-flight messages finish,
//! and a restarted group resumes exactly where the last one stopped.

mod commits;
mod shutdown;
mod throughput;

use std::time::{Duration, Instant};

use lab_contract::{env, lab05};

use super::group;
use super::lines::Fields;
use super::reading::Handling;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;
use commits::{check_committed, check_not_committed_early};
use shutdown::{check_resumed, check_shutdown};
use throughput::{check_sequential, throughput, MAX_SLOTS};

/// Consumers: one for each partition of the topic.
const CONSUMERS: usize = lab05::TOPIC.partitions as usize;
/// The simulated work per message. Long enough that checker overheads are small beside it,
/// and that a signal sent just after a message starts lands mid-processing.
const PROCESSING: Duration = Duration::from_millis(1000);

/// Plays the three phases: throughput, shutdown mid-processing, restart.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    run.step(1);
    let topic = run.topic(lab05::TOPIC).await?;
    let group = run.unique(lab05::GROUP);
    let first = start(run, "consumers", &topic, &group).await?;

    run.step(2);
    // One message that is not a job, first on its partition: the job behind it must still
    // be processed.
    let malformed = produce_malformed(run, &topic).await?;
    let batch = produce(run, &topic, 0..8).await?;
    throughput(run, first, &group, &topic, &batch)
        .await
        .map_err(|failure| malformed_hint(run, first, &malformed, failure))?;
    check_sequential(run, first)?;
    check_skipped(run, first, &malformed)?;
    check_committed(run, &group, &topic, first).await?;
    run.transcript.section(
        "8 messages, 4 partitions, 4 consumers",
        [
            // The measured time varies from run to run; only the verdict on it may be here.
            format!("took under {MAX_SLOTS} processing slots (2 at best; sequential would take 8)"),
            "each partition processed in order, one message at a time".to_string(),
            "every offset committed after its message was processed".to_string(),
            "the message that is not a job was logged, committed past and skipped; the jobs behind it were processed".to_string(),
        ],
    );

    run.step(3);
    // No message of the batch can be taken, let alone processed, before it is written.
    let written = Instant::now();
    let more = produce(run, &topic, 8..16).await?;
    // Waits for the first `started` line of the new batch: the signal then lands at the start
    // of a processing slot, with the whole slot still to run.
    let handling = Handling {
        what: "a message to be in processing",
        ids: &[first],
        group: &group,
        topic: &topic,
        patience: run.patience(lab05::TIMERS),
    };
    let in_flight = run
        .wait_handled(handling, |run| {
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
    let expected = group::Expected {
        group,
        members: CONSUMERS,
        partitions: CONSUMERS as i32,
        patience: run.patience(lab05::TIMERS),
    };
    let (id, _) = group::start_settled(run, launch, expected)
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

/// Writes jobs `ids` as JSON (`{"id":"3-<nonce>"}`), round robin over the partitions. The
/// records are returned with their job id as payload, which is what the program prints.
async fn produce(
    run: &Run<'_>,
    topic: &str,
    ids: std::ops::Range<i32>,
) -> Result<Vec<Stored>, Failure> {
    let outgoing: Vec<Outgoing> = ids
        .map(|id| {
            Outgoing::to_partition(
                id % CONSUMERS as i32,
                format!("{{\"id\":\"{id}-{}\"}}", run.nonce()),
            )
        })
        .collect();
    let stored = run.produce(topic, &outgoing).await?;
    Ok(stored
        .into_iter()
        .map(|record| Stored {
            payload: job_id(&record.payload),
            ..record
        })
        .collect())
}

/// The id of a job as the checker writes it.
fn job_id(json: &str) -> String {
    json.trim_start_matches("{\"id\":\"")
        .trim_end_matches("\"}")
        .to_string()
}

/// Writes one message to partition 0 that is not a job: not JSON at all.
async fn produce_malformed(run: &Run<'_>, topic: &str) -> Result<Stored, Failure> {
    let outgoing = Outgoing::to_partition(0, format!("job {} <- not JSON", run.nonce()));
    let mut stored = run.produce(topic, &[outgoing]).await?;
    Ok(stored.remove(0))
}

/// The program skipped the malformed message exactly once, and processed nothing of it.
fn check_skipped(run: &Run<'_>, id: ProcessId, malformed: &Stored) -> Result<(), Failure> {
    let skipped = skipped(run, id);
    let expected = (malformed.partition, malformed.offset);
    if skipped != [expected] {
        return Err(run
            .fail(format!(
                "the message at partition {} offset {} is not a job; the program should print \
                 `consumer <i> skipped partition={} offset={}` once, and it printed {}",
                expected.0,
                expected.1,
                expected.0,
                expected.1,
                if skipped.is_empty() {
                    "no `skipped` line".to_string()
                } else {
                    format!("`skipped` for {skipped:?}")
                }
            ))
            .detail(MALFORMED));
    }
    Ok(())
}

/// `(partition, offset)` of each `consumer <i> skipped partition=<p> offset=<o>` line.
fn skipped(run: &Run<'_>, id: ProcessId) -> Vec<(i32, i64)> {
    run.process(id)
        .lines()
        .iter()
        .map(|line| Fields::parse(line))
        .filter(|fields| matches!(fields.words.as_slice(), ["consumer", _, "skipped"]))
        .filter_map(|fields| Some((fields.number("partition")? as i32, fields.number("offset")?)))
        .collect()
}

/// What to do with a message that is not a job.
const MALFORMED: &str = "A message that cannot be decoded will not decode next time either. \
    Log it on stderr, commit past it (commit_message), print `skipped`, and go on with the \
    next message: a panic stops every partition, a retry loop stalls one, and skipping \
    without a commit hands it to the next owner to fail on again.";

/// Adds [`MALFORMED`] to a failure of the batch when the malformed message was never
/// skipped: it is then the likely cause (a panic, or a partition stalled on it).
fn malformed_hint(run: &Run<'_>, id: ProcessId, malformed: &Stored, failure: Failure) -> Failure {
    if skipped(run, id).contains(&(malformed.partition, malformed.offset)) {
        return failure;
    }
    failure.detail(format!(
        "The checker wrote one message that is not a job, at partition {} offset {}, before the \
         jobs of that partition. {MALFORMED}",
        malformed.partition, malformed.offset
    ))
}
