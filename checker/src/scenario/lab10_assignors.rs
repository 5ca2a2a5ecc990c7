//! Lab 10: three assignors on one group shape, side by side. Each member prints, before it
//! joins, which partitions it predicts end up together; the checker compares that with what
//! the group did. Then one member leaves: under the eager assignors every survivor revokes
//! its whole assignment and the group is dealt again; under cooperative-sticky no survivor
//! revokes anything.
//!
//! Alongside, range and roundrobin also run on a group shape drawn per run (its member and
//! partition counts, from [`DRAWN_SHAPES`]), so that a prediction hard-coded for the fixed
//! shape, or a rule that happens to agree with range there, gets no marks.

use std::collections::BTreeSet;

use lab_contract::{env, lab10, AssignmentLine, Topic};

use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::process::Launch;

/// Members of each group.
const MEMBERS: usize = 3;
/// The topic's partitions.
const PARTITIONS: usize = lab10::TOPIC.partitions as usize;
/// The assignors, by their `partition.assignment.strategy` names.
const ASSIGNORS: [&str; 3] = ["range", "roundrobin", "cooperative-sticky"];

/// Group shapes (members, partitions) a run draws one of. In each, range, roundrobin and
/// the usual wrong rule for range ("ceil(partitions / members) each, until they run out")
/// give three different groupings, and none is the fixed shape's.
pub const DRAWN_SHAPES: [(usize, usize); 6] = [(3, 4), (3, 7), (3, 10), (4, 6), (4, 9), (4, 10)];

/// The eager assignors, whose grouping follows from the shape alone, run on the drawn shape.
const DRAWN_ASSIGNORS: [&str; 2] = ["range", "roundrobin"];

/// A grouping: each member's partitions, sorted, the members in no particular order.
type Grouping = BTreeSet<Vec<i32>>;

/// One assignor's group.
struct Trial {
    assignor: &'static str,
    members: Vec<ProcessId>,
    partitions: usize,
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
        trials.push(start(run, assignor, MEMBERS, PARTITIONS, "").await?);
    }
    let (members, partitions) = DRAWN_SHAPES[fastrand::usize(..DRAWN_SHAPES.len())];
    let mut drawn = Vec::new();
    for assignor in DRAWN_ASSIGNORS {
        drawn.push(start(run, assignor, members, partitions, "drawn").await?);
    }
    for trial in trials.iter().chain(&drawn) {
        let formation = patience.formation(trial.members.len());
        wait_split(run, &trial.members, trial.partitions, formation).await?;
    }

    run.step(2);
    let mut sections = Vec::new();
    for trial in &trials {
        sections.push(check_prediction(run, trial)?);
    }
    let mut drawn_lines = Vec::new();
    for trial in &drawn {
        check_prediction(run, trial)?;
        drawn_lines.push(format!(
            "{}: predicted, and checked against the group's assignment",
            trial.assignor
        ));
    }
    for id in drawn.iter().flat_map(|t| &t.members) {
        run.terminate(*id);
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
        wait_split(
            run,
            survivors,
            PARTITIONS,
            patience.takeover_after_leave() * 2,
        )
        .await?;
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
    run.transcript.section(
        "range and roundrobin on a group shape drawn per run",
        drawn_lines,
    );
    for trial in &trials {
        for id in &trial.members[..MEMBERS - 1] {
            run.terminate(*id);
        }
    }
    for trial in trials.iter().chain(&drawn) {
        for id in &trial.members {
            run.wait_success(*id, EVENT_TIMEOUT).await?;
        }
    }
    Ok(())
}

/// Creates the assignor's topic of `partitions` and its group, and starts `count` members;
/// `round` tags the names of a second group of the same assignor.
async fn start(
    run: &mut Run<'_>,
    assignor: &'static str,
    count: usize,
    partitions: usize,
    round: &str,
) -> Result<Trial, Failure> {
    let tag = if round.is_empty() {
        assignor.to_string()
    } else {
        format!("{assignor}-{round}")
    };
    let shape = Topic {
        name: lab10::TOPIC.name,
        partitions: partitions as i32,
    };
    let topic = run.tagged_topic(shape, &tag).await?;
    let group = run.unique(&format!("{}-{tag}", lab10::GROUP));
    let mut members = Vec::new();
    for m in 1..=count {
        let label = if round.is_empty() {
            format!("{assignor} member {m}")
        } else {
            format!("{assignor} {round} member {m}")
        };
        let id = run.start(
            Launch::new(label, &[])
                .env(env::KAFKA_TOPIC, &topic)
                .env(env::KAFKA_GROUP_ID, &group)
                .env(env::ASSIGNOR, assignor)
                .env(env::MEMBERS, count.to_string()),
        )?;
        if !round.is_empty() {
            run.mark(
                id,
                format!("drawn: {}={count}, {partitions} partitions", env::MEMBERS),
            );
        }
        members.push(id);
    }
    Ok(Trial {
        assignor,
        members,
        partitions,
    })
}

/// Waits until `members` share the topic's `partitions`.
async fn wait_split(
    run: &Run<'_>,
    members: &[ProcessId],
    partitions: usize,
    ceiling: std::time::Duration,
) -> Result<(), Failure> {
    run.wait_split(
        members,
        partitions,
        ceiling,
        "Each member prints its rebalances with AssignmentPrinter { member: None } and sets \
         partition.assignment.strategy from ASSIGNOR.",
    )
    .await
}

/// The grouping `members` own now, if they share the topic's `partitions`.
fn split(run: &Run<'_>, members: &[ProcessId], partitions: usize) -> Option<Grouping> {
    run.split(members, partitions)
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
    let predicted = predicted.expect("the group has members");
    let got = split(run, &trial.members, trial.partitions).expect("waited for the split");
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
    let got = split(run, survivors, PARTITIONS).expect("waited for the split");
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

    /// The groupings of range, of the wrong rule "ceil(partitions / members) each until they
    /// run out", and of roundrobin, for a new group of that shape.
    fn rules(members: usize, partitions: usize) -> [Grouping; 3] {
        let blocks = |sizes: Vec<usize>| -> Grouping {
            let mut next = 0;
            sizes
                .into_iter()
                .map(|take| {
                    let block = (next..next + take).map(|p| p as i32).collect();
                    next += take;
                    block
                })
                .collect()
        };
        let range = (0..members)
            .map(|m| partitions / members + usize::from(m < partitions % members))
            .collect();
        let each = partitions.div_ceil(members);
        let ceil = (0..members)
            .map(|m| each.min(partitions.saturating_sub(m * each)))
            .collect();
        let roundrobin = (0..members)
            .map(|m| (m..partitions).step_by(members).map(|p| p as i32).collect())
            .collect();
        [blocks(range), blocks(ceil), roundrobin]
    }

    #[test]
    fn every_drawn_shape_tells_range_from_the_wrong_rules_and_from_the_fixed_shape() {
        // On the fixed shape the wrong rule agrees with range: hence the drawn shape.
        let [range, ceil, _] = rules(MEMBERS, PARTITIONS);
        assert_eq!(range, ceil);
        let fixed: Vec<Grouping> = rules(MEMBERS, PARTITIONS).to_vec();
        for (members, partitions) in DRAWN_SHAPES {
            let [range, ceil, roundrobin] = rules(members, partitions);
            assert_ne!(range, ceil, "{members} x {partitions}");
            assert_ne!(range, roundrobin, "{members} x {partitions}");
            for grouping in [&range, &roundrobin] {
                assert!(!fixed.contains(grouping), "{members} x {partitions}");
            }
        }
    }

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
