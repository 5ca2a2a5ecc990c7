//! The embedded broker's front door: a TCP server that passes each client connection
//! through to the mock cluster, except for the requests answered here (the group APIs,
//! CreateTopics, DeleteTopics and DeleteRecords) and completing the answers it cannot give
//! (ListOffsets by timestamp, and ListOffsets and Fetch where DeleteRecords moved a log
//! start), and keeps the answers in request order.
//!
//! Kafka answers the requests of one connection in the order they were sent, and clients
//! rely on it (aiokafka checks each answer's correlation id against the oldest request).
//! So every request gets a slot in a queue when it is read, and the writer sends the slots
//! in order, each as soon as its answer is ready, whether it comes from the mock or from
//! the coordinator (a JoinGroup's answer may take the whole rebalance).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use crate::api_versions::{self, API_VERSIONS};
use crate::fetch_wait;
use crate::group::codec::SUPPORTED as GROUP_APIS;
use crate::group::messages::Client;
use crate::group::{Coordinator, Route};
use crate::kip848_offsets;
use crate::list_offsets::{self, ByTimestamp, LIST_OFFSETS};
use crate::log_start::{self, Fetched, DELETE_RECORDS};
use crate::topic_admin::{self, Topics, CREATE_TOPICS, DELETE_TOPICS};
use crate::wire::{read_frame, write_frame, Reader, RequestHeader};

const PRODUCE: i16 = 0;
const METADATA: i16 = 3;
const CONSUMER_GROUP_HEARTBEAT: i16 = 68;

/// What every connection shares.
pub struct Shared {
    /// Where the mock cluster listens.
    pub upstream: SocketAddr,
    /// The group coordinator.
    pub coordinator: Arc<Coordinator>,
    /// The topics and the mock that holds them.
    pub topics: Topics,
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((client, peer)) = listener.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            if let Ok(upstream) = TcpStream::connect(shared.upstream).await {
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                connection(client, peer, upstream, shared).await;
            }
        });
    }
}

/// How a mock answer is changed on its way back.
enum Rewrite {
    None,
    ApiVersions(i16),
    Metadata(i16),
    ListOffsets(ByTimestamp),
    OffsetFetch(kip848_offsets::Asked),
    Fetch(Fetched),
}

