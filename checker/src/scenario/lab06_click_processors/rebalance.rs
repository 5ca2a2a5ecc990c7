//! Lab 6's rebalances, read from the instances' assignment lines: the split, the clean
//! leave, and the takeover.

use lab_contract::lab06;

use super::round::{Departure, Round};
use crate::scenario::patience::Patience;
use crate::scenario::{Failure, Run, EVENT_TIMEOUT};

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
    let [a, b] = round.instances();
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
        (seen.members.len() == 2 && assigned == 2 && !run.printed_assignment(&round.instances()))
            .then(|| {
                run.fail(format!(
                    "the broker shows the {} group settled, both instances assigned \
                     partitions, but neither printed an assignment",
                    round.name()
                ))
            })
    });
    let split = tokio::select! {
        split = split => split,
        silent = silent => Err(silent),
    };
    split.map_err(|mut failure| {
        if run.printed_assignment(&round.instances()) {
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

/// Waits until the survivor owns every partition: after a clean leave within a rebalance,
/// after a crash once the crashed member's session has expired too.
pub(super) async fn wait_for_takeover(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
    let patience = patience(run);
    let ceiling = match round.departure {
        Departure::Leave => patience.takeover_after_leave(),
        Departure::Crash => patience.takeover_after_crash(),
    };
    run.wait_for(
        &format!(
            "the survivor of the {} to own all three partitions",
            round.name()
        ),
        ceiling,
        |run| Ok((run.owned(round.survivor) == [0, 1, 2]).then_some(())),
    )
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
        };
        failure.detail(CALLBACK_HINT)
    })
}

/// Added where an instance that stops printing could be stuck in a rebalance callback.
pub(super) const CALLBACK_HINT: &str =
    "If an instance's last line is `assigned` or `revoked`, its \
    rebalance callback may not have returned: rdkafka runs the callbacks inside recv() and \
    close, so a callback that blocks stops the consumer. Print and return.";
