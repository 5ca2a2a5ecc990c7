//! Lab 6: two click processors split three partitions 2+1. When one leaves cleanly, or
//! crashes, the survivor ends up owning all three, and no click is lost.
//!
//! Four rounds, each with its own topic and group: a clean leave (SIGTERM) and a crash
//! (SIGKILL), each under cooperative-sticky (the lab's default, the incremental protocol) and
//! under range (the eager protocol), so the learner's callbacks are read under both. The
//! rounds run side by side: the embedded broker needs about 5 s to rebalance after a leave
//! and about 12 s after a crash (session timeout, then rebalance), so four rounds in a row
//! would take some 40 s, and side by side they take as long as the slowest.

use std::time::Duration;

use lab_contract::{env, lab06, AssignmentLine};

use super::lines::Fields;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;

/// The seed's topic has three partitions.
const PARTITIONS: i32 = lab06::TOPIC.partitions;
/// Clicks written to each partition in each batch: before a member goes, while the group
/// rebalances, and after the survivor has taken over.
const CLICKS_PER_PARTITION: i32 = 2;
/// How long the first assignment line may take. When neither instance prints one, the
/// callbacks are missing (step 2), and waiting longer only delays a clear failure.
const FIRST_ASSIGNMENT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the split may take once assignments are printed. A late member costs
/// one more rebalance (5 s on the embedded broker); on a busy machine, two or three.
const SPLIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the survivor may take to own all three partitions: after a crash, the session
/// timeout (6 s) and a rebalance (5 s) on the embedded broker, with room to spare.
const TAKEOVER_TIMEOUT: Duration = Duration::from_secs(30);

/// How the second instance of a round goes away.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Departure {
    /// SIGTERM: the instance closes its consumer and leaves the group.
    Leave,
    /// SIGKILL: the broker notices only when the session times out.
    Crash,
}

impl Departure {
    /// The word for it in names and headings.
    fn name(self) -> &'static str {
        match self {
            Departure::Leave => "leave",
            Departure::Crash => "crash",
        }
    }

    /// The step of the lab it checks.
    fn step(self) -> usize {
        match self {
            Departure::Leave => 4,
            Departure::Crash => 5,
        }
    }
}

/// The rounds, in the order of the transcript.
const ROUNDS: [(Departure, &str); 4] = [
    (Departure::Leave, "cooperative-sticky"),
    (Departure::Leave, "range"),
    (Departure::Crash, "cooperative-sticky"),
    (Departure::Crash, "range"),
];

/// One round: a topic, a group, two instances, and the clicks written so far.
struct Round {
    departure: Departure,
    assignor: &'static str,
    topic: String,
    /// The instance that stays to the end.
    survivor: ProcessId,
    /// The instance that is stopped or killed.
    leaver: ProcessId,
    /// Every click written to the topic, as the broker stored it.
    clicks: Vec<Stored>,
}

impl Round {
    /// `leave round (cooperative-sticky)`: names the round in messages and the transcript.
    fn name(&self) -> String {
        format!("{} round ({})", self.departure.name(), self.assignor)
    }

    /// Both instances.
    fn instances(&self) -> [ProcessId; 2] {
        [self.survivor, self.leaver]
    }
}

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
    for round in &rounds {
        match round.departure {
            Departure::Leave => run.terminate(round.leaver),
            Departure::Crash => run.kill(round.leaver),
        }
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

/// Creates the round's topic and group and starts its two instances.
async fn start(
    run: &mut Run<'_>,
    departure: Departure,
    assignor: &'static str,
) -> Result<Round, Failure> {
    // Short, distinct names: `user-clicks-leave-cooperative-sticky-<nonce>`.
    let tag = format!("{}-{assignor}", departure.name());
    let topic = run.tagged_topic(lab06::TOPIC, &tag).await?;
    let group = run.unique(&format!("{}-{tag}", lab06::GROUP));
    let launch = |label: String| {
        Launch::new(label, &[])
            .env(env::KAFKA_TOPIC, &topic)
            .env(env::KAFKA_GROUP_ID, &group)
            .env(env::ASSIGNOR, assignor)
    };
    let round = format!("{} round, {assignor}", departure.name());
    let survivor = run.start(launch(format!("instance 1 ({round})")))?;
    let leaver = run.start(launch(format!("instance 2 ({round})")))?;
    Ok(Round {
        departure,
        assignor,
        topic,
        survivor,
        leaver,
        clicks: Vec::new(),
    })
}

/// The first line must name the assignor the program configured, from ASSIGNOR.
async fn check_assignor(run: &Run<'_>, id: ProcessId, assignor: &str) -> Result<(), Failure> {
    let first = run
        .wait_for("the `assignor <name>` line", EVENT_TIMEOUT, |run| {
            Ok(run.process(id).lines().first().cloned())
        })
        .await?;
    if first != format!("assignor {assignor}") {
        return Err(run
            .fail(format!(
                "{}: the first line should be `assignor {assignor}` (from ASSIGNOR), not {first:?}",
                run.process(id).label()
            ))
            .detail(
                "Print the partition.assignment.strategy you configured, before joining the group.",
            ));
    }
    Ok(())
}

/// Waits until the two instances own disjoint, non-empty sets covering all partitions.
async fn wait_for_split(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
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

/// Writes `CLICKS_PER_PARTITION` clicks to each partition of the round's topic, numbered on
/// from the clicks written before.
async fn produce(run: &Run<'_>, round: &mut Round) -> Result<(), Failure> {
    let first = round.clicks.len() as i32;
    let outgoing: Vec<Outgoing> = (0..PARTITIONS * CLICKS_PER_PARTITION)
        .map(|i| Outgoing {
            key: None,
            partition: Some(i % PARTITIONS),
            payload: format!("click-{}-{}", first + i + 1, run.nonce()),
        })
        .collect();
    let stored = run.produce(&round.topic, &outgoing).await?;
    round.clicks.extend(stored);
    Ok(())
}

/// After SIGTERM the leaving instance must revoke its partitions, leave and exit with 0.
async fn check_left(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
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
async fn wait_for_takeover(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
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
const CALLBACK_HINT: &str = "If an instance's last line is `assigned` or `revoked`, its \
    rebalance callback may not have returned: rdkafka runs the callbacks inside recv() and \
    close, so a callback that blocks stops the consumer. Print and return.";

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
async fn wait_consumed(run: &Run<'_>, round: &Round, what: &str) -> Result<(), Failure> {
    run.wait_for(
        &format!("{what} in the {}", round.name()),
        EVENT_TIMEOUT,
        |run| {
            let got = received(run, &round.instances());
            Ok(round
                .clicks
                .iter()
                .all(|c| got.iter().any(|(p, _, _)| *p == c.payload))
                .then_some(()))
        },
    )
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

/// Every line follows the contract and every received click is one the broker stored, where
/// the broker stored it.
async fn check_received(run: &Run<'_>, round: &Round) -> Result<(), Failure> {
    let ids = round.instances();
    for id in ids {
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
