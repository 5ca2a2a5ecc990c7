//! Lab 10: three assignors on one group shape, side by side. Each member prints, before it
//! joins, which partitions it predicts end up together; the checker compares that with what
//! the group did. Then one member leaves: under the eager assignors every survivor revokes
//! its whole assignment and the group is dealt again; under cooperative-sticky no survivor
//! revokes anything.

use std::collections::BTreeSet;

use lab_contract::{env, lab10, AssignmentLine};

use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::process::Launch;

/// Members of each group.
const MEMBERS: usize = 3;
/// The topic's partitions.
const PARTITIONS: usize = lab10::TOPIC.partitions as usize;
/// The assignors, by their `partition.assignment.strategy` names.
const ASSIGNORS: [&str; 3] = ["range", "roundrobin", "cooperative-sticky"];

/// A grouping: each member's partitions, sorted, the members in no particular order.
type Grouping = BTreeSet<Vec<i32>>;

/// One assignor's group.
struct Trial {
    assignor: &'static str,
    members: Vec<ProcessId>,
}

impl Trial {
    fn eager(&self) -> bool {
        self.assignor != "cooperative-sticky"
    }
}

/// Plays the three groups side by side.
pub async fn play(run: &mut Run<'_>) -> Result<(), Failure> {
    let patience = run.patience(lab10::TIMERS);
    run.step(1);
    let mut trials = Vec::new();
    for assignor in ASSIGNORS {
        trials.push(start(run, assignor).await?);
    }
    for trial in &trials {
        wait_split(run, &trial.members, patience.formation(MEMBERS)).await?;
    }

    run.step(2);
    let mut sections = Vec::new();
    for trial in &trials {
        sections.push(check_prediction(run, trial)?);
    }

    run.step(3);
    let mut before = Vec::new();
    for trial in &trials {
        let survivors = &trial.members[..MEMBERS - 1];
        before.push(run.owned_and_printed(survivors));
        run.terminate(trial.members[MEMBERS - 1]);
    }
    for ((trial, before), section) in trials.iter().zip(&before).zip(&mut sections) {
        let survivors = &trial.members[..MEMBERS - 1];
        wait_split(run, survivors, patience.takeover_after_leave() * 2).await?;
        section.push(check_leave(run, trial, survivors, before)?);
    }
    for (trial, lines) in trials.iter().zip(sections) {
        run.transcript.section(
            format!(
                "{}: {MEMBERS} members, {PARTITIONS} partitions",
                trial.assignor
            ),
            lines,
        );
    }
    for trial in &trials {
        for id in &trial.members[..MEMBERS - 1] {
            run.terminate(*id);
        }
    }
    for trial in &trials {
        for id in &trial.members {
            run.wait_success(*id, EVENT_TIMEOUT).await?;
        }
    }
    Ok(())
}

/// Creates the assignor's topic and group and starts its members.
async fn start(run: &mut Run<'_>, assignor: &'static str) -> Result<Trial, Failure> {
    let topic = run.tagged_topic(lab10::TOPIC, assignor).await?;
    let group = run.unique(&format!("{}-{assignor}", lab10::GROUP));
    let mut members = Vec::new();
    for m in 1..=MEMBERS {
        members.push(
            run.start(
                Launch::new(format!("{assignor} member {m}"), &[])
                    .env(env::KAFKA_TOPIC, &topic)
                    .env(env::KAFKA_GROUP_ID, &group)
                    .env(env::ASSIGNOR, assignor)
                    .env(env::MEMBERS, MEMBERS.to_string()),
            )?,
        );
    }
    Ok(Trial { assignor, members })
}

/// Waits until the `assignor`'s `members` share the partitions.
async fn wait_split(
    run: &Run<'_>,
    members: &[ProcessId],
    ceiling: std::time::Duration,
) -> Result<(), Failure> {
    run.wait_split(
        members,
        PARTITIONS,
        ceiling,
        "Each member prints its rebalances with AssignmentPrinter { member: None } and sets \
         partition.assignment.strategy from ASSIGNOR.",
    )
    .await
}

/// The grouping `members` own now, if they share the partitions.
fn split(run: &Run<'_>, members: &[ProcessId]) -> Option<Grouping> {
    run.split(members, PARTITIONS)
        .map(|owned| owned.into_iter().collect())
}

/// Parses `[0, 1] [2, 3] [4]`.
fn parse_grouping(text: &str) -> Option<Grouping> {
    text.split(']')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let inner = part.strip_prefix('[')?;
            let mut list: Vec<i32> = inner
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            list.sort_unstable();
            Some(list)
        })
        .collect()
}

