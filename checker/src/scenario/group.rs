//! Reading a consumer group from the output of one process that runs several members
//! (labs 2, 3 and 5): who owns which partition, and who processed what.
//!
//! Inside one process the lines are in real order: a member prints `revoked` before it gives
//! partitions up, and another member can only be assigned them afterwards. So two members
//! owning one partition at once is never a passing moment of a rebalance: it means the
//! consumers are not in one group.

use std::collections::BTreeMap;

use lab_contract::{AssignmentLine, Event};

use super::lines::{ownership, Fields};
use super::patience::Patience;
use super::{Failure, ProcessId, Run};
use crate::process::Launch;

/// Partitions owned per member label.
pub type Owners = BTreeMap<usize, Vec<i32>>;

/// The group's assignment once it has settled: every member `0..members` has reported an
/// assignment, and together they own each of `partitions` partitions exactly once.
///
/// `Ok(None)` while a rebalance is still under way; `Err` when two members own one
/// partition, which no rebalance of a single group produces.
pub fn settled(
    lines: &[String],
    members: usize,
    partitions: i32,
) -> Result<Option<Owners>, String> {
    let reported = reported(lines);
    let owners: Owners = ownership(lines)
        .into_iter()
        .filter_map(|(member, owned)| Some((member?, owned)))
        .collect();
    let mut owner_of: BTreeMap<i32, usize> = BTreeMap::new();
    for (member, owned) in &owners {
        for partition in owned {
            if let Some(other) = owner_of.insert(*partition, *member) {
                return Err(format!(
                    "consumer {other} and consumer {member} both own partition {partition}: \
                     members of one group never share a partition, so they are not in one group"
                ));
            }
        }
    }
    let everyone_reported = (0..members).all(|member| reported.contains(&member));
    let all_owned = (0..partitions).all(|partition| owner_of.contains_key(&partition));
    Ok((everyone_reported && all_owned).then_some(owners))
}

/// A group for [`start_settled`]: its name, how many members the process runs in it, the
/// partitions they share, and the lab's waits.
pub struct Expected<'a> {
    /// The group's name on the broker.
    pub group: &'a str,
    /// Members the process should run.
    pub members: usize,
    /// Partitions of the topic.
    pub partitions: i32,
    /// The lab's waits.
    pub patience: Patience,
}

/// Starts a process that runs `expected.members` consumers of one group, and waits until
/// they have settled on the partitions. Returns the process and who owns what.
///
/// Fails as soon as the broker shows the group settled in a shape the output contradicts:
/// another number of members, or members that never printed their assignment.
pub async fn start_settled(
    run: &mut Run<'_>,
    launch: Launch,
    expected: Expected<'_>,
) -> Result<(ProcessId, Owners), Failure> {
    let id = run.start(launch)?;
    let owners = settle(run, id, expected).await?;
    Ok((id, owners))
}

/// Waits until the consumers of process `id` have settled, as [`start_settled`] does.
pub async fn settle(
    run: &Run<'_>,
    id: ProcessId,
    expected: Expected<'_>,
) -> Result<Owners, Failure> {
    let Expected {
        group,
        members,
        partitions,
        patience,
    } = expected;
    let what = format!("all {members} consumers to report their assignment");
    let settled = run.wait_for(&what, patience.formation(members), |run| {
        settled(&run.process(id).lines(), members, partitions).map_err(|m| run.fail(m))
    });
    let contradiction = run.contradiction(group, patience.silence(), |run, seen| {
        let on_broker = seen.members.len();
        if on_broker != members {
            return Some(run.fail(format!(
                "the broker shows group {group} settled with {on_broker} member{}, where the \
                 program should run {members} consumers in it",
                if on_broker == 1 { "" } else { "s" }
            )));
        }
        let reported = reported(&run.process(id).lines());
        let silent: Vec<String> = (0..members)
            .filter(|m| !reported.contains(m))
            .map(|m| m.to_string())
            .collect();
        (!silent.is_empty()).then(|| {
            run.fail(format!(
                "the broker shows group {group} settled, its {members} members assigned, but \
                 consumer {} printed no assignment",
                silent.join(", ")
            ))
            .detail(
                "Each consumer prints its rebalances from its context \
                 (AssignmentPrinter { member: Some(i) }), which rdkafka calls inside recv().",
            )
        })
    });
    tokio::select! {
        owners = settled => owners,
        failure = contradiction => Err(failure),
    }
}

/// The members that printed at least one assignment.
fn reported(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .filter_map(|line| AssignmentLine::parse(line))
        .filter(|line| line.event == Event::Assigned)
        .filter_map(|line| line.member)
        .collect()
}

