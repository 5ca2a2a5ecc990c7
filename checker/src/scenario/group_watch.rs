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
    /// Resolves with `contradicts`'s failure once the broker has shown `group` Stable,
    /// with the same members, for `grace`, and `contradicts` finds the programs' output at
    /// odds with it. Never resolves otherwise: it is raced against the wait it shortens.
    pub async fn contradiction(
        &self,
        group: &str,
        grace: Duration,
        mut contradicts: impl FnMut(&Run<'_>, &Membership) -> Option<Failure>,
    ) -> Failure {
        let Ok(reader) = GroupReader::new(self.broker.bootstrap()) else {
            // No evidence to be had: the wait runs to its own end.
            return pending().await;
        };
        let reader = Arc::new(reader);
        let mut stable: Option<(Instant, BTreeSet<String>)> = None;
        loop {
            tokio::time::sleep(POLL).await;
            let Ok(membership) = reader.read(group).await else {
                stable = None;
                continue;
            };
            if membership.state != "Stable" {
                stable = None;
                continue;
            }
            let members: BTreeSet<String> =
                membership.members.iter().map(|m| m.id.clone()).collect();
            let since = match &stable {
                Some((since, same)) if *same == members => *since,
                _ => {
                    stable = Some((Instant::now(), members));
                    continue;
                }
            };
            if since.elapsed() >= grace {
                if let Some(failure) = contradicts(self, &membership) {
                    return failure;
                }
            }
        }
    }
}
