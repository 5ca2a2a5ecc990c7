//! Lab 8: a job that outlasts `max.poll.interval.ms`. The consumer must stay in its group
//! (the broker shows the same member, Stable, throughout), keep its other partition moving
//! while the slow job runs, start a partition's jobs one at a time in offset order, and
//! finish and commit every job once.

mod jobs;

use std::collections::BTreeSet;
use std::future::pending;
use std::time::Duration;

use lab_contract::{env, lab08, AssignmentLine, Event};

use super::reading::Handling;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;
use jobs::{check_jobs, Jobs};

/// The slow job: two seconds past `max.poll.interval.ms`, so that a consumer that does not
/// call `recv()` while it runs is out of its group well before it ends.
const SLOW: Duration = Duration::from_millis(lab08::MAX_POLL_INTERVAL_MS + 2000);
/// Every other job.
const FAST: Duration = Duration::from_millis(200);
/// The jobs of partition 1, written with the slow one: they must not wait for it.
const PARTITION_1: [&str; 4] = ["b1", "b2", "b3", "b4"];

/// Plays the scenario: a slow job and two fast ones behind it on partition 0, and fast jobs
/// on partition 1.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    let patience = run.patience(lab08::TIMERS);
    run.step(1);
    let topic = run.topic(lab08::TOPIC).await?;
    let group = run.unique(lab08::GROUP);
    let id = run.start(
        Launch::new("renderer", &[])
            .env(env::KAFKA_TOPIC, &topic)
            .env(env::KAFKA_GROUP_ID, &group),
    )?;
    run.wait_joined("renderer", &group, &topic, patience.formation(1))
        .await?;

    let mut jobs: Vec<(i32, &str, Duration)> =
        vec![(0, "slow", SLOW), (0, "a1", FAST), (0, "a2", FAST)];
    jobs.extend(PARTITION_1.iter().map(|name| (1, *name, FAST)));
    let stored = produce(run, &topic, &jobs).await?;
    let slow = stored[0].payload.clone();
    let handling = Handling {
        what: "the slow job to start",
        ids: &[id],
        group: &group,
        topic: &topic,
        patience,
    };
    run.wait_handled(handling, |run| {
        Ok(Jobs::of(&run.process(id).lines())
            .started(&slow)
            .then_some(()))
    })
    .await?;

    run.step(2);
    let all: Vec<String> = stored.iter().map(|s| s.payload.clone()).collect();
    let finished = run.wait_for("every job to finish", EVENT_TIMEOUT, |run| {
        let jobs = Jobs::of(&run.process(id).lines());
        Ok(all.iter().all(|j| jobs.finished(j)).then_some(()))
    });
    tokio::select! {
        finished = finished => finished?,
        left = stays_in_group(run, id, &group) => return Err(left),
    }
    check_no_revoke(run, id)?;

    run.step(1);
    let jobs = check_jobs(run, id, &stored)?;
    // Order first: jobs of one partition run side by side also commit out of order, and
    // the last commit to land can move the group's offset back.
    run.step(3);
    jobs.check_order(run, &stored)?;
    run.step(1);
    run.check_committed_to_end("the renderer", &group, &topic)
        .await?;
    run.step(3);
    let partition_1: Vec<Stored> = stored
        .iter()
        .filter(|s| s.partition == 1)
        .cloned()
        .collect();
    let overtaken = jobs.check_not_stalled(run, &slow, &partition_1)?;

    run.terminate(id);
    run.wait_success(id, EVENT_TIMEOUT).await?;
    run.transcript.section(
        format!(
            "a job of {} ms, max.poll.interval.ms={}",
            SLOW.as_millis(),
            lab08::MAX_POLL_INTERVAL_MS
        ),
        [
            "the consumer stayed in its group: one member, Stable, no rebalance".to_string(),
            format!(
                "partition 1 kept moving: its {} jobs finished while the slow job ran",
                PARTITION_1.len()
            ),
            "each partition's jobs ran one at a time, in offset order".to_string(),
            "every job finished once, and its offset was committed".to_string(),
        ],
    );
    run.measured_count("jobs finished while the slow job ran", overtaken);
    Ok(())
}

/// Writes `jobs` (partition, name, duration) as `<name>-<nonce> <milliseconds>`. The
/// records come back with the job id alone as payload, which is what the program prints.
async fn produce(
    run: &Run<'_>,
    topic: &str,
    jobs: &[(i32, &str, Duration)],
) -> Result<Vec<Stored>, Failure> {
    let outgoing: Vec<Outgoing> = jobs
        .iter()
        .map(|(partition, name, takes)| {
            Outgoing::to_partition(
                *partition,
                format!("{name}-{} {}", run.nonce(), takes.as_millis()),
            )
        })
        .collect();
    Ok(run
        .produce(topic, &outgoing)
        .await?
        .into_iter()
        .map(|record| Stored {
            payload: record
                .payload
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string(),
            ..record
        })
        .collect())
}

/// Resolves with a failure once the broker shows that the consumer is no longer the one
/// Stable member it was when the watch began: it left the group, or the group rebalances.
async fn stays_in_group(run: &Run<'_>, id: ProcessId, group: &str) -> Failure {
    let began = tokio::time::Instant::now();
    let mut member: Option<BTreeSet<String>> = None;
    let left = run
        .watch_group(group, |seen| {
            let seen = seen?;
            let members: BTreeSet<String> = seen.members.iter().map(|m| m.id.clone()).collect();
            match &member {
                None if seen.state == "Stable" && members.len() == 1 => {
                    member = Some(members);
                    None
                }
                None => None,
                Some(same) if seen.state == "Stable" && *same == members => None,
                Some(_) => Some((seen.state.clone(), members.len())),
            }
        })
        .await;
    let Ok((state, members)) = left else {
        // No evidence to be had: the other checks decide.
        return pending().await;
    };
    run.mark(id, format!("group {state} with {members} member(s)"));
    run.fail(format!(
        "the consumer left its group while the slow job ran: {:.1} s after the watch began, the \
         broker shows group {group} {state} with {members} member(s)",
        began.elapsed().as_secs_f64()
    ))
    .detail(format!(
        "librdkafka leaves the group when the application has not called recv() for \
         max.poll.interval.ms ({} ms): it takes the application for stuck. Hand each job to a \
         task of its own, pause its partition (consumer.pause) until the job is done, and keep \
         calling recv().",
        lab08::MAX_POLL_INTERVAL_MS
    ))
}

/// A `revoked` line after the first assignment is a rebalance the consumer went through.
fn check_no_revoke(run: &Run<'_>, id: ProcessId) -> Result<(), Failure> {
    let revoked = run
        .process(id)
        .lines()
        .iter()
        .filter_map(|l| AssignmentLine::parse(l))
        .any(|l| l.event == Event::Revoked && !l.partitions.is_empty());
    if revoked {
        return Err(run
            .fail("the consumer had its partitions revoked: it went through a rebalance")
            .detail(format!(
                "With one consumer in the group, a rebalance means it left and came back: \
                 librdkafka leaves when recv() is not called for max.poll.interval.ms ({} ms).",
                lab08::MAX_POLL_INTERVAL_MS
            )));
    }
    Ok(())
}
