//! What the broker holds, read back by a scenario: the records of a topic and the offsets a
//! group committed. The checker never trusts a lab's stdout alone, and a broker that cannot
//! be read is the checker's trouble, reported as such, in one wording.

use std::collections::BTreeMap;

use super::lines::Fields;
use super::{Failure, ProcessId, Run};
use crate::broker::records::{Outgoing, Stored};

impl Run<'_> {
    /// Every record in `topic`, in (partition, offset) order.
    pub async fn records(&self, topic: &str) -> Result<Vec<Stored>, Failure> {
        self.broker
            .records(topic)
            .await
            .map_err(|e| self.fail(format!("the checker could not read {topic} back: {e:#}")))
    }

    /// Writes `records` to `topic` as the checker (the lab's input), one after another, and
    /// returns where each landed.
    pub async fn produce(&self, topic: &str, records: &[Outgoing]) -> Result<Vec<Stored>, Failure> {
        self.broker
            .produce(topic, records)
            .await
            .map_err(|e| self.fail(format!("the checker could not write to {topic}: {e:#}")))
    }

    /// The offset `group` has committed for each partition of `topic` (`None`: nothing yet).
    pub async fn committed(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<BTreeMap<i32, Option<i64>>, Failure> {
        self.broker
            .committed(group, topic)
            .await
            .map_err(|e| self.offsets_unreadable(e))
    }

    /// The end offset (next offset to be written) of each partition of `topic`.
    pub async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<i32, i64>, Failure> {
        self.broker
            .end_offsets(topic)
            .await
            .map_err(|e| self.offsets_unreadable(e))
    }

    fn offsets_unreadable(&self, error: anyhow::Error) -> Failure {
        self.fail(format!("the checker could not read offsets: {error:#}"))
    }

    /// Fails unless `group` has committed every non-empty partition of `topic` up to its
    /// end: what a consumer read, it must commit, or its successor reads it again. `who`
    /// names the group in the message.
    pub async fn check_committed_to_end(
        &self,
        who: &str,
        group: &str,
        topic: &str,
    ) -> Result<(), Failure> {
        let committed = self.committed(group, topic).await?;
        for (partition, end) in self.end_offsets(topic).await? {
            let done = committed.get(&partition).copied().flatten();
            if end > 0 && done != Some(end) {
                return Err(self
                    .fail(format!(
                        "{who} did not commit partition {partition} up to its end ({end}); it committed {}",
                        done.map_or("nothing".to_string(), |o| o.to_string())
                    ))
                    .detail("Commit before the consumer exits, or the group's next member reads the messages again."));
            }
        }
        Ok(())
    }
}

/// What a program's report lines must be: `<verb> <id> partition=<p> offset=<o>`.
pub struct Reports<'a> {
    /// The verbs it may print (`started`, `processed`).
    pub verbs: &'a [&'a str],
    /// What the id names, for the messages (`payment`, `job`).
    pub noun: &'a str,
    /// Whether assignment lines may stand between them.
    pub assignments: bool,
}

impl Run<'_> {
    /// Every line of process `id` is a report as `reports` says, about one of `records`, at
    /// the partition and offset where the broker stored it.
    pub fn check_reported(
        &self,
        id: ProcessId,
        reports: Reports<'_>,
        records: &[Stored],
    ) -> Result<(), Failure> {
        let label = self.process(id).label();
        for line in self.process(id).lines() {
            if reports.assignments && lab_contract::AssignmentLine::parse(&line).is_some() {
                continue;
            }
            let fields = Fields::parse(&line);
            let payload = match fields.words.as_slice() {
                [verb, payload] if reports.verbs.contains(verb) => *payload,
                _ => {
                    return Err(self.off_contract(
                        Some(label),
                        &line,
                        &format!(
                            "{} <{}> partition=<p> offset=<o>",
                            reports.verbs.join("|"),
                            reports.noun
                        ),
                    ))
                }
            };
            let Some(record) = records.iter().find(|r| r.payload == payload) else {
                return Err(self.fail(format!(
                    "{label} printed `{line}`: the checker wrote no {} {payload}",
                    reports.noun
                )));
            };
            if fields.number("partition") != Some(i64::from(record.partition))
                || fields.number("offset") != Some(record.offset)
            {
                return Err(self.fail(format!(
                    "{label} printed `{line}`, but the broker stored {payload} at partition {} offset {}",
                    record.partition, record.offset
                )));
            }
        }
        Ok(())
    }
}
