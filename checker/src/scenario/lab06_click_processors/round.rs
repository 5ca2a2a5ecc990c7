//! A round of lab 6: its own topic and group, two instances with one assignor, and how the
//! second instance goes away.

use std::time::Instant;

use lab_contract::{env, lab06};

use crate::broker::records::Stored;
use crate::process::Launch;
use crate::scenario::{Failure, ProcessId, Run, EVENT_TIMEOUT};

/// How the second instance of a round goes away.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Departure {
    /// SIGTERM: the instance closes its consumer and leaves the group.
    Leave,
    /// SIGKILL: the broker notices only when the session times out.
    Crash,
}

impl Departure {
    /// The word for it in names and headings.
    pub fn name(self) -> &'static str {
        match self {
            Departure::Leave => "leave",
            Departure::Crash => "crash",
        }
    }

    /// The step of the lab it checks.
    pub fn step(self) -> usize {
        match self {
            Departure::Leave => 4,
            Departure::Crash => 5,
        }
    }
}

/// The rounds, in the order of the transcript.
pub(super) const ROUNDS: [(Departure, &str); 4] = [
    (Departure::Leave, "cooperative-sticky"),
    (Departure::Leave, "range"),
    (Departure::Crash, "cooperative-sticky"),
    (Departure::Crash, "range"),
];

/// One round: a topic, a group, two instances, and the clicks written so far.
pub(super) struct Round {
    /// How the second instance goes.
    pub departure: Departure,
    /// The assignor both instances configure.
    pub assignor: &'static str,
    /// The round's own topic.
    pub topic: String,
    /// The round's own group.
    pub group: String,
    /// The instance that stays to the end.
    pub survivor: ProcessId,
    /// The instance that is stopped or killed.
    pub leaver: ProcessId,
    /// Every click written to the topic, as the broker stored it.
    pub clicks: Vec<Stored>,
    /// When the checker signalled the leaver.
    pub departed: Option<Instant>,
}

impl Round {
    /// `leave round (cooperative-sticky)`: names the round in messages and the transcript.
    pub fn name(&self) -> String {
        format!("{} round ({})", self.departure.name(), self.assignor)
    }

    /// Both instances.
    pub fn instances(&self) -> [ProcessId; 2] {
        [self.survivor, self.leaver]
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
        group,
        survivor,
        leaver,
        clicks: Vec::new(),
        departed: None,
    })
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
