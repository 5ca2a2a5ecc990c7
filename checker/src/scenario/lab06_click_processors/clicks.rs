//! Lab 6's clicks: the checker writes them, the instances must receive every one, from
//! where the broker stored it.

use lab_contract::{lab06, AssignmentLine};

use super::rebalance::CALLBACK_HINT;
use super::round::Round;
use crate::broker::records::Outgoing;
use crate::scenario::lines::Fields;
use crate::scenario::reading::Handling;
use crate::scenario::{Failure, ProcessId, Run};

/// The seed's topic has three partitions.
const PARTITIONS: i32 = lab06::TOPIC.partitions;
/// Clicks written to each partition in each batch: before a member goes, while the group
/// rebalances, and after the survivor has taken over.
const CLICKS_PER_PARTITION: i32 = 2;

/// Writes `CLICKS_PER_PARTITION` clicks to each partition of the round's topic, numbered on
/// from the clicks written before.
pub(super) async fn produce(run: &Run<'_>, round: &mut Round) -> Result<(), Failure> {
    let first = round.clicks.len() as i32;
    let outgoing: Vec<Outgoing> = (0..PARTITIONS * CLICKS_PER_PARTITION)
        .map(|i| {
            Outgoing::to_partition(
                i % PARTITIONS,
                format!("click-{}-{}", first + i + 1, run.nonce()),
            )
        })
        .collect();
    let stored = run.produce(&round.topic, &outgoing).await?;
    round.clicks.extend(stored);
    Ok(())
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

/// Waits until the two instances together have received every click written so far.
pub(super) async fn wait_consumed(run: &Run<'_>, round: &Round, what: &str) -> Result<(), Failure> {
    let instances = round.instances();
    let handling = Handling {
        what: &format!("{what} in the {}", round.name()),
        ids: &instances,
        group: &round.group,
        topic: &round.topic,
        patience: run.patience(lab06::TIMERS),
    };
    run.wait_handled(handling, |run| {
        let got = received(run, &instances);
        Ok(round
            .clicks
            .iter()
            .all(|c| got.iter().any(|(p, _, _)| *p == c.payload))
            .then_some(()))
    })
    .await
    .map_err(|failure| {
        let got = received(run, &round.instances());
        let missing: Vec<&str> = round
            .clicks
            .iter()
            .filter(|c| !got.iter().any(|(p, _, _)| *p == c.payload))
            .map(|c| c.payload.as_str())
            .collect();
        failure
            .detail(format!("not received: {}", missing.join(", ")))
            .detail(CALLBACK_HINT)
    })
}

/// Each click was received exactly once. Holds after a clean leave or a scale-out when every
/// member commits what it received before it gives a partition up: whoever gets the
/// partition next resumes right after it. (After a crash, what the crashed member received
/// since its last commit is received again: at least once is all one can ask.)
pub(super) fn check_once(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
    let got = received(run, &round.instances());
    for click in &round.clicks {
        let times = got.iter().filter(|(p, _, _)| *p == click.payload).count();
        if times > 1 {
            return Err(run
                .fail(format!(
                    "{} was received {times} times in the {}: a partition changed hands without \
                     its offsets being committed first",
                    click.payload,
                    round.name()
                ))
                .detail(
                    "With auto-commit off, commit synchronously in pre_rebalance when \
                     partitions are revoked (closing the consumer revokes them too): the next \
                     owner then resumes right after the last click received.",
                ));
        }
    }
    Ok(())
}

/// Every line follows the contract and every received click is one the broker stored, where
/// the broker stored it.
pub(super) async fn check_received(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
    let ids = round.instances();
    for &id in &ids {
        for line in run.process(id).lines().iter().skip(1) {
            let fields = Fields::parse(line);
            let known = AssignmentLine::parse(line).is_some()
                || matches!(fields.words.as_slice(), ["received", _]);
            if !known {
                return Err(run.off_contract(
                    Some(run.process(id).label()),
                    line,
                    "assigned [..], revoked [..] or received <click> partition=<p> offset=<o>",
                ));
            }
        }
    }
    let stored = run.records(&round.topic).await?;
    for (click, partition, offset) in received(run, &ids) {
        let real = stored.iter().any(|r| {
            r.payload == click && i64::from(r.partition) == partition && r.offset == offset
        });
        if !real {
            return Err(run.fail(format!(
                "an instance of the {} reported {click} at partition {partition} offset {offset}, which the topic does not hold",
                round.name()
            )));
        }
    }
    if stored.len() != round.clicks.len() {
        return Err(
            run.fail("the topic holds clicks the checker did not write: the lab must not produce")
        );
    }
    Ok(())
}
