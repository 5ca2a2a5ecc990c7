//! The embedded broker's classic group coordinator, in front of the mock cluster's.
//!
//! `classic.rs` holds a group and its members, `coordinator.rs` the transitions (after
//! Apache Kafka's `GroupMetadataManager`), `messages.rs` the requests and answers they take
//! and give, `codec.rs` those on the wire at every version. This module shares one
//! [`Groups`] between connections and runs its timers.

mod classic;
pub mod codec;
mod coordinator;
pub mod events;
pub mod messages;

use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

pub use classic::{GroupState, Rebalance};
use codec::{Decoded, Request, Response};
pub use coordinator::{Groups, Reply, Settings};
use events::GroupEvent;
use messages::*;
use tokio::sync::broadcast;

/// How often the coordinator's timers are checked: well below any session timeout or
/// heartbeat interval, so a timer fires at most this late.
const TICK: Duration = Duration::from_millis(20);

/// The coordinator shared by every client connection.
pub struct Coordinator {
    groups: Mutex<Groups>,
    /// Groups that use the KIP-848 consumer protocol: the mock cluster serves those, and
    /// their offsets with them.
    consumer_protocol_groups: Mutex<HashSet<String>>,
    /// Where what happens to the groups is told, as it happens.
    events: broadcast::Sender<GroupEvent>,
}

impl Coordinator {
    /// A coordinator with no groups.
    pub fn new(settings: Settings) -> Arc<Coordinator> {
        Arc::new(Coordinator {
            groups: Mutex::new(Groups::new(settings)),
            consumer_protocol_groups: Mutex::new(HashSet::new()),
            events: broadcast::channel(events::BACKLOG).0,
        })
    }

    /// What happens to the groups from now on, as it happens.
    pub fn subscribe(&self) -> broadcast::Receiver<GroupEvent> {
        self.events.subscribe()
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

    fn lock(&self) -> Locked<'_> {
        Locked {
            groups: self
                .groups
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            events: &self.events,
        }
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

    /// Who answers this request frame.
    pub fn route(&self, frame: &[u8]) -> Route {
        let key_and_version = frame.get(..4).map(|b| {
            (
                i16::from_be_bytes([b[0], b[1]]),
                i16::from_be_bytes([b[2], b[3]]),
            )
        });
        let Some((api_key, version)) = key_and_version else {
            return Route::Unreadable;
        };
        if !codec::serves(api_key, version) {
            return Route::Mock;
        }
        let Some(decoded) = codec::decode(frame) else {
            return Route::Unreadable;
        };
        match &decoded.request {
            // The mock keeps a KIP-848 group's offsets; several groups in one OffsetFetch
            // are answered here, each KIP-848 one with an error (see `handle`).
            Request::Commit(_) | Request::Fetch(_) if matches!(decoded.request.group_ids()[..], [group] if self.uses_consumer_protocol(group)) => {
                Route::MockOffsets(Box::new(decoded))
            }
            _ => Route::Coordinator(Box::new(decoded)),
        }
    }

    /// Whether `group_id` uses the consumer protocol, whose groups the mock serves.
    fn uses_consumer_protocol(&self, group_id: &str) -> bool {
        self.consumer_protocol_groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(group_id)
    }

    /// A group as DescribeGroups shows it.
    pub fn describe(&self, group_id: &str) -> GroupDescription {
        self.lock().describe(group_id)
    }

    /// Answers a request [`Coordinator::route`] gave it: the answer's frame.
    pub async fn handle(&self, decoded: Decoded, client: &Client) -> Vec<u8> {
        let now = Instant::now();
        let response = match decoded.request {
            Request::Join(request) => {
                let member_id = request.member_id.clone();
                let reply = self.lock().join(request, client, now);
                Response::Join(
                    settle(reply, || {
                        JoinResponse::error(error::UNKNOWN_MEMBER_ID, &member_id)
                    })
                    .await,
                )
            }
            Request::Sync(request) => {
                let reply = self.lock().sync(request, now);
                Response::Sync(
                    settle(reply, || SyncResponse::error(error::UNKNOWN_MEMBER_ID)).await,
                )
            }
            Request::Heartbeat(request) => Response::Heartbeat(self.lock().heartbeat(request, now)),
            Request::Leave(request) => Response::Leave(self.lock().leave(request, now)),
            Request::Commit(request) => Response::Commit(self.lock().commit(request)),
            Request::Fetch(fetches) => {
                let groups = self.lock();
                Response::Fetch(
                    fetches
                        .iter()
                        .map(|fetch| {
                            let id = fetch.group_id.clone();
                            if self.uses_consumer_protocol(&id) {
                                (id, error::UNSUPPORTED_VERSION, Vec::new())
                            } else {
                                (id, 0, groups.fetch(fetch))
                            }
                        })
                        .collect(),
                )
            }
            Request::Describe(ids) => {
                let groups = self.lock();
                Response::Describe(ids.iter().map(|id| groups.describe(id)).collect())
            }
            Request::List { states, types } => {
                // Kafka compares both filters without regard to case; every group here is
                // a classic one.
                let wanted = |filter: &[String], value: &str| {
                    filter.is_empty() || filter.iter().any(|f| f.eq_ignore_ascii_case(value))
                };
                let listed = self.lock().list();
                Response::List(
                    listed
                        .into_iter()
                        .filter(|g| wanted(&states, &g.state) && wanted(&types, "classic"))
                        .collect(),
                )
            }
            Request::Delete(ids) => Response::Delete(self.lock().delete(ids)),
        };
        codec::encode(&decoded.header, &response)
    }
}

/// The groups, locked. Unlocking publishes what the change did, so that a subscriber who
/// reads a group on hearing of an event sees the change.
struct Locked<'a> {
    groups: MutexGuard<'a, Groups>,
    events: &'a broadcast::Sender<GroupEvent>,
}

impl Deref for Locked<'_> {
    type Target = Groups;
    fn deref(&self) -> &Groups {
        &self.groups
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Groups {
        &mut self.groups
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let taken = self.groups.take_events();
        // Sent while still locked, so events keep the order the changes were made in.
        for event in taken {
            // No subscriber: nobody to tell.
            let _ = self.events.send(event);
        }
    }
}

/// Who answers a request.
pub enum Route {
    /// The coordinator: a group API at a version it serves, read.
    Coordinator(Box<Decoded>),
    /// The mock cluster: every other request.
    Mock,
    /// The mock cluster too: a KIP-848 group's OffsetCommit or OffsetFetch, read (an
    /// OffsetFetch may have to be asked of the mock at an older version).
    MockOffsets(Box<Decoded>),
    /// Nobody: a group request that does not parse. Kafka closes the connection.
    Unreadable,
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
