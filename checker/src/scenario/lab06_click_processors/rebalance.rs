//! Lab 6's rebalances, read from the instances' assignment lines: the split, the clean
//! leave, and the takeover.

use lab_contract::{lab06, AssignmentLine, Event};

use super::round::{Departure, Round};
use crate::scenario::lines::{apply, ownership};
use crate::scenario::patience::Patience;
use crate::scenario::{Failure, ProcessId, Run, EVENT_TIMEOUT};

/// The waits of lab 6, from its timers and the broker's.
pub(super) fn patience(run: &Run<'_>) -> Patience {
    run.patience(lab06::TIMERS)
}

/// Waits until the two instances own disjoint, non-empty sets covering all partitions.
///
/// When the broker shows the round's group settled, both members assigned, and neither
/// instance has printed an assignment, the callbacks (step 2) are missing: that fails at
/// once, not at the end of the wait.
pub(super) async fn wait_for_split(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
    let [a, b] = round.pair();
    let patience = patience(run);
    let what = format!(
        "the two instances of the {} to split the 3 partitions 2 + 1",
        round.name()
    );
    let split = run.wait_for(&what, patience.formation(2), |run| {
        let (x, y) = (run.owned(a), run.owned(b));
        let mut all: Vec<i32> = x.iter().chain(&y).copied().collect();
        all.sort_unstable();
        // Lines of two processes arrive through two pipes, so an overlap can be a moment of
        // a rebalance seen out of order: wait for it to resolve.
        Ok((all == [0, 1, 2] && !x.is_empty() && !y.is_empty()).then_some(()))
    });
    let silent = run.contradiction(&round.group, patience.silence(), |run, seen| {
        let assigned = seen.members.iter().filter(|m| !m.owned.is_empty()).count();
        (seen.members.len() == 2 && assigned == 2 && !run.printed_assignment(&round.pair())).then(
            || {
                run.fail(format!(
                    "the broker shows the {} group settled, both instances assigned \
                     partitions, but neither printed an assignment",
                    round.name()
                ))
            },
        )
    });
    let split = tokio::select! {
        split = split => split,
        silent = silent => Err(silent),
    };
    split.map_err(|mut failure| {
        if run.check_health().is_err() {
            // An instance died before the group split: it could not keep its consume loop
            // (step 1) running. Step 1's own wait sees most such deaths, this one the rest
            // (a panic read a moment after the `assignor` line), and the step must not
            // depend on which wait saw it first.
            failure.step = Some(1);
            return failure;
        }
        if run.printed_assignment(&round.pair()) {
            failure.detail(
                "Each instance must join the same group (KAFKA_GROUP_ID) and report every \
                 assignment and revocation.",
            )
        } else {
            // Nothing to read: the callbacks (step 2) are missing, not the split.
            failure.step = Some(2);
            failure.detail(
                "Neither instance printed an assignment: print `assigned [..]` from \
                 post_rebalance and `revoked [..]` from pre_rebalance, and return from them \
                 promptly: rdkafka calls them inside recv(), which waits until they return.",
            )
        }
    })
}

/// After SIGTERM the leaving instance must revoke its partitions, leave and exit with 0.
pub(super) async fn check_left(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
    run.wait_success(round.leaver, EVENT_TIMEOUT)
        .await
        .map_err(|failure| {
            failure
                .detail(
                    "On SIGTERM the consumer should close (leaving the group) and the program \
                     exit with 0.",
                )
                .detail(CALLBACK_HINT)
        })?;
    let kept = run.owned(round.leaver);
    if !kept.is_empty() {
        return Err(run
            .fail(format!(
                "{} exited without printing `revoked` for partitions {kept:?}",
                run.process(round.leaver).label()
            ))
            .detail(
                "On SIGTERM, close the consumer (drop it): closing revokes its partitions \
                 through pre_rebalance, which prints `revoked [..]` under every assignor, and \
                 then leaves the group.",
            ));
    }
    Ok(())
}

