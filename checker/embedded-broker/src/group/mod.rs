//! The embedded broker's classic group coordinator, in front of the mock cluster's.
//!
//! `classic.rs` holds a group and its members, `coordinator.rs` the transitions (after
//! Apache Kafka's `GroupMetadataManager`), `messages.rs` the wire versions. This module
//! shares one [`Groups`] between connections and runs its timers.

mod classic;
mod coordinator;
pub mod messages;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

pub use classic::{GroupState, Rebalance};
pub use coordinator::{Groups, Reply, Settings};
use messages::*;

use crate::wire::{Reader, Writer};

/// How often the coordinator's timers are checked: well below any session timeout or
/// heartbeat interval, so a timer fires at most this late.
const TICK: Duration = Duration::from_millis(20);

/// The coordinator shared by every client connection.
pub struct Coordinator {
    groups: Mutex<Groups>,
    /// Groups that use the KIP-848 consumer protocol: the mock cluster serves those, and
    /// their offsets with them.
    consumer_protocol_groups: Mutex<HashSet<String>>,
}

impl Coordinator {
    /// A coordinator with no groups.
    pub fn new(settings: Settings) -> Arc<Coordinator> {
        Arc::new(Coordinator {
            groups: Mutex::new(Groups::new(settings)),
            consumer_protocol_groups: Mutex::new(HashSet::new()),
        })
    }

    /// Runs the timers on the current tokio runtime until the coordinator is dropped.
    pub fn spawn_timers(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Coordinator> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(coordinator) = weak.upgrade() else {
                    return;
                };
                coordinator.lock().tick(Instant::now());
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Groups> {
        self.groups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets `group.initial.rebalance.delay.ms`.
    pub fn set_initial_rebalance_delay(&self, delay: Duration) {
        self.lock().settings.initial_rebalance_delay = delay;
    }

    /// Every group's completed rebalances (the last few of each), in the order they began.
    pub fn rebalances(&self) -> Vec<Rebalance> {
        self.lock().rebalances()
    }

    /// Notes that `group_id` uses the consumer protocol (a ConsumerGroupHeartbeat named it).
    pub fn note_consumer_protocol_group(&self, group_id: &str) {
        self.consumer_protocol_groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(group_id.to_string());
    }

    /// Whether this request is the coordinator's to answer (the mock answers the rest).
    pub fn answers(&self, api_key: i16, api_version: i16, body: &[u8]) -> bool {
        let Some((_, min, max)) = SUPPORTED.iter().find(|(key, _, _)| *key == api_key) else {
            return false;
        };
        if !(*min..=*max).contains(&api_version) {
            return false;
        }
        if api_key == OFFSET_COMMIT || api_key == OFFSET_FETCH {
            let group = Reader::new(body).string().unwrap_or_default();
            let kip848 = self
                .consumer_protocol_groups
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&group);
            return !kip848;
        }
        true
    }

    /// A group as DescribeGroups shows it.
    pub fn describe(&self, group_id: &str) -> GroupDescription {
        self.lock().describe(group_id)
    }

    /// Answers a request [`Coordinator::answers`] accepted: the response frame, or `None`
    /// for a request it cannot read (the connection is then closed, as Kafka does).
    pub async fn handle(
        &self,
        api_key: i16,
        version: i16,
        correlation_id: i32,
        body: &[u8],
        client: &Client,
    ) -> Option<Vec<u8>> {
        let mut out = Writer::response(correlation_id);
        let now = Instant::now();
        match api_key {
            JOIN_GROUP => {
                let request = read_join(version, body)?;
                let member_id = request.member_id.clone();
                let reply = self.lock().join(request, client, now);
                let response = settle(reply, || {
                    JoinResponse::error(error::UNKNOWN_MEMBER_ID, &member_id)
                })
                .await;
                write_join(version, &response, &mut out);
            }
            SYNC_GROUP => {
                let request = read_sync(version, body)?;
                let reply = self.lock().sync(request, now);
                let response =
                    settle(reply, || SyncResponse::error(error::UNKNOWN_MEMBER_ID)).await;
                write_sync(version, &response, &mut out);
            }
            HEARTBEAT => {
                let request = read_heartbeat(version, body)?;
                let error = self.lock().heartbeat(request, now);
                write_error_only(version, error, &mut out);
            }
            LEAVE_GROUP => {
                let request = read_leave(version, body)?;
                let response = self.lock().leave(request, now);
                write_leave(version, &response, &mut out);
            }
            OFFSET_COMMIT => {
                let request = read_commit(version, body)?;
                let response = self.lock().commit(request);
                write_commit(version, &response, &mut out);
            }
            OFFSET_FETCH => {
                let request = read_fetch(version, body)?;
                let response = self.lock().fetch(&request);
                write_fetch(version, &response, &mut out);
            }
            DESCRIBE_GROUPS => {
                let ids = read_describe(version, body)?;
                let groups = self.lock();
                let described: Vec<GroupDescription> =
                    ids.iter().map(|id| groups.describe(id)).collect();
                drop(groups);
                write_describe(version, &described, &mut out);
            }
            LIST_GROUPS => {
                let groups = self.lock().list();
                write_list(version, &groups, &mut out);
            }
            DELETE_GROUPS => {
                let ids = read_delete(version, body)?;
                let results = self.lock().delete(ids);
                write_delete(version, &results, &mut out);
            }
            _ => return None,
        }
        Some(out.0)
    }
}

/// Waits for a reply that may come later; `gone` answers if its group vanished first.
async fn settle<T>(reply: Reply<T>, gone: impl FnOnce() -> T) -> T {
    match reply {
        Reply::Now(answer) => answer,
        Reply::Later(receiver) => receiver.await.unwrap_or_else(|_| gone()),
    }
}

#[cfg(test)]
mod tests;
