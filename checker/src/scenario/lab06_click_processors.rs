//! Lab 6: two click processors split three partitions 2+1. When one leaves cleanly, or
//! crashes, the survivor ends up owning all three, and no click is lost.
//!
//! The clean leave runs with the cooperative-sticky assignor and the crash with range, so
//! the learner's callbacks are exercised under both the cooperative and the eager protocol.

use std::time::Duration;

use super::lines::{ownership, AssignmentEvent, Fields};
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;

/// The seed's topic has three partitions.
const PARTITIONS: i32 = 3;
/// Clicks written to each partition before, and again after, a member goes.
const CLICKS_PER_PARTITION: i32 = 2;
/// The split is quick when the callbacks print; waiting longer only delays a clear failure.
const SPLIT_TIMEOUT: Duration = Duration::from_secs(15);

/// How the second instance goes away.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Departure {
    /// SIGTERM: the instance closes its consumer and leaves the group.
    Leave,
    /// SIGKILL: the broker notices only when the session times out.
    Crash,
}

/// Plays a clean leave, then a crash, each with fresh topic and group.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    round(run, Departure::Leave, "cooperative-sticky").await?;
    round(run, Departure::Crash, "range").await
}

async fn round(run: &mut Run<'_>, departure: Departure, assignor: &str) -> Result<(), Failure> {
    let name = match departure {
        Departure::Leave => "leave",
        Departure::Crash => "crash",
    };
    run.step(1);
    let topic = run
        .topic(&format!("user-clicks-{name}"), PARTITIONS)
        .await?;
    let group = run.unique(&format!("click-processors-{name}"));
    let launch = |label: &str| {
        Launch::new(label, &[])
            .env("KAFKA_TOPIC", &topic)
            .env("KAFKA_GROUP_ID", &group)
            .env("ASSIGNOR", assignor)
    };
    let survivor = run.start(launch(&format!("instance 1 ({name} round)")))?;
    let leaver = run.start(launch(&format!("instance 2 ({name} round)")))?;
    for id in [survivor, leaver] {
        check_assignor(run, id, assignor).await?;
    }

    run.step(3);
    wait_for_split(run, survivor, leaver).await?;
    let mut clicks = produce(run, &topic, 0).await?;
    wait_consumed(
        run,
        &[survivor, leaver],
        &clicks,
        "the first clicks to be received",
    )
    .await?;

    let step = if departure == Departure::Leave { 4 } else { 5 };
    run.step(step);
    match departure {
        Departure::Leave => {
            run.terminate(leaver);
            run.wait_success(leaver, EVENT_TIMEOUT).await.map_err(|failure| {
                failure.detail("On SIGTERM the consumer should close (leaving the group) and the program exit with 0.")
            })?;
        }
        Departure::Crash => run.kill(leaver),
    }
    clicks.extend(produce(run, &topic, CLICKS_PER_PARTITION).await?);
    run.wait_for(
        "the survivor to own all three partitions",
        EVENT_TIMEOUT,
        |run| {
            let owned = ownership(&run.process(survivor).lines())
                .remove(&None)
                .unwrap_or_default();
            Ok((owned == [0, 1, 2]).then_some(()))
        },
    )
    .await?;
    wait_consumed(
        run,
        &[survivor, leaver],
        &clicks,
        "every click to be received",
    )
    .await?;
    run.terminate(survivor);
    run.wait_success(survivor, EVENT_TIMEOUT).await?;
    check_received(run, &[survivor, leaver], &topic, &clicks).await?;

    let how = match departure {
        Departure::Leave => "instance 2 stopped with SIGTERM, left the group and exited with 0",
        Departure::Crash => "instance 2 killed with SIGKILL",
    };
    run.transcript.section(
        format!("{name} round, assignor {assignor}"),
        [
            "two instances split the 3 partitions 2 + 1".to_string(),
            how.to_string(),
            "the survivor ended owning [0, 1, 2]".to_string(),
            format!(
                "clicks produced: {}, every one received at least once",
                clicks.len()
            ),
        ],
    );
    Ok(())
}

async fn check_assignor(run: &Run<'_>, id: ProcessId, assignor: &str) -> Result<(), Failure> {
    let first = run
        .wait_for("the `assignor <name>` line", EVENT_TIMEOUT, |run| {
            Ok(run.process(id).lines().first().cloned())
        })
        .await?;
    if first != format!("assignor {assignor}") {
        return Err(run
            .fail(format!(
                "the first line should be `assignor {assignor}` (from ASSIGNOR), not {first:?}"
            ))
            .detail(
                "Print the partition.assignment.strategy you configured, before joining the group.",
            ));
    }
    Ok(())
}