/// One `consumer <i> <verb> <payload> partition=<p> ...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// The member label.
    pub member: usize,
    /// The message value.
    pub payload: String,
    /// The partition it came from.
    pub partition: i32,
    /// Its offset, when the line reports one.
    pub offset: Option<i64>,
}

/// Every line of the form `consumer <i> <verb> <payload> partition=<p> [offset=<o>]`.
pub fn handled(lines: &[String], verb: &str) -> Vec<Handled> {
    lines
        .iter()
        .filter_map(|line| {
            let fields = Fields::parse(line);
            // The payload is a bare word (`processed order3 ...`) or an `id=` field.
            let (member, payload) = match fields.words.as_slice() {
                ["consumer", member, word, payload] if *word == verb => (member, *payload),
                ["consumer", member, word] if *word == verb => (member, fields.text("id")?),
                _ => return None,
            };
            Some(Handled {
                member: member.parse().ok()?,
                payload: payload.to_string(),
                partition: fields.number("partition")? as i32,
                offset: fields.number("offset"),
            })
        })
        .collect()
}

/// The one line of `handled` about `payload`; `Err` holds how many there were instead.
pub fn handled_once<'h>(handled: &'h [Handled], payload: &str) -> Result<&'h Handled, usize> {
    let mut about = handled.iter().filter(|h| h.payload == payload);
    match (about.next(), about.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(0),
        (Some(_), Some(_)) => Err(2 + about.count()),
    }
}

/// Lines that are neither assignment reports nor `consumer <i> <verb> ...` for one of `verbs`.
pub fn unexpected<'l>(lines: &'l [String], verbs: &[&str]) -> Vec<&'l String> {
    lines
        .iter()
        .filter(|line| AssignmentLine::parse(line).is_none())
        .filter(|line| {
            let fields = Fields::parse(line);
            !matches!(fields.words.as_slice(),
                ["consumer", _, word, _] | ["consumer", _, word] if verbs.contains(word))
        })
        .collect()
}

/// Sizes of the members' assignments, largest first: `2 + 1` for three partitions on two.
pub fn shape(owners: &Owners) -> String {
    let mut sizes: Vec<usize> = owners.values().map(Vec::len).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" + ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn a_group_settles_once_everyone_reported_and_every_partition_is_owned() {
        let partial = lines(&[
            "consumer 0 assigned [0, 1, 2]",
            "consumer 0 revoked [0, 1, 2]",
            "consumer 0 assigned [0, 1]",
        ]);
        assert_eq!(settled(&partial, 2, 3), Ok(None));
        let mut done = partial.clone();
        done.push("consumer 1 assigned [2]".into());
        let owners = settled(&done, 2, 3).unwrap().unwrap();
        assert_eq!(owners[&0], vec![0, 1]);
        assert_eq!(shape(&owners), "2 + 1");
    }

    #[test]
    fn a_message_handled_once_is_found_and_otherwise_counted() {
        let text = lines(&[
            "consumer 0 processed order1 partition=0",
            "consumer 1 processed order2 partition=1",
            "consumer 0 processed order2 partition=1",
            "consumer 1 processed order2 partition=1",
        ]);
        let processed = handled(&text, "processed");
        assert_eq!(handled_once(&processed, "order1").unwrap().member, 0);
        assert_eq!(handled_once(&processed, "order2").unwrap_err(), 3);
        assert_eq!(handled_once(&processed, "order3").unwrap_err(), 0);
    }

    #[test]
    fn an_idle_member_counts_as_reported() {
        let text = lines(&[
            "consumer 0 assigned [0]",
            "consumer 1 assigned [1]",
            "consumer 2 assigned []",
        ]);
        let owners = settled(&text, 3, 2).unwrap().unwrap();
        assert_eq!(shape(&owners), "1 + 1 + 0");
    }

    #[test]
    fn two_owners_of_one_partition_are_not_one_group() {
        let text = lines(&["consumer 0 assigned [0, 1]", "consumer 1 assigned [0, 1]"]);
        let error = settled(&text, 2, 2).unwrap_err();
        assert!(error.contains("both own partition 0"), "{error}");
    }

    #[test]
    fn handled_lines_and_strays_are_told_apart() {
        let text = lines(&[
            "consumer 1 processed order3-x partition=2 offset=7",
            "consumer 0 assigned [1]",
            "debug: polling",
        ]);
        assert_eq!(
            handled(&text, "processed"),
            vec![Handled {
                member: 1,
                payload: "order3-x".into(),
                partition: 2,
                offset: Some(7)
            }]
        );
        assert_eq!(unexpected(&text, &["processed"]), vec![&text[2]]);
        let by_id = lines(&["consumer 0 started id=7-x partition=3 offset=1"]);
        assert_eq!(handled(&by_id, "started")[0].payload, "7-x");
        assert!(unexpected(&by_id, &["started"]).is_empty());
    }
}
