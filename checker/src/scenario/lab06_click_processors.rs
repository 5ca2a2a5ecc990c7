//! Lab 6: two click processors split three partitions 2+1. When one leaves cleanly, or
//! crashes, the survivor ends up owning all three, and no click is lost; when a third joins,
//! one partition moves to it.
//!
//! Five rounds, each with its own topic and group: a clean leave (SIGTERM) and a crash
//! (SIGKILL), each under cooperative-sticky (the lab's default, the incremental protocol) and
//! under range (the eager protocol), and a scale-out under cooperative-sticky. Each round
//! checks what its rebalance shows of the protocol: cooperative members never revoke what
//! they keep and move a partition in two rebalances, eager ones revoke everything. The
//! rounds run side by side: a clean leave is handed over within a heartbeat or two, a crash
//! only after the 6 s session timeout, so the crashes set the pace and five rounds take as
//! long as one.

mod clicks;
mod rebalance;
mod round;

use std::time::Instant;

use super::{Failure, Run, EVENT_TIMEOUT};
use clicks::{check_once, check_received, produce, wait_consumed};
use rebalance::{check_left, check_protocol, wait_for_split, wait_for_takeover};
use round::{check_assignor, start, start_instance, Departure, Round, ROUNDS};

/// Plays the rounds side by side, phase by phase.
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
    for round in &mut rounds {
        wait_for_split(run, round).await?;
        round.lines_at_split = round.pair().map(|id| run.process(id).lines().len());
    }
    for round in &mut rounds {
        produce(run, round).await?;
    }
    for round in &rounds {
        wait_consumed(run, round, "the first clicks to be received").await?;
    }

    // Every change at once; the crashes take longest, so they set the pace.
    for round in &mut rounds {
        match round.departure {
            Departure::Leave => run.terminate(round.leaver),
            Departure::Crash => run.kill(round.leaver),
            Departure::ScaleOut => {
                let newcomer = start_instance(run, round, 3)?;
                round.newcomer = Some(newcomer);
            }
        }
        round.departed = Some(Instant::now());
    }
    for round in &rounds {
        run.step(round.departure.step());
        match round.departure {
            Departure::Leave => check_left(run, round).await?,
            Departure::Crash => {}
            Departure::ScaleOut => {
                let newcomer = round.newcomer.expect("started above");
                check_assignor(run, newcomer, round.assignor).await?;
            }
        }
    }
    // Clicks written while the group rebalances: a crashed member's partitions are read by
    // nobody until the broker gives up on it, yet none of these may be lost.
    for round in &mut rounds {
        produce(run, round).await?;
    }
    for round in &rounds {
        run.step(round.departure.step());
        wait_for_takeover(run, round).await?;
        check_protocol(run, round)?;
    }
    measure_handovers(run, &rounds);
    // And clicks written after the change.
    for round in &mut rounds {
        produce(run, round).await?;
    }
    for round in &rounds {
        run.step(round.departure.step());
        wait_consumed(run, round, "every click to be received").await?;
    }

    for round in &rounds {
        for id in round.remaining() {
            run.terminate(id);
        }
    }
    for round in &rounds {
        run.step(round.departure.step());
        for id in round.remaining() {
            run.wait_success(id, EVENT_TIMEOUT).await?;
        }
        check_received(run, round).await?;
        if round.departure != Departure::Crash {
            check_once(run, round)?;
        }
    }
    for round in &rounds {
        run.transcript.section(round.name(), summary(round));
    }
    Ok(())
}

/// How long each change took to be handed over, from the checker's signal (or start of the
/// newcomer) to the assignment that completed it.
fn measure_handovers(run: &mut Run<'_>, rounds: &[Round]) {
    for round in rounds {
        let departed = round.departed.expect("changed above");
        let (id, partitions, what) = match round.departure {
            Departure::Leave => (round.survivor, vec![0, 1, 2], "after SIGTERM"),
            Departure::Crash => (round.survivor, vec![0, 1, 2], "after SIGKILL"),
            Departure::ScaleOut => {
                let newcomer = round.newcomer.expect("started above");
                (newcomer, run.owned(newcomer), "from its start")
            }
        };
        if let Some(owned) = run.owned_from(id, &partitions, departed) {
            let who = match round.departure {
                Departure::ScaleOut => "the newcomer owned its partition",
                _ => "the survivor owned all 3 partitions",
            };
            run.measured(
                format!("{}: {who} {what} in", round.name()),
                owned - departed,
            );
        }
    }
}

/// The round's section of the transcript: what happened, in words that do not vary.
fn summary(round: &Round) -> Vec<String> {
    let mut lines = vec!["two instances split the 3 partitions 2 + 1".to_string()];
    lines.push(
        match round.departure {
            Departure::Leave => {
                "instance 2 stopped with SIGTERM: it printed its revocation, left the group and exited with 0"
            }
            Departure::Crash => "instance 2 killed with SIGKILL",
            Departure::ScaleOut => "instance 3 started and joined the group",
        }
        .to_string(),
    );
    lines.push(
        match (round.departure, round.assignor) {
            (Departure::ScaleOut, _) => {
                "one partition moved: it alone was revoked, from its owner, then assigned to instance 3; each instance ended with one partition"
            }
            (_, "cooperative-sticky") => {
                "the survivor revoked nothing: it kept its partitions and was assigned the others, ending with [0, 1, 2]"
            }
            _ => "the survivor revoked its whole assignment, then was assigned [0, 1, 2]",
        }
        .to_string(),
    );
    let delivery = match round.departure {
        Departure::Crash => "every one received at least once",
        _ => "every one received exactly once",
    };
    lines.push(format!(
        "clicks written before, during and after the change: {}, {delivery}",
        round.clicks.len()
    ));
    lines
}
