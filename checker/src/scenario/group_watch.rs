//! Watching a group on the broker while the lab's programs run, for evidence that settles a
//! wait early: the broker shows the group formed, and the programs' output contradicts it.

use std::collections::BTreeSet;
use std::future::pending;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Failure, Run};
use crate::consumer_group::{GroupReader, Membership};

/// How often the broker is asked: fine enough that a grace of seconds is measured to a
/// tenth, coarse enough to cost the broker nothing.
const POLL: Duration = Duration::from_millis(250);

impl Run<'_> {
    /// Reads `group` from the broker now and every [`POLL`] after, handing each reading
    /// (`None` when that read failed) to `look` until it returns a value. Fails at once when
    /// the checker cannot make a group reader.
    pub async fn watch_group<T>(
        &self,
        group: &str,
        mut look: impl FnMut(Option<&Membership>) -> Option<T>,
    ) -> anyhow::Result<T> {
        let reader = Arc::new(GroupReader::new(self.broker.bootstrap())?);
        loop {
            let seen = reader.read(group).await.ok();
            if let Some(value) = look(seen.as_ref()) {
                return Ok(value);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Resolves with `contradicts`'s failure once the broker has shown `group` Stable,
    /// with the same members, for `grace`, and `contradicts` finds the programs' output at
    /// odds with it. Never resolves otherwise: it is raced against the wait it shortens.
    pub async fn contradiction(
        &self,
        group: &str,
        grace: Duration,
        mut contradicts: impl FnMut(&Run<'_>, &Membership) -> Option<Failure>,
    ) -> Failure {
        let mut stable: Option<(Instant, BTreeSet<String>)> = None;
        let found = self
            .watch_group(group, |seen| {
                let Some(membership) = seen.filter(|m| m.state == "Stable") else {
                    stable = None;
                    return None;
                };
                let members: BTreeSet<String> =
                    membership.members.iter().map(|m| m.id.clone()).collect();
                let since = match &stable {
                    Some((since, same)) if *same == members => *since,
                    _ => {
                        stable = Some((Instant::now(), members));
                        return None;
                    }
                };
                (since.elapsed() >= grace)
                    .then(|| contradicts(self, membership))
                    .flatten()
            })
            .await;
        match found {
            Ok(failure) => failure,
            // No evidence to be had: the wait runs to its own end.
            Err(_) => pending().await,
        }
    }

    /// Resolves with a failure once the broker shows a group other than `expected` owning
    /// partitions of `topic` (this run's own): programs that joined a group of their own
    /// naming, named from the broker at once instead of after a wait runs out. Never
    /// resolves otherwise: it is raced against the wait it shortens.
    ///
    /// Likewise when a group of `expected` is Stable with its partitions all on another
    /// topic: programs that subscribed to a topic of their own naming.
    pub async fn strayed(&self, topic: &str, expected: &[&str]) -> Failure {
        let Ok(reader) = GroupReader::new(self.broker.bootstrap()).map(Arc::new) else {
            return pending().await;
        };
        loop {
            if let Some(failure) = self.stray(&reader, topic, expected, false).await {
                return failure;
            }
            for group in expected {
                if let Some(failure) = self.off_topic(&reader, group, topic).await {
                    return failure;
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The failure naming the topics `group`'s members own, when the group is Stable and
    /// owns partitions, none of them `topic`'s.
    async fn off_topic(
        &self,
        reader: &Arc<GroupReader>,
        group: &str,
        topic: &str,
    ) -> Option<Failure> {
        let membership = reader.read(group).await.ok()?;
        let owned: BTreeSet<&str> = membership
            .members
            .iter()
            .flat_map(|m| &m.owned)
            .map(|(t, _)| t.as_str())
            .collect();
        if membership.state != "Stable" || owned.is_empty() || owned.contains(topic) {
            return None;
        }
        let topics: Vec<&str> = owned.into_iter().collect();
        Some(
            self.fail(format!(
                "group {group}'s consumers were assigned topic {}, not this run's topic {topic}: \
                 read from the broker (DescribeGroups)",
                topics.join(", ")
            ))
            .detail(
                "Subscribe to the topic the program is given (KAFKA_TOPIC, through \
                 lab_contract::topic), not to one of your own naming.",
            ),
        )
    }

    /// `failure`, or, where the broker shows a group other than `expected` owning
    /// partitions of `topic` or holding offsets of it, the failure that names it: the
    /// reason behind the symptom.
    pub async fn explain_stray(&self, failure: Failure, topic: &str, expected: &[&str]) -> Failure {
        let Ok(reader) = GroupReader::new(self.broker.bootstrap()).map(Arc::new) else {
            return failure;
        };
        self.stray(&reader, topic, expected, true)
            .await
            .unwrap_or(failure)
    }

    /// The failure naming the groups other than `expected` that own partitions of `topic`
    /// now (or, if `committed`, have committed on it), if there are any.
    async fn stray(
        &self,
        reader: &Arc<GroupReader>,
        topic: &str,
        expected: &[&str],
        committed: bool,
    ) -> Option<Failure> {
        let found = {
            let (reader, topic) = (reader.clone(), topic.to_string());
            tokio::task::spawn_blocking(move || {
                if committed {
                    reader.groups_on(&topic)
                } else {
                    reader.groups_owning(&topic)
                }
            })
            .await
        };
        let strays: Vec<String> = found
            .ok()?
            .ok()?
            .into_iter()
            .filter(|g| !expected.contains(&g.as_str()))
            .collect();
        if strays.is_empty() {
            return None;
        }
        Some(
            self.fail(format!(
                "a consumer joined group {} on this run's topic, not the group it was given \
                 ({}): read from the broker (ListGroups, DescribeGroups)",
                strays.join(", "),
                expected.join(" or ")
            ))
            .detail(
                "Join the group the program is given (its argument, or KAFKA_GROUP_ID through \
                 lab_contract::group_id), not one of your own naming.",
            ),
        )
    }

    /// Waits until the broker shows `group` Stable with partitions of `topic` assigned: the
    /// group a program without assignment lines has formed. Fails after `ceiling`, saying
    /// what the broker showed last.
    pub async fn wait_joined(
        &self,
        who: &str,
        group: &str,
        topic: &str,
        ceiling: Duration,
    ) -> Result<(), Failure> {
        let deadline = Instant::now() + ceiling;
        let mut last = String::from("nothing");
        self.watch_group(group, |seen| {
            if let Err(failure) = self.check_health() {
                return Some(Err(failure));
            }
            if let Some(seen) = seen {
                let holds = seen
                    .members
                    .iter()
                    .flat_map(|m| &m.owned)
                    .any(|(t, _)| t == topic);
                if seen.state == "Stable" && holds {
                    return Some(Ok(()));
                }
                last = format!(
                    "group {group} {} with {} member(s)",
                    seen.state,
                    seen.members.len()
                );
            }
            (Instant::now() >= deadline).then(|| {
                Err(self
                    .fail(format!(
                        "{who} did not join group {group} on {topic} within {:.0} s: the broker showed {last}",
                        ceiling.as_secs_f64()
                    ))
                    .detail(
                        "Take the group and topic from KAFKA_GROUP_ID and KAFKA_TOPIC \
                         (lab_contract::group_id, lab_contract::topic), subscribe, and poll with recv().",
                    ))
            })
        })
        .await
        .unwrap_or_else(|e| Err(self.fail(format!("the checker could not read groups: {e:#}"))))
    }
}
