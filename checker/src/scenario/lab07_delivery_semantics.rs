//! Lab 7: what a crash costs. The same consumer, at-most-once and at-least-once side by
//! side, is killed with SIGKILL in the middle of its payments and restarted in its group;
//! the group's committed offset at the kill says what was lost and what was processed twice.

mod tally;

use std::time::Duration;

use lab_contract::{env, lab07};
use tokio::time::Instant;

use super::patience::Patience;
use super::readback::Reports;
use super::reading::Handling;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::broker::records::{Outgoing, Stored};
use crate::process::Launch;
use tally::{Progress, Tally};

/// Payments written for each guarantee: a few seconds of work, so the kill lands mid-stream.
const PAYMENTS: usize = 14;
/// The simulated work per payment. Long beside the checker's reaction to a commit, so that
/// a commit that landed mid-payment is followed by the kill before the payment is done.
const PROCESSING: Duration = Duration::from_millis(250);
/// How often the at-least-once group's committed offset is read while waiting for a commit:
/// often beside a payment's processing, so a commit that went past the payment in
/// processing is seen before that payment is done.
const COMMIT_POLL: Duration = Duration::from_millis(10);
/// Commits a correct at-least-once program makes before the kill: enough that a program
/// committing past the payment in processing has been caught at it, if it does.
const COMMITS_BEFORE_KILL: u64 = 2;
/// The most an at-least-once consumer may process twice after a crash: what it processed
/// in one auto-commit interval, and the payment in processing.
const MAX_REPEATED: usize =
    (lab07::AUTO_COMMIT_INTERVAL_MS / PROCESSING.as_millis() as u64) as usize + 1;

/// The two guarantees the program is run with, by their command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guarantee {
    AtMostOnce,
    AtLeastOnce,
}

impl Guarantee {
    fn arg(self) -> &'static str {
        match self {
            Guarantee::AtMostOnce => "at-most-once",
            Guarantee::AtLeastOnce => "at-least-once",
        }
    }

    fn step(self) -> usize {
        match self {
            Guarantee::AtMostOnce => 2,
            Guarantee::AtLeastOnce => 3,
        }
    }
}

/// One guarantee's topic, group and runs.
struct Trial {
    guarantee: Guarantee,
    topic: String,
    group: String,
    first: ProcessId,
    payments: Vec<Stored>,
}

/// Plays both guarantees side by side: each on its own topic and group.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    let patience = run.patience(lab07::TIMERS);
    run.step(1);
    let mut trials = Vec::new();
    for guarantee in [Guarantee::AtMostOnce, Guarantee::AtLeastOnce] {
        trials.push(start(run, guarantee).await?);
    }
    for trial in &mut trials {
        pay(run, trial, patience).await?;
    }
    // Each waits for its own moment and kills its own program.
    let (most, least) = (&trials[0], &trials[1]);
    let (killed_most, killed_least) = tokio::join!(
        kill_mid_payment(run, most, patience),
        kill_after_commit(run, least, patience)
    );
    // Side by side, the two share the run's current step: each failure names its own.
    let at_step = |step: usize| {
        move |mut failure: Failure| {
            failure.step = Some(step);
            failure
        }
    };
    let committed = [
        killed_most.map_err(at_step(Guarantee::AtMostOnce.step()))?,
        killed_least.map_err(at_step(Guarantee::AtLeastOnce.step()))?,
    ];

    // Both restarts wait out their predecessor's session at the same time.
    let mut restarted = Vec::new();
    for trial in &trials {
        restarted.push(run.start(launch(
            trial.guarantee,
            &trial.topic,
            &trial.group,
            " (restarted)",
        ))?);
    }
    for ((trial, committed), second) in trials.iter().zip(committed).zip(&restarted) {
        run.step(trial.guarantee.step());
        finish(run, trial, *second, committed).await?;
    }
    for ((trial, committed), second) in trials.iter().zip(committed).zip(restarted) {
        run.step(trial.guarantee.step());
        judge(run, trial, second, committed).await?;
    }
    Ok(())
}

/// Starts the program with `guarantee` on a topic and group of its own.
async fn start(run: &mut Run<'_>, guarantee: Guarantee) -> Result<Trial, Failure> {
    let topic = run.tagged_topic(lab07::TOPIC, guarantee.arg()).await?;
    let group = run.unique(&format!("{}-{}", lab07::GROUP, guarantee.arg()));
    let first = run.start(launch(guarantee, &topic, &group, ""))?;
    Ok(Trial {
        guarantee,
        topic,
        group,
        first,
        payments: Vec::new(),
    })
}

