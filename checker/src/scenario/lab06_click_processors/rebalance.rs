//! Lab 6's rebalances, read from the instances' assignment lines: the split, the clean
//! leave, and the takeover.

use std::time::Duration;

use super::round::{Departure, Round};
use crate::scenario::{Failure, Run, EVENT_TIMEOUT};

/// How long the first assignment line may take. When neither instance prints one, the
/// callbacks are missing (step 2), and waiting longer only delays a clear failure.
const FIRST_ASSIGNMENT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the split may take once assignments are printed. A late member costs
/// one more rebalance (5 s on the embedded broker); on a busy machine, two or three.
const SPLIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the survivor may take to own all three partitions: after a crash, the session
/// timeout (6 s) and a rebalance (5 s) on the embedded broker, with room to spare.
const TAKEOVER_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits until the two instances own disjoint, non-empty sets covering all partitions.
pub(super) async fn wait_for_split(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
    let [a, b] = round.instances();
    let first = run
        .wait_for(
            &format!(
                "either instance of the {} to print an assignment",
                round.name()
            ),
            FIRST_ASSIGNMENT_TIMEOUT,
            |run| Ok(run.printed_assignment(&round.instances()).then_some(())),
        )
        .await;
    let split = match first {
        Err(failure) => Err(failure),
        Ok(()) => {
            run.wait_for(
                &format!(
                    "the two instances of the {} to split the 3 partitions 2 + 1",
                    round.name()
                ),
                SPLIT_TIMEOUT,
                |run| {
                    let (x, y) = (run.owned(a), run.owned(b));
                    let mut all: Vec<i32> = x.iter().chain(&y).copied().collect();
                    all.sort_unstable();
                    // Lines of two processes arrive through two pipes, so an overlap can be a
                    // moment of a rebalance seen out of order: wait for it to resolve.
                    Ok((all == [0, 1, 2] && !x.is_empty() && !y.is_empty()).then_some(()))
                },
            )
            .await
        }
    };
    split.map_err(|mut failure| {
        if run.printed_assignment(&round.instances()) {
            failure.detail(
                "Each instance must join the same group (KAFKA_GROUP_ID) and report every \
                 assignment and revocation. If one joined late, the embedded broker rebalances \
                 only after session.timeout.ms − 1 s: set session.timeout.ms to 6000.",
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

/// Waits until the survivor owns every partition.
pub(super) async fn wait_for_takeover(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
    run.wait_for(
        &format!(
            "the survivor of the {} to own all three partitions",
            round.name()
        ),
        TAKEOVER_TIMEOUT,
        |run| Ok((run.owned(round.survivor) == [0, 1, 2]).then_some(())),
    )
    .await
    .map_err(|failure| {
        let failure = match round.departure {
            Departure::Leave => failure.detail(
                "On the embedded broker a rebalance after the group's first one waits \
                 session.timeout.ms − 1 s, even after a clean leave: with librdkafka's default \
                 of 45 s it cannot finish in time. Set session.timeout.ms to 6000.",
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
