//! What the page shows: a snapshot of the broker's topics and groups, and each group's
//! timeline. A snapshot is read whole (by polling, see `poll.rs`). On any broker the
//! timeline's events are inferred from the differences between two snapshots, so a change
//! between two polls that undoes itself is not seen, and a member that left cannot be told
//! from one that expired. The embedded broker's coordinator tells its events instead
//! (`live.rs`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use embedded_broker::{GroupEvent, Happened};
use serde::Serialize;

use super::live::{self, Owners};

/// How many events the page keeps per group, and how many lag samples per partition.
const KEPT: usize = 200;

/// The whole page's state, sent to the browser on every change.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct View {
    /// The broker, as the checker names it.
    pub broker: String,
    /// How the view learns of changes, in the page's words.
    pub source: String,
    /// Whether the last poll reached the broker; `Some(reason)` when it did not.
    pub disconnected: Option<String>,
    /// When the last poll ended, in milliseconds since the epoch.
    pub polled_at: i64,
    /// The topics, by name (Kafka's internal topics left out).
    pub topics: Vec<TopicView>,
    /// The groups, by id.
    pub groups: Vec<GroupView>,
}

/// One topic.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TopicView {
    /// Its name.
    pub name: String,
    /// Its partitions, in order.
    pub partitions: Vec<PartitionView>,
}

/// One partition of a topic.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PartitionView {
    /// The partition.
    pub partition: i32,
    /// Its log start offset.
    pub start: i64,
    /// Its end offset.
    pub end: i64,
    /// Records appended per second since the poll before.
    pub per_second: f64,
}

/// One group.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct GroupView {
    /// Its id.
    pub id: String,
    /// `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty`, `Dead`.
    pub state: String,
    /// `classic` or `consumer` (KIP-848).
    pub protocol: String,
    /// The assignor the group chose (`range`, `roundrobin`, ...).
    pub assignor: String,
    /// Generations seen formed since the view started (Kafka's DescribeGroups does not
    /// give a classic group's generation).
    pub generations_seen: u32,
    /// Its generation, where the coordinator tells it (live mode).
    pub generation: Option<i32>,
    /// Its members, by member id.
    pub members: Vec<MemberView>,
    /// Each partition it owns or has committed on.
    pub offsets: Vec<OffsetView>,
    /// What happened to it, oldest first.
    pub timeline: Vec<TimelineEvent>,
    /// Whether its timeline is inferred from polls: on any broker but the embedded one,
    /// and there for a consumer-protocol group, which its coordinator does not serve.
    pub inferred: bool,
    /// Who owned what after the last assignment the coordinator told (live mode).
    #[serde(skip)]
    pub owners: Owners,
}

/// One member of a group.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MemberView {
    /// Its member id.
    pub id: String,
    /// Its `client.id`.
    pub client_id: String,
    /// Where it connects from.
    pub host: String,
    /// Its `group.instance.id`, if it is a static member.
    pub instance_id: Option<String>,
    /// The (topic, partition) pairs it owns.
    pub owned: Vec<(String, i32)>,
}

/// A group's position on one partition.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OffsetView {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The committed offset, if any.
    pub committed: Option<i64>,
    /// The partition's end offset.
    pub end: i64,
    /// End minus committed, if committed.
    pub lag: Option<i64>,
    /// The lag at each recent poll, oldest first (`None`: nothing committed then).
    pub history: Vec<Option<i64>>,
}

/// Something that happened to a group.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TimelineEvent {
    /// When it was seen, in milliseconds since the epoch.
    pub at: i64,
    /// `joined`, `left`, `expired`, `evicted`, `rebalance`, `state`, `generation`,
    /// `assigned`, `revoked`, `appeared`.
    pub kind: String,
    /// What happened, in a sentence.
    pub text: String,
}