/// Waits for the trial's program to join its group, then writes the payments.
async fn pay(run: &Run<'_>, trial: &mut Trial, patience: Patience) -> Result<(), Failure> {
    let who = trial.guarantee.arg();
    run.wait_joined(who, &trial.group, &trial.topic, patience.formation(1))
        .await?;
    let outgoing: Vec<Outgoing> = (0..PAYMENTS)
        .map(|i| Outgoing::to_partition(0, format!("payment{}-{}", i + 1, run.nonce())))
        .collect();
    trial.payments = run.produce(&trial.topic, &outgoing).await?;
    Ok(())
}

impl Trial {
    /// The wait for this trial's program to get to `what`, with the stall watch on its group.
    fn handling<'a>(
        &'a self,
        what: &'a str,
        ids: &'a [ProcessId],
        patience: Patience,
    ) -> Handling<'a> {
        Handling {
            what,
            ids,
            group: &self.group,
            topic: &self.topic,
            patience,
        }
    }
}

fn launch(guarantee: Guarantee, topic: &str, group: &str, label_suffix: &str) -> Launch {
    Launch::new(
        format!("{}{label_suffix}", guarantee.arg()),
        &[guarantee.arg()],
    )
    .env(env::KAFKA_TOPIC, topic)
    .env(env::KAFKA_GROUP_ID, group)
    .env(env::PROCESSING_MS, PROCESSING.as_millis().to_string())
}

/// At-most-once: kills the program while its third payment is in processing, and returns
/// the group's committed offset once it is dead.
async fn kill_mid_payment(
    run: &Run<'_>,
    trial: &Trial,
    patience: Patience,
) -> Result<Option<i64>, Failure> {
    let id = trial.first;
    run.wait_handled(
        trial.handling("the third payment to be in processing", &[id], patience),
        |run| {
            let progress = Progress::of(&run.process(id).lines());
            Ok((progress.processed.len() >= 2 && !progress.in_flight().is_empty()).then_some(()))
        },
    )
    .await?;
    run.kill(id);
    committed_after_death(run, trial).await
}

/// At-least-once: kills the program between two automatic commits, and returns the
/// group's committed offset once it is dead.
///
/// The kill comes at once after a commit that went past the payment in processing (what a
/// consumer that stores offsets on receipt does, and a crash then loses that payment), or
/// else half a commit interval after the [`COMMITS_BEFORE_KILL`]th commit.
async fn kill_after_commit(
    run: &Run<'_>,
    trial: &Trial,
    patience: Patience,
) -> Result<Option<i64>, Failure> {
    let id = trial.first;
    run.wait_handled(
        trial.handling("the first payment to be processed", &[id], patience),
        |run| Ok((!Progress::of(&run.process(id).lines()).processed.is_empty()).then_some(())),
    )
    .await?;
    let reader = std::sync::Arc::new(
        run.broker
            .commit_reader(&trial.group, &trial.topic)
            .await
            .map_err(|e| run.fail(format!("the checker could not read offsets: {e:#}")))?,
    );
    let read = || async {
        reader
            .read_async()
            .await
            .map(|offsets| offsets.get(&0).copied().flatten())
            .map_err(|e| run.fail(format!("the checker could not read offsets: {e:#}")))
    };
    let ceiling = Duration::from_millis(lab07::AUTO_COMMIT_INTERVAL_MS * (COMMITS_BEFORE_KILL + 2))
        + patience.reading();
    let deadline = Instant::now() + ceiling;
    let mut previous = read().await?;
    let mut commits = 0;
    loop {
        run.check_health()?;
        tokio::time::sleep(COMMIT_POLL).await;
        let now = read().await?;
        let progress = Progress::of(&run.process(id).lines());
        if now != previous {
            previous = now;
            commits += 1;
            if let Some(offset) = now {
                run.mark(id, format!("group committed offset {offset}"));
            }
            let in_flight = progress.in_flight();
            let past_in_flight = in_flight.iter().any(|o| now.is_some_and(|c| c > *o));
            if past_in_flight {
                break;
            }
            if commits >= COMMITS_BEFORE_KILL {
                // Halfway to the next commit: the work done since the last one is what a
                // crash makes the restart repeat.
                tokio::time::sleep(Duration::from_millis(lab07::AUTO_COMMIT_INTERVAL_MS / 2)).await;
                break;
            }
        }
        if progress.processed.len() == PAYMENTS {
            return Err(run
                .fail(format!(
                    "all {PAYMENTS} payments were processed before the group had committed {} times",
                    COMMITS_BEFORE_KILL
                ))
                .detail(format!(
                    "Keep auto-commit on, every {} ms (auto.commit.interval.ms), and take PROCESSING_MS \
                     over each payment: the checker kills the program between two commits.",
                    lab07::AUTO_COMMIT_INTERVAL_MS
                )));
        }
        if Instant::now() >= deadline {
            return Err(run
                .fail(format!(
                    "the group's committed offset moved {commits} time(s) in {:.0} s of processing \
                     (it is {})",
                    ceiling.as_secs_f64(),
                    previous.map_or("nothing".to_string(), |o| o.to_string())
                ))
                .detail(format!(
                    "At-least-once here keeps librdkafka's automatic commit, every {} ms \
                     (auto.commit.interval.ms), of the offsets the program stored after processing \
                     (enable.auto.offset.store=false, store_offset_from_message).",
                    lab07::AUTO_COMMIT_INTERVAL_MS
                )));
        }
    }
    run.kill(id);
    committed_after_death(run, trial).await
}

