//! What the broker holds, read back by a scenario: the records of a topic and the offsets a
//! group committed. The checker never trusts a lab's stdout alone, and a broker that cannot
//! be read is the checker's trouble, reported as such, in one wording.

use std::collections::BTreeMap;

use super::{Failure, Run};
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
