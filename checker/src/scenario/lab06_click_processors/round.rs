//! A round of lab 6: its own topic and group, two instances with one assignor, and how the
//! second instance goes away.

use std::time::Instant;

use lab_contract::{env, lab06};

use crate::broker::records::Stored;
use crate::process::Launch;
use crate::scenario::{Failure, ProcessId, Run, EVENT_TIMEOUT};

/// What changes the group of a round once its two instances have split the partitions.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Departure {
    /// SIGTERM: the second instance closes its consumer and leaves the group.
    Leave,
    /// SIGKILL: the broker notices only when the session times out.
    Crash,
    /// Nobody goes: a third instance joins, and one partition moves to it.
    ScaleOut,
}

impl Departure {
    /// The word for it in names and headings.
    pub fn name(self) -> &'static str {
        match self {
            Departure::Leave => "leave",
            Departure::Crash => "crash",
            Departure::ScaleOut => "scale-out",
        }
    }

    /// The step of the lab it checks.
    pub fn step(self) -> usize {
        match self {
            Departure::Leave => 4,
            Departure::Crash => 5,
            Departure::ScaleOut => 6,
        }
    }
}

/// The rounds, in the order of the transcript.
pub(super) const ROUNDS: [(Departure, &str); 5] = [
    (Departure::Leave, "cooperative-sticky"),
    (Departure::Leave, "range"),
    (Departure::Crash, "cooperative-sticky"),
    (Departure::Crash, "range"),
    (Departure::ScaleOut, "cooperative-sticky"),
];

/// One round: a topic, a group, its instances, and the clicks written so far.
pub(super) struct Round {
    /// What changes the group.
    pub departure: Departure,
    /// The assignor every instance configures.
    pub assignor: &'static str,
    /// The round's own topic.
    pub topic: String,
    /// The round's own group.
    pub group: String,
    /// The instance that stays to the end.
    pub survivor: ProcessId,
    /// The second instance: stopped or killed, except in a scale-out round.
    pub leaver: ProcessId,
    /// The third instance of a scale-out round, once started.
    pub newcomer: Option<ProcessId>,
    /// How many lines each of the first two instances had printed when they had split the
    /// partitions: what they print after that is the rebalance the round is about.
    pub lines_at_split: [usize; 2],
    /// Every click written to the topic, as the broker stored it.
    pub clicks: Vec<Stored>,
    /// When the checker stopped, killed or added an instance.
    pub departed: Option<Instant>,
}

impl Round {
    /// `leave round (cooperative-sticky)`: names the round in messages and the transcript.
    pub fn name(&self) -> String {
        format!("{} round ({})", self.departure.name(), self.assignor)
    }

    /// The first two instances.
    pub fn pair(&self) -> [ProcessId; 2] {
        [self.survivor, self.leaver]
    }

    /// Every instance started so far.
    pub fn instances(&self) -> Vec<ProcessId> {
        let mut all = vec![self.survivor, self.leaver];
        all.extend(self.newcomer);
        all
    }

    /// The instances still running when the round ends.
    pub fn remaining(&self) -> Vec<ProcessId> {
        match self.departure {
            Departure::Leave | Departure::Crash => vec![self.survivor],
            Departure::ScaleOut => self.instances(),
        }
    }
}

/// Creates the round's topic and group and starts its two instances.
pub(super) async fn start(
    run: &mut Run<'_>,
    departure: Departure,
    assignor: &'static str,
) -> Result<Round, Failure> {
    // Short, distinct names: `user-clicks-leave-cooperative-sticky-<nonce>`.
    let tag = format!("{}-{assignor}", departure.name());
    let topic = run.tagged_topic(lab06::TOPIC, &tag).await?;
    let group = run.unique(&format!("{}-{tag}", lab06::GROUP));
    let survivor = run.start(launch(departure, assignor, &topic, &group, 1))?;
    let leaver = run.start(launch(departure, assignor, &topic, &group, 2))?;
    Ok(Round {
        departure,
        assignor,
        topic,
        group,
        survivor,
        leaver,
        newcomer: None,
        lines_at_split: [0, 0],
        clicks: Vec::new(),
        departed: None,
    })
}

/// Starts instance `number` of `round`.
pub(super) fn start_instance(
    run: &mut Run<'_>,
    round: &Round,
    number: usize,
) -> Result<ProcessId, Failure> {
    run.start(launch(
        round.departure,
        round.assignor,
        &round.topic,
        &round.group,
        number,
    ))
}

/// Instance `number` of a round.
fn launch(departure: Departure, assignor: &str, topic: &str, group: &str, number: usize) -> Launch {
    let label = format!("instance {number} ({} round, {assignor})", departure.name());
    Launch::new(label, &[])
        .env(env::KAFKA_TOPIC, topic)
        .env(env::KAFKA_GROUP_ID, group)
        .env(env::ASSIGNOR, assignor)
}

/// The first line must name the assignor the program configured, from ASSIGNOR.
pub(super) async fn check_assignor(
    run: &Run<'_>,
    id: ProcessId,
    assignor: &str,
) -> Result<(), Failure> {
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