/// The group's committed offset on partition 0.
async fn committed_offset(run: &Run<'_>, trial: &Trial) -> Result<Option<i64>, Failure> {
    Ok(run
        .committed(&trial.group, &trial.topic)
        .await?
        .get(&0)
        .copied()
        .flatten())
}

/// Waits until the killed program is gone (and its last lines read), then reads the
/// group's committed offset: nothing can move it any more.
async fn committed_after_death(run: &Run<'_>, trial: &Trial) -> Result<Option<i64>, Failure> {
    let id = trial.first;
    run.wait_for(
        &format!("{} to die", run.process(id).label()),
        EVENT_TIMEOUT,
        |run| Ok(run.process(id).exit_status().map(|_| ())),
    )
    .await?;
    let committed = committed_offset(run, trial).await?;
    let at = committed.map_or("nothing".to_string(), |o| format!("offset {o}"));
    run.mark(id, format!("after the kill, the group holds {at}"));
    Ok(committed)
}

/// Waits until the restarted program `second` has processed every payment from the
/// committed offset on, then stops it. Its crashed predecessor held the partition until the
/// broker gave up on it: one session timeout.
async fn finish(
    run: &Run<'_>,
    trial: &Trial,
    second: ProcessId,
    committed: Option<i64>,
) -> Result<(), Failure> {
    let from = committed.unwrap_or(0);
    let wanted: Vec<i64> = (from..PAYMENTS as i64).collect();
    run.wait_for(
        &format!(
            "the restarted {} program to process the payments from offset {from}",
            trial.guarantee.arg()
        ),
        EVENT_TIMEOUT,
        |run| {
            let progress = Progress::of(&run.process(second).lines());
            Ok(wanted
                .iter()
                .all(|o| progress.processed.contains(o))
                .then_some(()))
        },
    )
    .await?;
    run.terminate(second);
    run.wait_success(second, EVENT_TIMEOUT).await
}