impl View {
    /// `fresh` (just polled), with what happened since `self` recorded in each group's
    /// timeline, and the history of lags and rates carried on. What happened is `told` by
    /// the coordinator in live mode (every event since the last poll, in order), and
    /// otherwise inferred from what changed.
    pub fn advance(&self, mut fresh: View, elapsed_secs: f64, told: Option<&[GroupEvent]>) -> View {
        let at = fresh.polled_at;
        for topic in &mut fresh.topics {
            let before = self.topics.iter().find(|t| t.name == topic.name);
            for partition in &mut topic.partitions {
                let end_before = before
                    .and_then(|t| {
                        t.partitions
                            .iter()
                            .find(|p| p.partition == partition.partition)
                    })
                    .map(|p| p.end);
                if let (Some(end_before), true) = (end_before, elapsed_secs > 0.0) {
                    partition.per_second =
                        ((partition.end - end_before).max(0) as f64 / elapsed_secs * 10.0).round()
                            / 10.0;
                }
            }
        }
        for group in &mut fresh.groups {
            let before = self.groups.iter().find(|g| g.id == group.id);
            let mut timeline: VecDeque<TimelineEvent> = before
                .map(|g| g.timeline.iter().cloned().collect())
                .unwrap_or_default();
            // The embedded broker's coordinator serves classic groups only.
            let told = told.filter(|_| group.protocol != "consumer");
            group.inferred = told.is_none();
            // (what happened, how many generations formed)
            let (events, formed) = match (told, before) {
                (Some(told), _) => {
                    let mine: Vec<GroupEvent> = told
                        .iter()
                        .filter(|e| e.group == group.id)
                        .cloned()
                        .collect();
                    let known: Vec<&GroupView> = before.into_iter().chain([&*group]).collect();
                    let mut owners = before.map(|g| g.owners.clone()).unwrap_or_default();
                    let events = live::timeline(&mine, &known, &mut owners);
                    group.owners = owners;
                    group.generation =
                        live::generation(&mine).or(before.and_then(|g| g.generation));
                    let formed = mine
                        .iter()
                        .filter(|e| matches!(e.what, Happened::GenerationFormed { .. }))
                        .count();
                    (events, formed)
                }
                (None, Some(before)) => {
                    let events: Vec<TimelineEvent> = changes(before, group)
                        .into_iter()
                        .map(|(kind, text)| TimelineEvent { at, kind, text })
                        .collect();
                    let formed = events.iter().filter(|e| e.kind == "generation").count();
                    (events, formed)
                }
                (None, None) if self.polled_at == 0 => (Vec::new(), 0),
                (None, None) => (
                    vec![TimelineEvent {
                        at,
                        kind: "appeared".to_string(),
                        text: format!("group {} appeared", group.id),
                    }],
                    0,
                ),
            };
            group.generations_seen = before.map_or(0, |g| g.generations_seen) + formed as u32;
            timeline.extend(events);
            while timeline.len() > KEPT {
                timeline.pop_front();
            }
            group.timeline = timeline.into();
            for offset in &mut group.offsets {
                let mut history: VecDeque<Option<i64>> = before
                    .and_then(|g| {
                        g.offsets
                            .iter()
                            .find(|o| o.topic == offset.topic && o.partition == offset.partition)
                    })
                    .map(|o| o.history.iter().copied().collect())
                    .unwrap_or_default();
                history.push_back(offset.lag);
                while history.len() > KEPT {
                    history.pop_front();
                }
                offset.history = history.into();
            }
        }
        fresh
    }
}

