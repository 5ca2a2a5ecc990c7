//! A group whose members are processes of their own, one consumer each (labs 9, 10 and 11):
//! when, by their assignment lines, they share the topic's partitions between them.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Failure, ProcessId, Run};

impl Run<'_> {
    /// What each of `ids` owns, once together they own every one of `partitions` partitions
    /// exactly once and each owns at least one; `None` before.
    pub fn split(&self, ids: &[ProcessId], partitions: usize) -> Option<Vec<Vec<i32>>> {
        let owned: Vec<Vec<i32>> = ids.iter().map(|id| self.owned(*id)).collect();
        let all: BTreeSet<i32> = owned.iter().flatten().copied().collect();
        let count: usize = owned.iter().map(Vec::len).sum();
        let shared = all.len() == partitions && count == partitions;
        (shared && owned.iter().all(|o| !o.is_empty())).then_some(owned)
    }

    /// What each of `ids` owns now, and how many lines it has printed: where to look from
    /// for what a change of the group made each do.
    pub fn owned_and_printed(&self, ids: &[ProcessId]) -> Vec<(Vec<i32>, usize)> {
        ids.iter()
            .map(|id| (self.owned(*id), self.process(*id).lines().len()))
            .collect()
    }

    /// Waits until `ids` share the `partitions` partitions, as [`Run::split`] says. Fails
    /// after `ceiling`, with `hint` on how members print their assignments.
    pub async fn wait_split(
        &self,
        ids: &[ProcessId],
        partitions: usize,
        ceiling: Duration,
        hint: &str,
    ) -> Result<(), Failure> {
        let labels: Vec<&str> = ids.iter().map(|id| self.process(*id).label()).collect();
        self.wait_for(
            &format!("{} to share the {partitions} partitions", labels.join(", ")),
            ceiling,
            |run| Ok(run.split(ids, partitions).map(|_| ())),
        )
        .await
        .map_err(|failure| failure.detail(hint))
    }
}