/// Serves one client connection until either side closes it.
async fn connection(client: TcpStream, peer: SocketAddr, upstream: TcpStream, shared: Arc<Shared>) {
    let (mut client_in, mut client_out) = client.into_split();
    let (mut upstream_in, mut upstream_out) = upstream.into_split();
    // The answers' slots, in request order.
    let (slots, mut ordered) = mpsc::unbounded_channel::<oneshot::Receiver<Vec<u8>>>();
    // Slots waiting for the mock's answers, in the order the mock answers.
    let upstream_slots: Mutex<VecDeque<(oneshot::Sender<Vec<u8>>, Rewrite)>> =
        Mutex::new(VecDeque::new());
    let host = format!("/{}", peer.ip());
    let log_starts = &shared.topics.log_starts;

    let requests = async {
        while let Ok(Some(mut frame)) = read_frame(&mut client_in).await {
            let Some(header) = RequestHeader::parse(&frame) else {
                return;
            };
            fetch_wait::cap(&header, &mut frame);
            let body = &frame[header.body.min(frame.len())..];
            let (slot, answer) = oneshot::channel();
            if header.api_key == CREATE_TOPICS || header.api_key == DELETE_TOPICS {
                let _ = slots.send(answer);
                let shared = shared.clone();
                let body = body.to_vec();
                tokio::task::spawn_blocking(move || {
                    if let Some(response) = topic_admin::answer(&header, &body, &shared.topics) {
                        let _ = slot.send(response);
                    }
                });
                continue;
            }
            if header.api_key == DELETE_RECORDS {
                let _ = slots.send(answer);
                let shared = shared.clone();
                let frame = frame.clone();
                tokio::spawn(async move {
                    let answer = log_start::delete_records(
                        &header,
                        &frame,
                        shared.upstream,
                        &shared.topics.log_starts,
                    );
                    if let Some(response) = answer.await {
                        let _ = slot.send(response);
                    }
                });
                continue;
            }
            let (decoded, mock_offsets) = match shared.coordinator.route(&frame) {
                Route::Coordinator(decoded) => (Some(decoded), None),
                Route::Unreadable => return, // Kafka closes the connection
                Route::Mock => (None, None),
                Route::MockOffsets(decoded) => (None, Some(decoded)),
            };
            if let Some(decoded) = decoded {
                let _ = slots.send(answer);
                let coordinator = shared.coordinator.clone();
                let client = Client {
                    id: header.client_id.clone(),
                    host: host.clone(),
                };
                tokio::spawn(async move {
                    let _ = slot.send(coordinator.handle(*decoded, &client).await);
                });
            } else {
                if header.api_key == CONSUMER_GROUP_HEARTBEAT {
                    if let Some(group) = consumer_group_heartbeat_group(&header, &frame) {
                        shared.coordinator.note_consumer_protocol_group(&group);
                    }
                }
                if api_versions::is_flexible(&header) {
                    frame = api_versions::downgrade_request(&header);
                }
                if !expects_no_answer(&header, &frame) {
                    let kip848_fetch = mock_offsets
                        .and_then(|decoded| kip848_offsets::downgrade(&decoded, &header.client_id));
                    let rewrite = match (header.api_key, kip848_fetch) {
                        (_, Some((asked_frame, asked))) => {
                            frame = asked_frame;
                            Rewrite::OffsetFetch(asked)
                        }
                        (API_VERSIONS, None) => Rewrite::ApiVersions(header.api_version),
                        (METADATA, None) => Rewrite::Metadata(header.api_version),
                        (LIST_OFFSETS, None) => {
                            list_offsets::by_timestamp(&header, &mut frame, log_starts)
                                .map_or(Rewrite::None, Rewrite::ListOffsets)
                        }
                        (fetch_wait::FETCH, None) => {
                            log_start::fetched(&header, &frame, log_starts)
                                .map_or(Rewrite::None, Rewrite::Fetch)
                        }
                        _ => Rewrite::None,
                    };
                    upstream_slots
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push_back((slot, rewrite));
                    let _ = slots.send(answer);
                }
                if write_frame(&mut upstream_out, &frame).await.is_err() {
                    return;
                }
            }
        }
    };
    let responses = async {
        while let Ok(Some(mut frame)) = read_frame(&mut upstream_in).await {
            let Some((slot, rewrite)) = upstream_slots
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front()
            else {
                return; // an answer nobody asked for: the stream is out of step
            };
            match rewrite {
                Rewrite::ApiVersions(version) => {
                    let ranges: Vec<(i16, i16, i16)> = GROUP_APIS
                        .iter()
                        .chain(topic_admin::SUPPORTED.iter())
                        .chain(
                            [
                                list_offsets::SUPPORTED,
                                api_versions::SUPPORTED,
                                log_start::SUPPORTED,
                            ]
                            .iter(),
                        )
                        .copied()
                        .collect();
                    frame = api_versions::answer(frame, version, &ranges);
                }
                Rewrite::Metadata(version) => {
                    topic_admin::name_controller(&mut frame, version);
                    frame = topic_admin::reencode_flexible_metadata(frame, version);
                }
                Rewrite::OffsetFetch(asked) => frame = kip848_offsets::upgrade(frame, &asked),
                Rewrite::Fetch(fetched) => {
                    frame = log_start::fetch_answer(frame, &fetched, log_starts)
                }
                Rewrite::ListOffsets(query) => {
                    // The search reads the mock on a connection of its own; the answers
                    // behind this one are not held up, and the writer keeps their order.
                    let upstream = shared.upstream;
                    tokio::spawn(async move {
                        let _ = slot.send(list_offsets::answer(frame, &query, upstream).await);
                    });
                    continue;
                }
                Rewrite::None => {}
            }
            let _ = slot.send(frame);
        }
    };
    let writer = async {
        while let Some(answer) = ordered.recv().await {
            let Ok(frame) = answer.await else {
                return;
            };
            if write_frame(&mut client_out, &frame).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = requests => {}
        _ = responses => {}
        _ = writer => {}
    }
}

/// A Produce request with `acks=0` gets no answer from a broker.
fn expects_no_answer(header: &RequestHeader, frame: &[u8]) -> bool {
    if header.api_key != PRODUCE {
        return false;
    }
    let acks = || -> Option<i16> {
        let flexible = header.api_version >= 9;
        let start = if flexible {
            header.flexible_body(frame)?
        } else {
            header.body
        };
        let mut reader = Reader::new(frame.get(start..)?);
        if header.api_version >= 3 {
            reader.any_string(flexible)?; // transactional id
        }
        reader.i16()
    };
    acks() == Some(0)
}

/// The group id of a ConsumerGroupHeartbeat (always flexible).
fn consumer_group_heartbeat_group(header: &RequestHeader, frame: &[u8]) -> Option<String> {
    let start = header.flexible_body(frame)?;
    Reader::new(frame.get(start..)?).compact_nullable_string()?
}