/// What changed in a group between two polls, as (kind, sentence) pairs, in the order
/// they are told: leaves, joins, moves, the state, a generation formed.
fn changes(before: &GroupView, after: &GroupView) -> Vec<(String, String)> {
    let mut events = Vec::new();
    let ids =
        |g: &GroupView| -> BTreeSet<String> { g.members.iter().map(|m| m.id.clone()).collect() };
    let (was, is) = (ids(before), ids(after));
    for gone in was.difference(&is) {
        let member = before
            .members
            .iter()
            .find(|m| &m.id == gone)
            .expect("a member");
        events.push((
            "left".to_string(),
            format!(
                "{} left, or its session expired (polling cannot tell which)",
                name(member)
            ),
        ));
    }
    for new in is.difference(&was) {
        let member = after
            .members
            .iter()
            .find(|m| &m.id == new)
            .expect("a member");
        events.push(("joined".to_string(), format!("{} joined", name(member))));
    }
    let owners = |g: &GroupView| -> BTreeMap<(String, i32), String> {
        g.members
            .iter()
            .flat_map(|m| m.owned.iter().map(move |tp| (tp.clone(), name(m))))
            .collect()
    };
    let (owned_before, owned_after) = (owners(before), owners(after));
    let mut revoked: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut assigned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (partition, owner) in &owned_before {
        if owned_after.get(partition) != Some(owner) {
            revoked
                .entry(owner.clone())
                .or_default()
                .push(label(partition));
        }
    }
    for (partition, owner) in &owned_after {
        if owned_before.get(partition) != Some(owner) {
            assigned
                .entry(owner.clone())
                .or_default()
                .push(label(partition));
        }
    }
    for (member, partitions) in revoked {
        events.push((
            "revoked".to_string(),
            format!("{member} no longer owns {}", partitions.join(", ")),
        ));
    }
    for (member, partitions) in assigned {
        events.push((
            "assigned".to_string(),
            format!("{member} was assigned {}", partitions.join(", ")),
        ));
    }
    if before.state != after.state {
        events.push((
            "state".to_string(),
            format!("{} → {}", before.state, after.state),
        ));
    }
    let moved = owned_before != owned_after || was != is;
    if after.state == "Stable" && (before.state != "Stable" || moved) {
        let split: Vec<String> = after
            .members
            .iter()
            .map(|m| {
                let owned: Vec<String> = m.owned.iter().map(label).collect();
                format!("{}: {}", name(m), owned.join(", "))
            })
            .collect();
        events.push((
            "generation".to_string(),
            format!(
                "a generation formed with {} member(s) ({})",
                after.members.len(),
                if split.is_empty() {
                    "no partitions".to_string()
                } else {
                    split.join("; ")
                }
            ),
        ));
    }
    events
}

/// How a member is named on the page: its instance id, or its client id and the end of its
/// member id.
pub fn name(member: &MemberView) -> String {
    match &member.instance_id {
        Some(instance) => instance.clone(),
        None => format!("{}…{}", member.client_id, tail(&member.id)),
    }
}

/// The last six characters of a member id: enough to tell members apart on the page.
pub fn tail(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    chars[chars.len().saturating_sub(6)..].iter().collect()
}