fn show(grouping: &Grouping) -> String {
    grouping
        .iter()
        .map(|owned| {
            let list: Vec<String> = owned.iter().map(i32::to_string).collect();
            format!("[{}]", list.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every member printed the same `predicted` line, and it is what the group did.
fn check_prediction(run: &Run<'_>, trial: &Trial) -> Result<Vec<String>, Failure> {
    let mut predicted: Option<Grouping> = None;
    for id in &trial.members {
        let lines = run.process(*id).lines();
        let Some(line) = lines.iter().find_map(|l| l.strip_prefix("predicted ")) else {
            return Err(run.fail(format!(
                "{} printed no `predicted [..] [..] ...` line before joining",
                run.process(*id).label()
            )));
        };
        let Some(grouping) = parse_grouping(line) else {
            return Err(run.off_contract(
                Some(run.process(*id).label()),
                &format!("predicted {line}"),
                "predicted [<partitions>] [<partitions>] ...",
            ));
        };
        if predicted.as_ref().is_some_and(|p| *p != grouping) {
            return Err(run.fail(format!(
                "the {} members predicted different groupings: a prediction depends only on the \
                 assignor, the member count and the partition count",
                trial.assignor
            )));
        }
        predicted = Some(grouping);
    }
    let predicted = predicted.expect("three members");
    let got = split(run, &trial.members).expect("waited for the split");
    let one_generation = trial.members.iter().all(|id| {
        run.process(*id)
            .lines()
            .iter()
            .filter(|l| AssignmentLine::parse(l).is_some())
            .count()
            == 1
    });
    if predicted != got {
        // A sticky assignment follows the group's history: if a member came late, the first
        // generation's assignment shaped the last. Only a group formed in one go can be held
        // to the prediction; otherwise its balance is what is checked.
        let sizes = |g: &Grouping| {
            let mut s: Vec<usize> = g.iter().map(Vec::len).collect();
            s.sort_unstable();
            s
        };
        let excused = !trial.eager() && !one_generation && sizes(&predicted) == sizes(&got);
        if !excused {
            return Err(run
                .fail(format!(
                    "{}: the members predicted {}, and the group got {}",
                    trial.assignor,
                    show(&predicted),
                    show(&got)
                ))
                .detail(match trial.assignor {
                    "range" => {
                        "Range sorts the members by member id and gives each a block of \
                                consecutive partitions; the first (partitions % members) get one \
                                more."
                    }
                    "roundrobin" => {
                        "Roundrobin sorts the members by member id and deals the \
                                     partitions out one at a time, like cards."
                    }
                    _ => {
                        "A new group has nothing to stick to: the sticky assignor gives each \
                          partition, in order, to the member that has the fewest so far."
                    }
                }));
        }
    }
    // The same line whether the group matched the grouping or, a sticky group formed in two
    // generations, only its balance: the snapshot is the same for every passing run.
    Ok(vec![format!(
        "predicted {}, and checked against the group's assignment",
        show(&predicted)
    )])
}

/// After the last member left: eager survivors revoked all and were dealt again, cooperative
/// survivors revoked nothing and kept what they had.
fn check_leave(
    run: &Run<'_>,
    trial: &Trial,
    survivors: &[ProcessId],
    before: &[(Vec<i32>, usize)],
) -> Result<String, Failure> {
    for (id, (owned, from)) in survivors.iter().zip(before) {
        let label = run.process(*id).label().to_string();
        let revoked = run.revoked_since(*id, *from);
        if trial.eager() {
            let all: BTreeSet<i32> = revoked.iter().copied().collect();
            if !owned.iter().all(|p| all.contains(p)) {
                return Err(run.fail(format!(
                    "{label} revoked {revoked:?} when a member left; under the eager {} \
                     assignor a rebalance takes every partition back from every member first",
                    trial.assignor
                )));
            }
        } else {
            if !revoked.is_empty() {
                return Err(run.fail(format!(
                    "{label} revoked {revoked:?} when a member left; under cooperative-sticky a \
                     survivor keeps everything it had and is only added the leaver's partitions"
                )));
            }
            let now = run.owned(*id);
            if !owned.iter().all(|p| now.contains(p)) {
                return Err(run.fail(format!(
                    "{label} owned {owned:?} and now owns {now:?}: a sticky survivor keeps its \
                     partitions"
                )));
            }
        }
    }
    let got = split(run, survivors).expect("waited for the split");
    Ok(if trial.eager() {
        format!(
            "a member left: every survivor revoked its whole assignment, then the group was dealt again: {}",
            show(&got)
        )
    } else {
        "a member left: no survivor revoked anything; the leaver's partitions were added to theirs"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groupings_parse_whatever_the_member_order() {
        let a = parse_grouping("[0, 3] [1, 4] [2]").unwrap();
        let b = parse_grouping("[2] [1, 4] [3, 0]").unwrap();
        assert_eq!(a, b);
        assert_eq!(show(&a), "[0, 3] [1, 4] [2]");
        assert!(parse_grouping("[0, x]").is_none());
        assert!(parse_grouping("0, 1").is_none());
    }
}