/// Counts what the crash cost and holds it against the guarantee.
async fn judge(
    run: &mut Run<'_>,
    trial: &Trial,
    second: ProcessId,
    committed: Option<i64>,
) -> Result<(), Failure> {
    check_lines(run, trial.first, trial)?;
    check_lines(run, second, trial)?;
    let crashed = Progress::of(&run.process(trial.first).lines());
    let restarted = Progress::of(&run.process(second).lines());
    let tally = Tally::count(&crashed, &restarted, committed);
    let name = |offset: &i64| {
        trial
            .payments
            .iter()
            .find(|p| p.offset == *offset)
            .map_or(format!("offset {offset}"), |p| {
                format!("{} (offset {offset})", p.payload)
            })
    };
    let at = committed.map_or("nothing".to_string(), |o| format!("offset {o}"));
    match trial.guarantee {
        Guarantee::AtMostOnce => {
            if let Some(offset) = tally.repeated.first() {
                return Err(run
                    .fail(format!(
                        "{} was processed twice: by the killed program and by its restart, which \
                         resumed from the group's {at}",
                        name(offset)
                    ))
                    .detail(
                        "At-most-once commits a payment before processing it (enable.auto.commit=false, \
                         commit_message with CommitMode::Sync, then process), so a restart never \
                         starts it again.",
                    ));
            }
            let in_flight = crashed.in_flight();
            if let Some(offset) = in_flight.iter().find(|o| !tally.lost.contains(o)) {
                return Err(run
                    .fail(format!(
                        "{} was in processing when the program was killed, yet the group's \
                         committed offset was {}: the restart processes it again",
                        name(offset),
                        committed.map_or("nothing".to_string(), |o| o.to_string())
                    ))
                    .detail(
                        "At-most-once commits a payment before it starts processing it: then a \
                         crash mid-payment loses that one payment, and never repeats one.",
                    ));
            }
            if let Some(offset) = tally.lost.iter().find(|o| !in_flight.contains(o)) {
                return Err(run.fail(format!(
                    "{} was never processed, though the group committed past it ({at}) and it was \
                     not in processing when the program was killed",
                    name(offset)
                )));
            }
        }
        Guarantee::AtLeastOnce => {
            if let Some(offset) = tally.lost.first() {
                return Err(run
                    .fail(format!(
                        "{} was lost: the group had committed {at} when the program was killed, \
                         but the program never finished processing it",
                        name(offset)
                    ))
                    .detail(
                        "Its offset was committed before it was processed. Set \
                         enable.auto.offset.store=false and store each offset yourself \
                         (store_offset_from_message) after processing: the automatic commit then \
                         sends only what is done.",
                    ));
            }
            if tally.repeated.len() > MAX_REPEATED {
                return Err(run
                    .fail(format!(
                        "{} payments were processed twice after the crash (the restart resumed from \
                         the group's {at}); at most {MAX_REPEATED} should be",
                        tally.repeated.len()
                    ))
                    .detail(format!(
                        "With a commit every {} ms and {} ms per payment, a crash repeats at most \
                         the payments processed since the last commit and the one in processing. \
                         Are the stored offsets being committed (enable.auto.commit=true, \
                         auto.commit.interval.ms={})?",
                        lab07::AUTO_COMMIT_INTERVAL_MS,
                        PROCESSING.as_millis(),
                        lab07::AUTO_COMMIT_INTERVAL_MS
                    )));
            }
        }
    }
    run.check_committed_to_end(
        &format!("the restarted {} program", trial.guarantee.arg()),
        &trial.group,
        &trial.topic,
    )
    .await?;
    write_section(run, trial, &tally);
    Ok(())
}

/// Every line of `id` is `started` or `processed`, about a payment the checker wrote, where
/// the broker stored it.
fn check_lines(run: &Run<'_>, id: ProcessId, trial: &Trial) -> Result<(), Failure> {
    let reports = Reports {
        verbs: &["started", "processed"],
        noun: "payment",
        assignments: false,
    };
    run.check_reported(id, reports, &trial.payments)
}

/// The section of the transcript: what the guarantee promises, now shown to hold. Only
/// what every passing run shares goes in; the counts vary with where the kill landed.
fn write_section(run: &mut Run<'_>, trial: &Trial, tally: &Tally) {
    let (title, lines) = match trial.guarantee {
        Guarantee::AtMostOnce => (
            "at-most-once: killed while a payment was in processing, then restarted",
            vec![
                "lost: only the payment in processing at the kill".to_string(),
                "processed twice: none".to_string(),
                "the restart resumed at the committed offset and finished the topic".to_string(),
            ],
        ),
        Guarantee::AtLeastOnce => (
            "at-least-once: killed between two automatic commits, then restarted",
            vec![
                "lost: none".to_string(),
                format!(
                    "processed twice: only payments processed since the last commit (at most {MAX_REPEATED})"
                ),
                "the restart resumed at the committed offset and finished the topic".to_string(),
            ],
        ),
    };
    run.transcript.section(title, lines);
    let arg = trial.guarantee.arg();
    run.measured_count(format!("{arg}: payments lost"), tally.lost.len());
    run.measured_count(
        format!("{arg}: payments processed twice"),
        tally.repeated.len(),
    );
}
