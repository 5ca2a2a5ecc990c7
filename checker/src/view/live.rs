//! The timeline from the embedded broker's coordinator, which tells each event as it
//! happens (`EmbeddedBroker::group_events`): unlike polling, it knows a leave from an
//! expired session, sees a member dropped for not rejoining in time, and gives each
//! rebalance's reason in Kafka's words.

use std::collections::BTreeMap;

use embedded_broker::{GroupEvent, Happened};

use super::model::{label, name, tail, GroupView, TimelineEvent};
use crate::consumer_group::parse_assignment;

/// What the page says of its source in live mode.
pub const SOURCE: &str = "live: the embedded broker's coordinator tells each event as it \
                          happens, and the view reads the group again at once";

/// Who owns what, as the last assignment of each group said: (topic, partition) → member.
pub type Owners = BTreeMap<(String, i32), String>;

/// `events` (of `group`, in order) as timeline entries. `known` is the group as the view
/// saw it before and after them, to name members; `owners` is carried from one call to
/// the next, to tell what each assignment moved.
pub fn timeline(
    events: &[GroupEvent],
    known: &[&GroupView],
    owners: &mut Owners,
) -> Vec<TimelineEvent> {
    let mut told = Vec::new();
    let named = |id: &str| member_name(id, known);
    for event in events {
        let mut tell = |kind: &str, text: String| {
            told.push(TimelineEvent {
                at: event.at_millis,
                kind: kind.to_string(),
                text,
            })
        };
        match &event.what {
            Happened::Joined {
                member,
                instance_id,
                ..
            } => tell(
                "joined",
                match instance_id {
                    Some(instance) => format!("{instance} joined (static member)"),
                    None => format!("{} joined", named(member)),
                },
            ),
            Happened::Replaced {
                old_member,
                instance_id,
                ..
            } => tell(
                "joined",
                format!(
                    "{instance_id} restarted and took its place back; its old member id …{} is fenced",
                    tail(old_member)
                ),
            ),
            Happened::Left { member, reason } => tell(
                "left",
                match reason {
                    Some(reason) if !reason.is_empty() => {
                        format!("{} left the group (\"{reason}\")", named(member))
                    }
                    _ => format!("{} left the group", named(member)),
                },
            ),
            Happened::SessionExpired {
                member,
                session_timeout,
            } => tell(
                "expired",
                format!(
                    "{}'s session expired: no heartbeat for {} ms (session.timeout.ms)",
                    named(member),
                    session_timeout.as_millis()
                ),
            ),
            Happened::NotRejoined {
                member,
                rebalance_timeout,
            } => tell(
                "evicted",
                format!(
                    "{} was dropped: it did not rejoin within {} ms (its max.poll.interval.ms)",
                    named(member),
                    rebalance_timeout.as_millis()
                ),
            ),
            Happened::NotSynced { member } => tell(
                "evicted",
                format!(
                    "{} was dropped: it did not send SyncGroup within the rebalance timeout",
                    named(member)
                ),
            ),
            Happened::RebalanceBegan { reason } => {
                tell("rebalance", format!("a rebalance began: {}", reason_named(reason, known)))
            }
            Happened::GenerationFormed {
                generation,
                leader,
                members,
                protocol,
            } => tell(
                "generation",
                format!(
                    "generation {generation} formed with {} member(s): {}; leader {}, assignor {}",
                    members.len(),
                    members
                        .iter()
                        .map(|m| named(m))
                        .collect::<Vec<_>>()
                        .join(", "),
                    named(leader),
                    protocol.as_deref().unwrap_or("–")
                ),
            ),
            Happened::Assigned {
                generation,
                assignments,
            } => {
                let now: Owners = assignments
                    .iter()
                    .flat_map(|(member, bytes)| {
                        let who = named(member);
                        parse_assignment(bytes)
                            .unwrap_or_default()
                            .into_iter()
                            .map(move |tp| (tp, who.clone()))
                    })
                    .collect();
                let split: Vec<String> = assignments
                    .iter()
                    .map(|(member, _)| {
                        let who = named(member);
                        let mine: Vec<String> = now
                            .iter()
                            .filter(|(_, owner)| **owner == who)
                            .map(|(tp, _)| label(tp))
                            .collect();
                        format!(
                            "{who}: {}",
                            if mine.is_empty() {
                                "nothing".to_string()
                            } else {
                                mine.join(", ")
                            }
                        )
                    })
                    .collect();
                tell(
                    "generation",
                    format!("generation {generation} assigned: {}", split.join("; ")),
                );
                for (member, partitions) in moves(owners, &now, Direction::Lost) {
                    tell("revoked", format!("{member} no longer owns {partitions}"));
                }
                for (member, partitions) in moves(owners, &now, Direction::Gained) {
                    tell("assigned", format!("{member} was assigned {partitions}"));
                }
                *owners = now;
            }
            Happened::Emptied { generation } => tell(
                "state",
                format!("generation {generation}: no member rejoined, the group is Empty"),
            ),
            Happened::State { state } => tell("state", format!("now {state}")),
            Happened::Deleted => tell("state", "the group was deleted".to_string()),
        }
    }
    told
}

