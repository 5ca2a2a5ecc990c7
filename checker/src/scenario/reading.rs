//! Waiting for a consumer to read what the topic holds, and saying why when it does not:
//! from what the broker shows (the group's members and assignments, the topic's records,
//! the group's committed offsets), as soon as that is conclusive, not at a timeout.

use std::collections::BTreeMap;
use std::future::pending;
use std::sync::Arc;
use std::time::Duration;

use super::patience::Patience;
use super::{Failure, ProcessId, Run, EVENT_TIMEOUT};
use crate::consumer_group::GroupReader;

/// How long a stalled group is given to commit what it received: librdkafka's default
/// auto.commit.interval.ms (5 s), and a second for the commit to reach the broker.
const AUTO_COMMIT_GRACE: Duration = Duration::from_secs(6);

/// How often the committed offsets are read while waiting for that commit.
const COMMIT_POLL: Duration = Duration::from_millis(250);

/// How long the programs' count of printed lines has stayed the same.
struct Quiet {
    lines: usize,
    since: tokio::time::Instant,
}

impl Quiet {
    fn new(lines: usize) -> Quiet {
        Quiet {
            lines,
            since: tokio::time::Instant::now(),
        }
    }

    /// Notes the count `lines` now, and says how long it has not changed.
    fn after(&mut self, lines: usize) -> Duration {
        if lines != self.lines {
            *self = Quiet::new(lines);
        }
        self.since.elapsed()
    }
}

/// What a waiting consumer is expected to do.
pub struct Reader<'a> {
    /// The consumer process.
    pub id: ProcessId,
    /// The group it should join.
    pub group: &'a str,
    /// The topic it should read.
    pub topic: &'a str,
    /// The lab's waits.
    pub patience: Patience,
}