/// Waits until the group has taken the change in: the survivor owns every partition
/// (within a rebalance after a clean leave, after the session timeout after a crash), or,
/// when a third instance joined, each of the three owns one.
pub(super) async fn wait_for_takeover(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
    let patience = patience(run);
    let (ceiling, what) = match round.departure {
        Departure::Leave => (
            patience.takeover_after_leave(),
            "the survivor to own all three partitions",
        ),
        Departure::Crash => (
            patience.takeover_after_crash(),
            "the survivor to own all three partitions",
        ),
        // Two rebalances: one to revoke the partition that moves, one to assign it.
        Departure::ScaleOut => (
            patience.formation(1) + patience.rebalance(),
            "the three instances to own one partition each",
        ),
    };
    run.wait_for(&format!("{what} in the {}", round.name()), ceiling, |run| {
        let done = match round.departure {
            Departure::Leave | Departure::Crash => run.owned(round.survivor) == [0, 1, 2],
            Departure::ScaleOut => {
                let mut all: Vec<i32> = round
                    .instances()
                    .iter()
                    .flat_map(|id| run.owned(*id))
                    .collect();
                all.sort_unstable();
                all == [0, 1, 2] && round.instances().iter().all(|id| run.owned(*id).len() == 1)
            }
        };
        Ok(done.then_some(()))
    })
    .await
    .map_err(|failure| {
        let failure = match round.departure {
            Departure::Leave => failure.detail(
                "After a clean leave the group rebalances at once: the survivor hears of it at \
                 its next heartbeat (heartbeat.interval.ms, 1000) and is assigned everything.",
            ),
            Departure::Crash => failure.detail(
                "A crashed member keeps its partitions until its session times out: set \
                 session.timeout.ms to 6000 and heartbeat.interval.ms to 1000.",
            ),
            Departure::ScaleOut => failure.detail(
                "A member that joins a stable group makes it rebalance: under \
                 cooperative-sticky the partition that moves is first revoked from its owner, \
                 then assigned to the newcomer in a second rebalance.",
            ),
        };
        failure.detail(CALLBACK_HINT)
    })
}

/// What the assignment lines after the split show of the rebalance protocol.
///
/// Cooperative-sticky (incremental, KIP-429): a member never gives up a partition it keeps;
/// when a member joins, only the partition that moves is revoked, in one rebalance, and it
/// is assigned to the newcomer in the next. Range (eager): every rebalance revokes a
/// member's whole assignment before handing out the new one.
pub(super) fn check_protocol(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
    let since_split = |index: usize| -> Vec<AssignmentLine> {
        let id = round.pair()[index];
        run.process(id)
            .lines()
            .iter()
            .skip(round.lines_at_split[index])
            .filter_map(|line| AssignmentLine::parse(line))
            .collect()
    };
    let label = |id: ProcessId| run.process(id).label().to_string();
    match (round.departure, round.assignor) {
        (Departure::Leave | Departure::Crash, "cooperative-sticky") => {
            if let Some(revoked) = since_split(0).iter().find(|l| l.event == Event::Revoked) {
                return Err(run
                    .fail(format!(
                        "under cooperative-sticky the survivor ({}) revoked {:?} while the {} \
                         only added partitions to it",
                        label(round.survivor),
                        revoked.partitions,
                        round.name()
                    ))
                    .detail(INCREMENTAL_HINT));
            }
        }
        (Departure::Leave | Departure::Crash, _) => {
            let lines = run.process(round.survivor).lines();
            let mut owned = ownership(&lines[..round.lines_at_split[0]])
                .remove(&None)
                .unwrap_or_default();
            for line in since_split(0) {
                if line.event == Event::Revoked && line.partitions != owned {
                    return Err(run.fail(format!(
                        "under the eager {} assignor a rebalance revokes a member's whole \
                         assignment, {owned:?}, but the survivor revoked {:?}",
                        round.assignor, line.partitions
                    )));
                }
                apply(&mut owned, &line);
            }
        }
        (Departure::ScaleOut, _) => check_two_phases(run, round, &since_split(0), &since_split(1))?,
    }
    Ok(())
}

/// A scale-out under cooperative-sticky: only the partition that moves is revoked, and the
/// newcomer ends with it.
///
/// Whether the newcomer prints the empty assignment of the first of the two rebalances
/// depends on timing: when the owner revokes and rejoins before the newcomer's SyncGroup
/// arrives, Kafka answers that SyncGroup with REBALANCE_IN_PROGRESS and the newcomer's
/// first assignment is the second rebalance's. So that is not asserted.
fn check_two_phases(
    run: &Run<'_>,
    round: &Round,
    first: &[AssignmentLine],
    second: &[AssignmentLine],
) -> Result<(), Failure> {
    let newcomer = round.newcomer.expect("started in a scale-out round");
    let revoked: Vec<i32> = first
        .iter()
        .chain(second)
        .filter(|l| l.event == Event::Revoked)
        .flat_map(|l| l.partitions.iter().copied())
        .collect();
    let moved = run.owned(newcomer);
    if revoked != moved {
        return Err(run
            .fail(format!(
                "when a third instance joined, the first two revoked {revoked:?}; under \
                 cooperative-sticky only the partition that moves, {moved:?}, is revoked"
            ))
            .detail(INCREMENTAL_HINT));
    }
    Ok(())
}

/// Added where the incremental protocol's callbacks were misread.
const INCREMENTAL_HINT: &str = "Print exactly the partitions rdkafka passes to the callback: \
    under cooperative-sticky `Rebalance::Assign` and `Rebalance::Revoke` hold only the \
    partitions added or taken away, not the whole assignment.";

/// Added where an instance that stops printing could be stuck in a rebalance callback.
pub(super) const CALLBACK_HINT: &str =
    "If an instance's last line is `assigned` or `revoked`, its \
    rebalance callback may not have returned: rdkafka runs the callbacks inside recv() and \
    close, so a callback that blocks stops the consumer. Print and return.";