async fn wait_for_split(run: &Run<'_>, a: ProcessId, b: ProcessId) -> Result<(), Failure> {
    let split = run
        .wait_for(
            "the two instances to split the 3 partitions 2 + 1",
            SPLIT_TIMEOUT,
            |run| {
                let owned = |id| {
                    ownership(&run.process(id).lines())
                        .remove(&None)
                        .unwrap_or_default()
                };
                let (x, y) = (owned(a), owned(b));
                let mut all: Vec<i32> = x.iter().chain(&y).copied().collect();
                all.sort_unstable();
                // Lines of two processes arrive through two pipes, so an overlap can be a moment
                // of a rebalance seen out of order: wait for it to resolve.
                Ok((all == [0, 1, 2] && !x.is_empty() && !y.is_empty()).then_some(()))
            },
        )
        .await;
    split.map_err(|failure| {
        let printed_any = [a, b]
            .iter()
            .any(|id| run.process(*id).lines().iter().any(|l| AssignmentEvent::parse(l).is_some()));
        if printed_any {
            failure
        } else {
            failure.detail(
                "Neither instance printed an assignment: print `assigned [..]` from post_rebalance and `revoked [..]` from pre_rebalance.",
            )
        }
    })
}

/// Writes `CLICKS_PER_PARTITION` clicks to each partition, numbered from `first`.
async fn produce(run: &Run<'_>, topic: &str, first: i32) -> Result<Vec<Stored>, Failure> {
    let outgoing: Vec<Outgoing> = (0..PARTITIONS * CLICKS_PER_PARTITION)
        .map(|i| Outgoing {
            key: None,
            partition: Some(i % PARTITIONS),
            payload: format!("click-{}-{}", first * PARTITIONS + i + 1, run.nonce()),
        })
        .collect();
    run.broker
        .produce(topic, &outgoing)
        .await
        .map_err(|e| run.fail(format!("the checker could not write the clicks: {e:#}")))
}

/// `(payload, partition, offset)` of every `received` line of `ids`.
fn received(run: &Run<'_>, ids: &[ProcessId]) -> Vec<(String, i64, i64)> {
    ids.iter()
        .flat_map(|id| run.process(*id).lines())
        .filter_map(|line| {
            let fields = Fields::parse(&line);
            match fields.words.as_slice() {
                ["received", click] => Some((
                    click.to_string(),
                    fields.number("partition")?,
                    fields.number("offset")?,
                )),
                _ => None,
            }
        })
        .collect()
}

async fn wait_consumed(
    run: &Run<'_>,
    ids: &[ProcessId],
    clicks: &[Stored],
    what: &str,
) -> Result<(), Failure> {
    run.wait_for(what, EVENT_TIMEOUT, |run| {
        let got = received(run, ids);
        Ok(clicks
            .iter()
            .all(|c| got.iter().any(|(p, _, _)| *p == c.payload))
            .then_some(()))
    })
    .await
}

/// Every line follows the contract and every received click is one the broker stored, where
/// the broker stored it.
async fn check_received(
    run: &Run<'_>,
    ids: &[ProcessId],
    topic: &str,
    clicks: &[Stored],
) -> Result<(), Failure> {
    for id in ids {
        for line in run.process(*id).lines().iter().skip(1) {
            let fields = Fields::parse(line);
            let known = AssignmentEvent::parse(line).is_some()
                || matches!(fields.words.as_slice(), ["received", _]);
            if !known {
                return Err(run
                    .fail(format!("{} printed a line outside the lab's output contract", run.process(*id).label()))
                    .detail(format!("the line: {line:?}"))
                    .detail("expected: assigned [..], revoked [..] or received <click> partition=<p> offset=<o>"));
            }
        }
    }
    let stored = run
        .broker
        .records(topic)
        .await
        .map_err(|e| run.fail(format!("the checker could not read {topic} back: {e:#}")))?;
    for (click, partition, offset) in received(run, ids) {
        let real = stored.iter().any(|r| {
            r.payload == click && i64::from(r.partition) == partition && r.offset == offset
        });
        if !real {
            return Err(run.fail(format!(
                "an instance reported {click} at partition {partition} offset {offset}, which the topic does not hold"
            )));
        }
    }
    if stored.len() != clicks.len() {
        return Err(
            run.fail("the topic holds clicks the checker did not write: the lab must not produce")
        );
    }
    Ok(())
}