impl Run<'_> {
    /// Waits for consumer process `reader.id` to read the topic and exit with success.
    ///
    /// Fails early when the broker shows it will not: the group never formed (a wrong group
    /// name), it holds partitions of another topic (a wrong subscription), or it holds the
    /// topic's partitions and has printed nothing new for [`Patience::reading`] while records
    /// wait there (an offset reset to the end, or a loop that does not poll).
    pub async fn wait_reading(&self, reader: Reader<'_>) -> Result<(), Failure> {
        let finished = self.wait_success(reader.id, EVENT_TIMEOUT);
        let stuck = self.stuck_reader(&reader);
        tokio::select! {
            finished = finished => finished,
            failure = stuck => Err(failure),
        }
    }

    /// Resolves with the reason once the broker shows the reader is stuck.
    async fn stuck_reader(&self, reader: &Reader<'_>) -> Failure {
        let Reader {
            id,
            group,
            topic,
            patience,
        } = *reader;
        let label = self.process(id).label().to_string();
        let never_joined = async {
            tokio::time::sleep(patience.formation(1)).await;
            let Ok(group_reader) = GroupReader::new(self.broker.bootstrap()) else {
                return pending().await;
            };
            match Arc::new(group_reader).read(group).await {
                Ok(seen) if seen.members.is_empty() && self.process(id).exit_status().is_none() => {
                    self.fail(format!(
                        "{label} has not joined group {group} on the broker: nobody is a member"
                    ))
                    .detail(
                        "Take the group id from KAFKA_GROUP_ID (lab_contract::group_id): the \
                         checker gives every run a group of its own.",
                    )
                }
                _ => pending().await,
            }
        };
        let mut quiet = Quiet::new(self.process(id).lines().len());
        // Set when the failure is the silence itself, which the broker's records explain.
        let silent_on_topic = std::sync::atomic::AtomicBool::new(false);
        let silent = self.contradiction(group, patience.reading(), |run, seen| {
            let quiet_for = quiet.after(run.process(id).lines().len());
            if quiet_for < patience.reading() || run.process(id).exit_status().is_some() {
                return None;
            }
            let owned: Vec<&(String, i32)> = seen.members.iter().flat_map(|m| &m.owned).collect();
            let others: Vec<&String> = owned
                .iter()
                .map(|(t, _)| t)
                .filter(|t| *t != topic)
                .collect();
            if owned.is_empty() {
                return None;
            }
            if !others.is_empty() && owned.iter().all(|(t, _)| t != topic) {
                return Some(
                    run.fail(format!(
                        "{label} joined group {group} but was assigned partitions of {}, not of {topic}",
                        others[0]
                    ))
                    .detail(
                        "Subscribe to the topic from KAFKA_TOPIC (lab_contract::topic): the \
                         checker gives every run a topic of its own.",
                    ),
                );
            }
            let partitions: Vec<i32> = owned
                .iter()
                .filter(|(t, _)| t == topic)
                .map(|(_, p)| *p)
                .collect();
            silent_on_topic.store(true, std::sync::atomic::Ordering::Relaxed);
            Some(run.fail(format!(
                "{label} holds partitions {partitions:?} of {topic} and has printed nothing for {:.0} s",
                quiet_for.as_secs_f64()
            )))
        });
        tokio::select! {
            failure = never_joined => failure,
            failure = silent => match silent_on_topic.load(std::sync::atomic::Ordering::Relaxed) {
                true => self.with_broker_evidence(failure, reader).await,
                false => failure,
            },
        }
    }

    /// Adds what the broker holds to a stuck reader's failure: the records waiting, what
    /// the group committed, and the likely cause.
    async fn with_broker_evidence(&self, failure: Failure, reader: &Reader<'_>) -> Failure {
        let records = self
            .records(reader.topic)
            .await
            .map(|r| r.len())
            .unwrap_or(0);
        let committed = self
            .committed(reader.group, reader.topic)
            .await
            .unwrap_or_default();
        let any_committed = committed.values().any(Option::is_some);
        let printed = self.process(reader.id).lines().len();
        let failure = failure.detail(format!(
            "the topic holds {records} record(s); the program printed {printed} line(s); the \
             group has {}committed offsets",
            if any_committed { "" } else { "no " }
        ));
        if printed == 0 && !any_committed {
            failure.detail(
                "A new group has no committed offset, so a consumer starts where \
                 auto.offset.reset says: librdkafka's default, `latest`, starts after the \
                 records already there. Set auto.offset.reset to earliest.",
            )
        } else {
            failure.detail(
                "The consumer stopped reading: is its receive loop still polling (recv), or \
                 blocked on something else?",
            )
        }
    }
}

/// A group whose members should handle records the checker wrote after the group formed.
pub struct Handling<'a> {
    /// What the wait is for, as in "waited for <what>".
    pub what: &'a str,
    /// The processes whose printed lines show progress.
    pub ids: &'a [ProcessId],
    /// The group they form.
    pub group: &'a str,
    /// The topic the records wait in.
    pub topic: &'a str,
    /// The lab's waits.
    pub patience: Patience,
}

