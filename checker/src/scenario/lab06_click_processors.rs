//! Lab 6: two click processors split three partitions 2+1. When one leaves cleanly, or
//! crashes, the survivor ends up owning all three, and no click is lost.
//!
//! Four rounds, each with its own topic and group: a clean leave (SIGTERM) and a crash
//! (SIGKILL), each under cooperative-sticky (the lab's default, the incremental protocol) and
//! under range (the eager protocol), so the learner's callbacks are read under both. The
//! rounds run side by side: a clean leave is handed over within a heartbeat or two, a crash
//! only after the 6 s session timeout, so the crashes set the pace and the four rounds take
//! as long as one.

mod clicks;
mod rebalance;
mod round;

use std::time::Instant;

use super::{Failure, Run, EVENT_TIMEOUT};
use clicks::{check_received, produce, wait_consumed};
use rebalance::{check_left, wait_for_split, wait_for_takeover};
use round::{check_assignor, start, Departure, ROUNDS};

/// Plays the four rounds side by side, phase by phase.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    run.step(1);
    let mut rounds = Vec::new();
    for (departure, assignor) in ROUNDS {
        rounds.push(start(run, departure, assignor).await?);
    }
    for round in &rounds {
        for id in round.instances() {
            check_assignor(run, id, round.assignor).await?;
        }
    }

    run.step(3);
    for round in &rounds {
        wait_for_split(run, round).await?;
    }
    for round in &mut rounds {
        produce(run, round).await?;
    }
    for round in &rounds {
        wait_consumed(run, round, "the first clicks to be received").await?;
    }

    // Everyone goes at once; the crashes take longest, so they set the pace.
    for round in &mut rounds {
        match round.departure {
            Departure::Leave => run.terminate(round.leaver),
            Departure::Crash => run.kill(round.leaver),
        }
        round.departed = Some(Instant::now());
    }
    for round in rounds.iter().filter(|r| r.departure == Departure::Leave) {
        run.step(4);
        check_left(run, round).await?;
    }
    // Clicks written while the group rebalances: a crashed member's partitions are read by
    // nobody until the broker gives up on it, yet none of these may be lost.
    for round in &mut rounds {
        produce(run, round).await?;
    }
    for round in &rounds {
        run.step(round.departure.step());
        wait_for_takeover(run, round).await?;
    }
    for round in &rounds {
        let departed = round.departed.expect("signalled above");
        if let Some(owned) = run.owned_from(round.survivor, &[0, 1, 2], departed) {
            let how = match round.departure {
                Departure::Leave => "SIGTERM",
                Departure::Crash => "SIGKILL",
            };
            run.measured(
                format!(
                    "{}: the survivor owned all 3 partitions after {how} in",
                    round.name()
                ),
                owned - departed,
            );
        }
    }
    // And clicks written after the takeover, which only the survivor can read.
    for round in &mut rounds {
        produce(run, round).await?;
    }
    for round in &rounds {
        run.step(round.departure.step());
        wait_consumed(run, round, "every click to be received").await?;
    }

    for round in &rounds {
        run.terminate(round.survivor);
    }
    for round in &rounds {
        run.step(round.departure.step());
        run.wait_success(round.survivor, EVENT_TIMEOUT).await?;
        check_received(run, round).await?;
    }

    for round in &rounds {
        let how = match round.departure {
            Departure::Leave => {
                "instance 2 stopped with SIGTERM: it printed its revocation, left the group and exited with 0"
            }
            Departure::Crash => "instance 2 killed with SIGKILL",
        };
        run.transcript.section(
            round.name(),
            [
                "two instances split the 3 partitions 2 + 1".to_string(),
                how.to_string(),
                "the survivor ended owning [0, 1, 2]".to_string(),
                format!(
                    "clicks written before, during and after the change: {}, every one received at least once",
                    round.clicks.len()
                ),
            ],
        );
    }
    Ok(())
}