/// `topic-partition`, as the page writes a partition.
pub fn label((topic, partition): &(String, i32)) -> String {
    format!("{topic}-{partition}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, owned: &[i32]) -> MemberView {
        MemberView {
            id: id.to_string(),
            client_id: "c".to_string(),
            host: "/127.0.0.1".to_string(),
            instance_id: Some(id.to_string()),
            owned: owned.iter().map(|p| ("t".to_string(), *p)).collect(),
        }
    }

    fn group(state: &str, members: Vec<MemberView>) -> GroupView {
        GroupView {
            id: "g".to_string(),
            state: state.to_string(),
            members,
            ..GroupView::default()
        }
    }

    fn view(at: i64, groups: Vec<GroupView>) -> View {
        View {
            polled_at: at,
            groups,
            ..View::default()
        }
    }

    #[test]
    fn a_crash_is_told_as_a_leave_a_move_and_a_new_generation() {
        let two = view(
            1,
            vec![group(
                "Stable",
                vec![member("a", &[0, 1]), member("b", &[2])],
            )],
        );
        let one = view(2, vec![group("Stable", vec![member("a", &[0, 1, 2])])]);
        let next = two.advance(one, 1.0, None);
        let kinds: Vec<&str> = next.groups[0]
            .timeline
            .iter()
            .map(|e| e.kind.as_str())
            .collect();
        assert_eq!(kinds, ["left", "revoked", "assigned", "generation"]);
        assert_eq!(next.groups[0].timeline[2].text, "a was assigned t-2");
        assert_eq!(next.groups[0].generations_seen, 1);
    }

    #[test]
    fn nothing_changed_tells_nothing_and_the_timeline_is_kept() {
        let first = view(1, vec![group("Stable", vec![member("a", &[0])])]);
        let again = first.advance(first.clone(), 1.0, None);
        assert!(again.groups[0].timeline.is_empty());
        let later = view(
            2,
            vec![group("PreparingRebalance", vec![member("a", &[0])])],
        );
        let moved = again.advance(later, 1.0, None);
        let same = moved.advance(moved.clone(), 1.0, None);
        assert_eq!(same.groups[0].timeline.len(), 1);
        assert_eq!(
            same.groups[0].timeline[0].text,
            "Stable → PreparingRebalance"
        );
    }

    #[test]
    fn in_live_mode_a_consumer_protocol_group_is_still_inferred() {
        // The embedded broker's coordinator tells nothing of KIP-848 groups.
        let mut classic = group("Stable", vec![member("a", &[0])]);
        classic.id = "classic".into();
        let mut kip848 = group("Stable", vec![member("a", &[0])]);
        kip848.protocol = "consumer".into();
        let before = view(1, vec![classic.clone(), kip848.clone()]);
        classic.members.clear();
        kip848.members.clear();
        let after = before.advance(view(2, vec![classic, kip848]), 1.0, Some(&[]));
        let (classic, kip848) = (&after.groups[0], &after.groups[1]);
        assert!(!classic.inferred && classic.timeline.is_empty());
        assert!(kip848.inferred);
        assert_eq!(kip848.timeline[0].kind, "left");
    }

    #[test]
    fn in_live_mode_a_generation_is_counted_once_and_shown() {
        let before = view(1, vec![group("PreparingRebalance", vec![member("a", &[])])]);
        let told: Vec<GroupEvent> = [
            Happened::GenerationFormed {
                generation: 4,
                leader: "a".into(),
                members: vec!["a".into()],
                protocol: Some("range".into()),
            },
            Happened::Assigned {
                generation: 4,
                assignments: vec![("a".into(), Vec::new())],
            },
        ]
        .into_iter()
        .map(|what| GroupEvent {
            group: "g".into(),
            at_millis: 2,
            what,
        })
        .collect();
        let after = before.advance(
            view(2, vec![group("Stable", vec![member("a", &[])])]),
            1.0,
            Some(&told),
        );
        assert_eq!(after.groups[0].generations_seen, 1);
        assert_eq!(after.groups[0].generation, Some(4));
    }

    #[test]
    fn a_group_that_vanishes_is_dropped_even_with_events_told_of_it() {
        let before = view(1, vec![group("Stable", vec![member("a", &[0])])]);
        let deleted = GroupEvent {
            group: "g".into(),
            at_millis: 2,
            what: Happened::Deleted,
        };
        let after = before.advance(view(2, vec![]), 1.0, Some(&[deleted]));
        assert!(after.groups.is_empty());
        let inferred = before.advance(view(2, vec![]), 1.0, None);
        assert!(inferred.groups.is_empty());
    }

    #[test]
    fn a_group_that_appears_is_told_and_rates_are_per_second() {
        let mut before = view(1, vec![]);
        before.topics = vec![TopicView {
            name: "t".to_string(),
            partitions: vec![PartitionView {
                partition: 0,
                end: 10,
                ..PartitionView::default()
            }],
        }];
        let mut after = view(2, vec![group("Empty", vec![])]);
        after.topics = vec![TopicView {
            name: "t".to_string(),
            partitions: vec![PartitionView {
                partition: 0,
                end: 30,
                ..PartitionView::default()
            }],
        }];
        let next = before.advance(after, 2.0, None);
        assert_eq!(next.topics[0].partitions[0].per_second, 10.0);
        assert_eq!(next.groups[0].timeline[0].kind, "appeared");
    }
}