impl Run<'_> {
    /// Waits until `done` returns a value, like [`Run::wait_for`], while the members of
    /// `handling.group` work through records written after the group formed.
    ///
    /// Fails early, with what the broker holds, once the group has been Stable for
    /// [`Patience::reading`] with the topic's partitions assigned and none of the processes
    /// has printed a line in that time: the members are not receiving, or not printing what
    /// they receive. Where they start does not explain it, since the records came after the
    /// group formed.
    pub async fn wait_handled<T>(
        &self,
        handling: Handling<'_>,
        done: impl FnMut(&Run<'_>) -> Result<Option<T>, Failure>,
    ) -> Result<T, Failure> {
        let Handling {
            what,
            ids,
            group,
            topic,
            patience,
        } = handling;
        let printed =
            |run: &Run<'_>| -> usize { ids.iter().map(|id| run.process(*id).lines().len()).sum() };
        let mut quiet = Quiet::new(printed(self));
        let stalled = self.contradiction(group, patience.reading(), |run, seen| {
            let quiet_for = quiet.after(printed(run));
            let alive = ids
                .iter()
                .any(|id| run.process(*id).exit_status().is_none());
            if quiet_for < patience.reading() || !alive {
                return None;
            }
            let mut held: Vec<i32> = seen
                .members
                .iter()
                .flat_map(|m| &m.owned)
                .filter(|(t, _)| t == topic)
                .map(|(_, p)| *p)
                .collect();
            held.sort_unstable();
            (!held.is_empty()).then(|| {
                run.fail(format!(
                    "waiting for {what}: group {group} holds partitions {held:?} of {topic}, \
                     and nothing has been printed for {:.0} s",
                    quiet_for.as_secs_f64()
                ))
            })
        });
        tokio::select! {
            done = self.wait_for(what, EVENT_TIMEOUT, done) => done,
            failure = stalled => Err(self.with_waiting_records(failure, group, topic).await),
        }
    }

    /// Adds to a stalled group's failure the records waiting and the offsets committed, once
    /// the group has had [`AUTO_COMMIT_GRACE`] to commit what it received.
    async fn with_waiting_records(&self, failure: Failure, group: &str, topic: &str) -> Failure {
        // The checker's topics start at offset 0 and lose nothing: a partition's end offset
        // is the number of records in it.
        let ends = self.end_offsets(topic).await.unwrap_or_default();
        let holding: Vec<(i32, i64)> = ends
            .iter()
            .filter(|(_, end)| **end > 0)
            .map(|(p, end)| (*p, *end))
            .collect();
        // A member that receives without printing still commits, but auto-commit does so only
        // every auto.commit.interval.ms: give it that long to show every record was received
        // before saying they were not.
        let all_committed = |committed: &BTreeMap<i32, Option<i64>>| {
            !holding.is_empty()
                && holding
                    .iter()
                    .all(|(p, end)| committed.get(p).copied().flatten() == Some(*end))
        };
        let deadline = tokio::time::Instant::now() + AUTO_COMMIT_GRACE;
        let committed = loop {
            let committed = self.committed(group, topic).await.unwrap_or_default();
            if all_committed(&committed) || tokio::time::Instant::now() >= deadline {
                break committed;
            }
            tokio::time::sleep(COMMIT_POLL).await;
        };
        let holds = holding
            .iter()
            .map(|(p, n)| format!("partition {p}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let commits = committed
            .iter()
            .filter_map(|(p, o)| o.map(|o| format!("partition {p} at {o}")))
            .collect::<Vec<_>>();
        // A committed offset is the next one to read: at the end, every record was received.
        let all_received = all_committed(&committed);
        let failure = failure.detail(format!(
            "the topic holds records ({holds}); the group has committed {}",
            if commits.is_empty() {
                "nothing".to_string()
            } else {
                commits.join(", ")
            }
        ));
        if all_received {
            failure.detail(
                "The group has committed past every record, so its members received them all, \
                 and printed none: print each one on stdout, in the lab's output format (a line \
                 on stderr does not count).",
            )
        } else {
            failure.detail(
                "The records were written after the group formed, so auto.offset.reset does not \
                 decide where these members start: they are not receiving, or receive without \
                 printing. Is each member's loop calling recv, and printing every message in the \
                 lab's output format?",
            )
        }
    }
}

impl Run<'_> {
    /// Waits until processes `ids` together have printed `received <payload>` for every
    /// record of `records`.
    pub async fn wait_received(
        &self,
        ids: &[ProcessId],
        records: &[crate::broker::records::Stored],
    ) -> Result<(), Failure> {
        self.wait_for("every record to be received", EVENT_TIMEOUT, |run| {
            let got: Vec<String> = ids
                .iter()
                .flat_map(|id| super::lines::payloads(&run.process(*id).lines(), "received"))
                .collect();
            Ok(records
                .iter()
                .all(|r| got.contains(&r.payload))
                .then_some(()))
        })
        .await
    }
}