/// The group's generation after `events`, if they tell it.
pub fn generation(events: &[GroupEvent]) -> Option<i32> {
    events.iter().rev().find_map(|event| match &event.what {
        Happened::GenerationFormed { generation, .. }
        | Happened::Assigned { generation, .. }
        | Happened::Emptied { generation } => Some(*generation),
        _ => None,
    })
}

enum Direction {
    Lost,
    Gained,
}

/// Each member's partitions that changed hands between `before` and `after`, listed.
fn moves(before: &Owners, after: &Owners, direction: Direction) -> BTreeMap<String, String> {
    let (from, to) = match direction {
        Direction::Lost => (before, after),
        Direction::Gained => (after, before),
    };
    let mut moved: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (partition, owner) in from {
        if to.get(partition) != Some(owner) {
            moved
                .entry(owner.clone())
                .or_default()
                .push(label(partition));
        }
    }
    moved
        .into_iter()
        .map(|(member, partitions)| (member, partitions.join(", ")))
        .collect()
}

/// A member as the page names it: as the view knows it, or from its id (Kafka makes them
/// `client.id-<uuid>`).
fn member_name(id: &str, known: &[&GroupView]) -> String {
    if let Some(member) = known
        .iter()
        .flat_map(|g| g.members.iter())
        .find(|m| m.id == id)
    {
        return name(member);
    }
    const UUID: usize = 36;
    match id.len().checked_sub(UUID + 1) {
        Some(end) if id.is_char_boundary(end) && id[end..].starts_with('-') => {
            format!("{}…{}", &id[..end], tail(id))
        }
        _ => id.to_string(),
    }
}

/// A reason with its member ids given the page's names.
fn reason_named(reason: &str, known: &[&GroupView]) -> String {
    reason
        .split(' ')
        .map(|word| {
            // Kafka puts ids in brackets, parentheses and sentences: `(id)`, `[a, b]`, `id.`.
            let bare = word.trim_matches(|c: char| matches!(c, ',' | '.' | '(' | ')' | '[' | ']'));
            if bare.len() > 37 && bare.contains('-') {
                word.replacen(bare, &member_name(bare, known), 1)
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const A: &str = "lab06-a-00000000-0000-0000-0000-00000000000a";
    const B: &str = "lab06-b-00000000-0000-0000-0000-00000000000b";

    fn event(what: Happened) -> GroupEvent {
        GroupEvent {
            group: "g".into(),
            at_millis: 7,
            what,
        }
    }

    /// A ConsumerProtocolAssignment v0 of topic `t`'s `partitions`.
    fn assignment(partitions: &[i32]) -> Vec<u8> {
        let mut bytes = vec![0, 0, 0, 0, 0, 1, 0, 1, b't'];
        bytes.extend((partitions.len() as i32).to_be_bytes());
        for p in partitions {
            bytes.extend(p.to_be_bytes());
        }
        bytes.extend((-1i32).to_be_bytes());
        bytes
    }

    #[test]
    fn a_crash_is_told_as_an_expiry_then_a_handover() {
        let mut owners = Owners::new();
        let first = timeline(
            &[event(Happened::Assigned {
                generation: 1,
                assignments: vec![
                    (A.into(), assignment(&[0, 1])),
                    (B.into(), assignment(&[2])),
                ],
            })],
            &[],
            &mut owners,
        );
        assert_eq!(
            first[0].text,
            "generation 1 assigned: lab06-a…00000a: t-0, t-1; lab06-b…00000b: t-2"
        );
        let crash = timeline(
            &[
                event(Happened::SessionExpired {
                    member: B.into(),
                    session_timeout: Duration::from_secs(6),
                }),
                event(Happened::RebalanceBegan {
                    reason: format!("removing member {B} on heartbeat expiration."),
                }),
                event(Happened::Assigned {
                    generation: 2,
                    assignments: vec![(A.into(), assignment(&[0, 1, 2]))],
                }),
            ],
            &[],
            &mut owners,
        );
        let told: Vec<(&str, &str)> = crash
            .iter()
            .map(|e| (e.kind.as_str(), e.text.as_str()))
            .collect();
        assert_eq!(
            told,
            [
                (
                    "expired",
                    "lab06-b…00000b's session expired: no heartbeat for 6000 ms (session.timeout.ms)"
                ),
                (
                    "rebalance",
                    "a rebalance began: removing member lab06-b…00000b on heartbeat expiration."
                ),
                ("generation", "generation 2 assigned: lab06-a…00000a: t-0, t-1, t-2"),
                ("revoked", "lab06-b…00000b no longer owns t-2"),
                ("assigned", "lab06-a…00000a was assigned t-2"),
            ]
        );
        assert_eq!(crash[0].at, 7, "the coordinator's time, not the poll's");
        let told: Vec<GroupEvent> = [
            Happened::GenerationFormed {
                generation: 3,
                leader: A.into(),
                members: vec![A.into()],
                protocol: None,
            },
            Happened::State {
                state: "CompletingRebalance".into(),
            },
        ]
        .into_iter()
        .map(event)
        .collect();
        assert_eq!(generation(&told), Some(3));
        assert_eq!(generation(&told[1..]), None);
    }
}
