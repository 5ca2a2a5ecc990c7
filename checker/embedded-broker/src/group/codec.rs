//! The group APIs on the wire, at every version Apache Kafka 4.x serves: Kafka's messages
//! (the `kafka-protocol` crate, generated from Kafka's own JSON schemas) to and from the
//! coordinator's own types in `messages.rs`.
//!
//! What a version changes in meaning, not only in layout, is settled here: a JoinGroup v0
//! has no rebalance timeout, v4+ must be given a member id first (KIP-394), a DescribeGroups
//! v6 of an unknown group is an error (KIP-1043), an OffsetFetch v8+ asks for several groups.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup as WireListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    ApiKey, DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest,
    DescribeGroupsResponse, GroupId, HeartbeatRequest as WireHeartbeat, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, ListGroupsRequest,
    ListGroupsResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
    OffsetFetchResponse, RequestHeader, ResponseHeader, SyncGroupRequest, SyncGroupResponse,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};

use super::messages::*;

/// The group APIs the coordinator answers, with the versions it speaks: those Apache Kafka
/// 4.3.1 announces (measured with `kafka-broker-api-versions`), except OffsetCommit v10 and
/// OffsetFetch v10 (Kafka 4.1+, topics named by id), which `kafka-protocol` 0.18 does not
/// have; Kafka 4.0 serves the same ranges as here.
pub const SUPPORTED: [(i16, i16, i16); 9] = [
    range::<OffsetCommitRequest>(ApiKey::OffsetCommit),
    range::<OffsetFetchRequest>(ApiKey::OffsetFetch),
    range::<JoinGroupRequest>(ApiKey::JoinGroup),
    range::<WireHeartbeat>(ApiKey::Heartbeat),
    range::<LeaveGroupRequest>(ApiKey::LeaveGroup),
    range::<SyncGroupRequest>(ApiKey::SyncGroup),
    range::<DescribeGroupsRequest>(ApiKey::DescribeGroups),
    range::<ListGroupsRequest>(ApiKey::ListGroups),
    range::<DeleteGroupsRequest>(ApiKey::DeleteGroups),
];

const fn range<M: Message>(key: ApiKey) -> (i16, i16, i16) {
    (key as i16, M::VERSIONS.min, M::VERSIONS.max)
}

/// A group request, read.
#[derive(Debug, Clone)]
pub enum Request {
    /// JoinGroup.
    Join(JoinRequest),
    /// SyncGroup.
    Sync(SyncRequest),
    /// Heartbeat.
    Heartbeat(HeartbeatRequest),
    /// LeaveGroup.
    Leave(LeaveRequest),
    /// OffsetCommit.
    Commit(CommitRequest),
    /// OffsetFetch: one group before v8, any number after.
    Fetch(Vec<FetchRequest>),
    /// DescribeGroups: the group ids.
    Describe(Vec<String>),
    /// ListGroups: the states (v4+) and types (v5+) asked for; empty lists ask for all.
    List {
        /// Group states, any case.
        states: Vec<String>,
        /// Group types (`classic`, `consumer`), any case.
        types: Vec<String>,
    },
    /// DeleteGroups: the group ids.
    Delete(Vec<String>),
}

impl Request {
    /// The groups the request is about (only OffsetCommit's and OffsetFetch's are needed).
    pub fn group_ids(&self) -> Vec<&str> {
        match self {
            Request::Commit(commit) => vec![commit.group_id.as_str()],
            Request::Fetch(fetches) => fetches.iter().map(|f| f.group_id.as_str()).collect(),
            _ => Vec::new(),
        }
    }
}

/// What an answer's frame needs of its request.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    /// The API.
    pub api_key: ApiKey,
    /// Its version.
    pub version: i16,
    /// Echoed in the answer.
    pub correlation_id: i32,
}

/// A group request frame, read.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Its header.
    pub header: Header,
    /// The request.
    pub request: Request,
}

/// The coordinator's answer to a [`Request`] of the same kind.
#[derive(Debug, Clone)]
pub enum Response {
    /// JoinGroup.
    Join(JoinResponse),
    /// SyncGroup.
    Sync(SyncResponse),
    /// Heartbeat: its error code.
    Heartbeat(i16),
    /// LeaveGroup.
    Leave(LeaveResponse),
    /// OffsetCommit.
    Commit(CommitResponse),
    /// OffsetFetch, per group asked: its id, its error code and its offsets.
    Fetch(Vec<(String, i16, FetchResponse)>),
    /// DescribeGroups.
    Describe(Vec<GroupDescription>),
    /// ListGroups: the groups that match the filters.
    List(Vec<ListedGroup>),
    /// DeleteGroups: an error code per group.
    Delete(Vec<(String, i16)>),
}

fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

fn owned(value: &StrBytes) -> String {
    value.as_str().to_string()
}

fn owned_option(value: &Option<StrBytes>) -> Option<String> {
    value.as_ref().map(owned)
}

/// Reads a request frame (header and body) of one of the [`SUPPORTED`] APIs and versions;
/// `None` for any other, or for one that does not parse.
pub fn decode(frame: &[u8]) -> Option<Decoded> {
    let api_key = ApiKey::try_from(i16::from_be_bytes([*frame.first()?, *frame.get(1)?])).ok()?;
    let version = i16::from_be_bytes([*frame.get(2)?, *frame.get(3)?]);
    if !serves(api_key as i16, version) {
        return None;
    }
    let mut buf = Bytes::copy_from_slice(frame);
    let header = RequestHeader::decode(&mut buf, api_key.request_header_version(version)).ok()?;
    let request = decode_body(api_key, version, &mut buf).ok()?;
    Some(Decoded {
        header: Header {
            api_key,
            version,
            correlation_id: header.correlation_id,
        },
        request,
    })
}

/// Whether the coordinator serves this API at this version.
pub fn serves(api_key: i16, version: i16) -> bool {
    SUPPORTED
        .iter()
        .any(|(key, min, max)| *key == api_key && (*min..=*max).contains(&version))
}

fn decode_body(api_key: ApiKey, version: i16, buf: &mut Bytes) -> anyhow::Result<Request> {
    Ok(match api_key {
        ApiKey::JoinGroup => {
            let r = JoinGroupRequest::decode(buf, version)?;
            Request::Join(JoinRequest {
                group_id: owned(&r.group_id),
                session_timeout_ms: r.session_timeout_ms,
                // v0 has no rebalance timeout: the session timeout is used (Kafka does too).
                rebalance_timeout_ms: if version == 0 {
                    r.session_timeout_ms
                } else {
                    r.rebalance_timeout_ms
                },
                member_id: owned(&r.member_id),
                instance_id: owned_option(&r.group_instance_id),
                protocol_type: owned(&r.protocol_type),
                protocols: r
                    .protocols
                    .iter()
                    .map(|p| (owned(&p.name), p.metadata.to_vec()))
                    .collect(),
                require_known_member_id: version >= 4,
                supports_skip_assignment: version >= 9,
                reason: owned_option(&r.reason),
            })
        }
        ApiKey::SyncGroup => {
            let r = SyncGroupRequest::decode(buf, version)?;
            Request::Sync(SyncRequest {
                group_id: owned(&r.group_id),
                generation: r.generation_id,
                member_id: owned(&r.member_id),
                instance_id: owned_option(&r.group_instance_id),
                protocol_type: owned_option(&r.protocol_type),
                protocol_name: owned_option(&r.protocol_name),
                assignments: r
                    .assignments
                    .iter()
                    .map(|a| (owned(&a.member_id), a.assignment.to_vec()))
                    .collect(),
            })
        }
        ApiKey::Heartbeat => {
            let r = WireHeartbeat::decode(buf, version)?;
            Request::Heartbeat(HeartbeatRequest {
                group_id: owned(&r.group_id),
                generation: r.generation_id,
                member_id: owned(&r.member_id),
                instance_id: owned_option(&r.group_instance_id),
            })
        }
        ApiKey::LeaveGroup => {
            let r = LeaveGroupRequest::decode(buf, version)?;
            let members = if version >= 3 {
                r.members
                    .iter()
                    .map(|m| {
                        (
                            owned(&m.member_id),
                            owned_option(&m.group_instance_id),
                            owned_option(&m.reason),
                        )
                    })
                    .collect()
            } else {
                vec![(owned(&r.member_id), None, None)]
            };
            Request::Leave(LeaveRequest {
                group_id: owned(&r.group_id),
                members,
            })
        }
        ApiKey::OffsetCommit => {
            let r = OffsetCommitRequest::decode(buf, version)?;
            Request::Commit(CommitRequest {
                group_id: owned(&r.group_id),
                generation: r.generation_id_or_member_epoch,
                member_id: owned(&r.member_id),
                instance_id: owned_option(&r.group_instance_id),
                topics: r
                    .topics
                    .iter()
                    .map(|t| {
                        let partitions = t
                            .partitions
                            .iter()
                            .map(|p| PartitionCommit {
                                partition: p.partition_index,
                                offset: p.committed_offset,
                                leader_epoch: p.committed_leader_epoch,
                                metadata: owned_option(&p.committed_metadata),
                            })
                            .collect();
                        (owned(&t.name), partitions)
                    })
                    .collect(),
            })
        }
        ApiKey::OffsetFetch => {
            let r = OffsetFetchRequest::decode(buf, version)?;
            let fetches = if version >= 8 {
                r.groups
                    .iter()
                    .map(|g| FetchRequest {
                        group_id: owned(&g.group_id),
                        topics: g.topics.as_ref().map(|topics| {
                            topics
                                .iter()
                                .map(|t| (owned(&t.name), t.partition_indexes.clone()))
                                .collect()
                        }),
                    })
                    .collect()
            } else {
                vec![FetchRequest {
                    group_id: owned(&r.group_id),
                    topics: r.topics.as_ref().map(|topics| {
                        topics
                            .iter()
                            .map(|t| (owned(&t.name), t.partition_indexes.clone()))
                            .collect()
                    }),
                }]
            };
            Request::Fetch(fetches)
        }
        ApiKey::DescribeGroups => {
            let r = DescribeGroupsRequest::decode(buf, version)?;
            Request::Describe(r.groups.iter().map(|g| owned(g)).collect())
        }
        ApiKey::ListGroups => {
            let r = ListGroupsRequest::decode(buf, version)?;
            Request::List {
                states: r.states_filter.iter().map(owned).collect(),
                types: r.types_filter.iter().map(owned).collect(),
            }
        }
        ApiKey::DeleteGroups => {
            let r = DeleteGroupsRequest::decode(buf, version)?;
            Request::Delete(r.groups_names.iter().map(|g| owned(g)).collect())
        }
        other => anyhow::bail!("{other:?} is not a group API"),
    })
}

/// Writes the answer frame (header and body) to a request [`decode`] read.
pub fn encode(request: &Header, response: &Response) -> Vec<u8> {
    let version = request.version;
    let mut out = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(request.correlation_id)
        .encode(&mut out, request.api_key.response_header_version(version))
        .expect("a response header always encodes");
    let written = match response {
        Response::Join(join) => join_response(join, version).encode(&mut out, version),
        Response::Sync(sync) => SyncGroupResponse::default()
            .with_error_code(sync.error)
            .with_protocol_type(sync.protocol_type.as_deref().map(text))
            .with_protocol_name(sync.protocol_name.as_deref().map(text))
            .with_assignment(Bytes::copy_from_slice(&sync.assignment))
            .encode(&mut out, version),
        Response::Heartbeat(error) => HeartbeatResponse::default()
            .with_error_code(*error)
            .encode(&mut out, version),
        Response::Leave(leave) => leave_response(leave, version).encode(&mut out, version),
        Response::Commit(commit) => commit_response(commit).encode(&mut out, version),
        Response::Fetch(groups) => fetch_response(groups, version).encode(&mut out, version),
        Response::Describe(groups) => {
            describe_response(groups, version).encode(&mut out, version)
        }
        Response::List(groups) => ListGroupsResponse::default()
            .with_groups(
                groups
                    .iter()
                    .map(|g| {
                        WireListedGroup::default()
                            .with_group_id(GroupId(text(&g.group_id)))
                            .with_protocol_type(text(&g.protocol_type))
                            .with_group_state(text(&g.state))
                            .with_group_type(text("classic"))
                    })
                    .collect(),
            )
            .encode(&mut out, version),
        Response::Delete(results) => DeleteGroupsResponse::default()
            .with_results(
                results
                    .iter()
                    .map(|(group_id, error)| {
                        kafka_protocol::messages::delete_groups_response::DeletableGroupResult::default()
                            .with_group_id(GroupId(text(group_id)))
                            .with_error_code(*error)
                    })
                    .collect(),
            )
            .encode(&mut out, version),
    };
    // Every field set here exists at the version asked (the tests encode each version).
    written.expect("a group response encodes at the version it was asked at");
    out.to_vec()
}

fn join_response(join: &JoinResponse, version: i16) -> JoinGroupResponse {
    // Before v7 the assignor's name is not nullable: Kafka sends "" (JoinGroupResponse).
    let protocol_name = match &join.protocol_name {
        None if version < 7 => Some(StrBytes::default()),
        name => name.as_deref().map(text),
    };
    JoinGroupResponse::default()
        .with_error_code(join.error)
        .with_generation_id(join.generation)
        .with_protocol_type(join.protocol_type.as_deref().map(text))
        .with_protocol_name(protocol_name)
        .with_leader(text(&join.leader))
        .with_skip_assignment(join.skip_assignment)
        .with_member_id(text(&join.member_id))
        .with_members(
            join.members
                .iter()
                .map(|m| {
                    JoinGroupResponseMember::default()
                        .with_member_id(text(&m.member_id))
                        .with_group_instance_id(m.instance_id.as_deref().map(text))
                        .with_metadata(Bytes::copy_from_slice(&m.metadata))
                })
                .collect(),
        )
}

fn leave_response(leave: &LeaveResponse, version: i16) -> LeaveGroupResponse {
    if version >= 3 {
        return LeaveGroupResponse::default()
            .with_error_code(leave.error)
            .with_members(
                leave
                    .members
                    .iter()
                    .map(|(member_id, instance_id, error)| {
                        MemberResponse::default()
                            .with_member_id(text(member_id))
                            .with_group_instance_id(instance_id.as_deref().map(text))
                            .with_error_code(*error)
                    })
                    .collect(),
            );
    }
    // One member before v3: its error is the request's.
    let member_error = leave.members.first().map_or(0, |(_, _, e)| *e);
    let error = if leave.error != 0 {
        leave.error
    } else {
        member_error
    };
    LeaveGroupResponse::default().with_error_code(error)
}

fn commit_response(commit: &CommitResponse) -> OffsetCommitResponse {
    OffsetCommitResponse::default().with_topics(
        commit
            .iter()
            .map(|(topic, partitions)| {
                OffsetCommitResponseTopic::default()
                    .with_name(TopicName(text(topic)))
                    .with_partitions(
                        partitions
                            .iter()
                            .map(|(partition, error)| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(*partition)
                                    .with_error_code(*error)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

fn fetch_response(groups: &[(String, i16, FetchResponse)], version: i16) -> OffsetFetchResponse {
    if version >= 8 {
        return OffsetFetchResponse::default().with_groups(
            groups
                .iter()
                .map(|(group_id, error, topics)| {
                    OffsetFetchResponseGroup::default()
                        .with_group_id(GroupId(text(group_id)))
                        .with_error_code(*error)
                        .with_topics(
                            topics
                                .iter()
                                .map(|(topic, partitions)| {
                                    OffsetFetchResponseTopics::default()
                                        .with_name(TopicName(text(topic)))
                                        .with_partitions(
                                            partitions
                                                .iter()
                                                .map(|p| {
                                                    OffsetFetchResponsePartitions::default()
                                                        .with_partition_index(p.partition)
                                                        .with_committed_offset(p.offset)
                                                        .with_committed_leader_epoch(p.leader_epoch)
                                                        .with_metadata(
                                                            p.metadata.as_deref().map(text),
                                                        )
                                                })
                                                .collect(),
                                        )
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
    }
    let Some((_, error, topics)) = groups.first() else {
        return OffsetFetchResponse::default();
    };
    OffsetFetchResponse::default()
        .with_error_code(*error)
        .with_topics(
            topics
                .iter()
                .map(|(topic, partitions)| {
                    OffsetFetchResponseTopic::default()
                        .with_name(TopicName(text(topic)))
                        .with_partitions(
                            partitions
                                .iter()
                                .map(|p| {
                                    OffsetFetchResponsePartition::default()
                                        .with_partition_index(p.partition)
                                        .with_committed_offset(p.offset)
                                        .with_committed_leader_epoch(p.leader_epoch)
                                        .with_metadata(p.metadata.as_deref().map(text))
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
}

fn describe_response(groups: &[GroupDescription], version: i16) -> DescribeGroupsResponse {
    DescribeGroupsResponse::default().with_groups(
        groups
            .iter()
            .map(|g| {
                // v6+: an unknown group is an error, not a Dead group (KIP-1043); measured
                // on Kafka 4.3.1: GROUP_ID_NOT_FOUND, "Group <id> not found.", state Dead.
                let unknown = version >= 6 && g.error == 0 && g.state == "Dead";
                let (error, message) = if unknown {
                    (
                        error::GROUP_ID_NOT_FOUND,
                        Some(text(&format!("Group {} not found.", g.group_id))),
                    )
                } else {
                    (g.error, None)
                };
                DescribedGroup::default()
                    .with_error_code(error)
                    .with_error_message(message)
                    .with_group_id(GroupId(text(&g.group_id)))
                    .with_group_state(text(&g.state))
                    .with_protocol_type(text(&g.protocol_type))
                    .with_protocol_data(text(&g.protocol))
                    // Not asked for, not computed (Kafka's "omitted" value).
                    .with_authorized_operations(i32::MIN)
                    .with_members(
                        g.members
                            .iter()
                            .map(|m| {
                                DescribedGroupMember::default()
                                    .with_member_id(text(&m.member_id))
                                    .with_group_instance_id(m.instance_id.as_deref().map(text))
                                    .with_client_id(text(&m.client_id))
                                    .with_client_host(text(&m.client_host))
                                    .with_member_metadata(Bytes::copy_from_slice(&m.metadata))
                                    .with_member_assignment(Bytes::copy_from_slice(&m.assignment))
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
    use kafka_protocol::protocol::{HeaderVersion, Request as WireRequest};

    fn frame<R: WireRequest>(request: &R, version: i16) -> Vec<u8> {
        let mut out = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(7)
            .with_client_id(Some(text("test")))
            .encode(&mut out, R::header_version(version))
            .unwrap();
        request.encode(&mut out, version).unwrap();
        out.to_vec()
    }

    fn answer<R: WireRequest>(decoded: &Decoded, response: &Response) -> R::Response {
        let version = decoded.header.version;
        let mut bytes = Bytes::from(encode(&decoded.header, response));
        let header = ResponseHeader::decode(
            &mut bytes,
            <R::Response as HeaderVersion>::header_version(version),
        )
        .unwrap();
        assert_eq!(header.correlation_id, 7);
        let answer = R::Response::decode(&mut bytes, version).unwrap();
        assert!(bytes.is_empty(), "bytes left after the answer");
        answer
    }

    #[test]
    fn joins_are_read_and_answered_at_every_version() {
        let request = JoinGroupRequest::default()
            .with_group_id(GroupId(text("g")))
            .with_session_timeout_ms(6000)
            .with_rebalance_timeout_ms(9000)
            .with_protocol_type(text("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(text("range"))
                .with_metadata(Bytes::from_static(b"meta"))]);
        for version in 0..=9 {
            let decoded = decode(&frame(&request, version)).unwrap();
            let Request::Join(join) = &decoded.request else {
                panic!("v{version}: not a join");
            };
            assert_eq!(
                join.rebalance_timeout_ms,
                if version == 0 { 6000 } else { 9000 }
            );
            assert_eq!(join.require_known_member_id, version >= 4);
            assert_eq!(join.protocols, vec![("range".into(), b"meta".to_vec())]);
            let mut response = JoinResponse::error(error::MEMBER_ID_REQUIRED, "m-1");
            let wire = answer::<JoinGroupRequest>(&decoded, &Response::Join(response.clone()));
            // Kafka's answer before v7 has "" for a null assignor name.
            let expected_name = (version < 7).then(StrBytes::default);
            assert_eq!(wire.protocol_name, expected_name, "v{version}");
            response.error = 0;
            response.protocol_type = Some("consumer".into());
            response.protocol_name = Some("range".into());
            response.members = vec![JoinedMember {
                member_id: "m-1".into(),
                instance_id: Some("i-1".into()),
                metadata: b"meta".to_vec(),
            }];
            let wire = answer::<JoinGroupRequest>(&decoded, &Response::Join(response));
            assert_eq!(wire.protocol_name.as_deref(), Some("range"));
            assert_eq!(wire.protocol_type.is_some(), version >= 7);
            assert_eq!(wire.members[0].group_instance_id.is_some(), version >= 5);
        }
    }

    #[test]
    fn every_api_answers_at_every_version_it_announces() {
        let description = GroupDescription {
            error: 0,
            group_id: "g".into(),
            state: "Dead".into(),
            protocol_type: String::new(),
            protocol: String::new(),
            members: vec![MemberDescription {
                member_id: "m".into(),
                instance_id: Some("i".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                metadata: vec![1],
                assignment: vec![2],
            }],
        };
        let fetched = vec![(
            "t".to_string(),
            vec![FetchedOffset {
                partition: 0,
                offset: 5,
                leader_epoch: -1,
                metadata: Some(String::new()),
            }],
        )];
        for (key, min, max) in SUPPORTED {
            for version in min..=max {
                let key = ApiKey::try_from(key).unwrap();
                let header = Header {
                    api_key: key,
                    version,
                    correlation_id: 7,
                };
                let response = match key {
                    ApiKey::JoinGroup => Response::Join(JoinResponse::error(0, "m")),
                    ApiKey::SyncGroup => Response::Sync(SyncResponse::error(0)),
                    ApiKey::Heartbeat => Response::Heartbeat(0),
                    ApiKey::LeaveGroup => Response::Leave(LeaveResponse {
                        error: 0,
                        members: vec![("m".into(), None, 0)],
                    }),
                    ApiKey::OffsetCommit => Response::Commit(vec![("t".into(), vec![(0, 0)])]),
                    ApiKey::OffsetFetch => Response::Fetch(vec![("g".into(), 0, fetched.clone())]),
                    ApiKey::DescribeGroups => Response::Describe(vec![description.clone()]),
                    ApiKey::ListGroups => Response::List(vec![ListedGroup {
                        group_id: "g".into(),
                        protocol_type: "consumer".into(),
                        state: "Stable".into(),
                    }]),
                    ApiKey::DeleteGroups => Response::Delete(vec![("g".into(), 0)]),
                    other => panic!("{other:?} is not a group API"),
                };
                // Panics if a field is set that the version lacks.
                let bytes = encode(&header, &response);
                assert!(bytes.len() > 4, "{key:?} v{version}");
            }
        }
    }

    #[test]
    fn an_unknown_group_is_an_error_from_describe_groups_v6() {
        let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(text("gone"))]);
        let dead = GroupDescription {
            error: 0,
            group_id: "gone".into(),
            state: "Dead".into(),
            protocol_type: String::new(),
            protocol: String::new(),
            members: Vec::new(),
        };
        for (version, error) in [(5, 0), (6, error::GROUP_ID_NOT_FOUND)] {
            let decoded = decode(&frame(&request, version)).unwrap();
            let wire =
                answer::<DescribeGroupsRequest>(&decoded, &Response::Describe(vec![dead.clone()]));
            assert_eq!(wire.groups[0].error_code, error, "v{version}");
            assert_eq!(wire.groups[0].group_state.as_str(), "Dead");
        }
    }

    #[test]
    fn an_offset_fetch_of_several_groups_is_read_from_v8() {
        let request = OffsetFetchRequest::default().with_groups(vec![
            OffsetFetchRequestGroup::default().with_group_id(GroupId(text("a"))),
            OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(text("b")))
                .with_topics(None),
        ]);
        let decoded = decode(&frame(&request, 8)).unwrap();
        let Request::Fetch(fetches) = &decoded.request else {
            panic!("not a fetch");
        };
        assert_eq!(decoded.request.group_ids(), vec!["a", "b"]);
        assert_eq!(fetches[0].topics, Some(Vec::new()));
        assert_eq!(fetches[1].topics, None);
    }

    #[test]
    fn versions_it_does_not_serve_are_left_to_the_mock() {
        let request = OffsetCommitRequest::default().with_group_id(GroupId(text("g")));
        let mut frame = frame(&request, 2);
        frame[2..4].copy_from_slice(&1i16.to_be_bytes());
        assert!(
            decode(&frame).is_none(),
            "OffsetCommit v1 (Kafka 4 serves v2+)"
        );
        assert!(decode(&[0, 3, 0, 12]).is_none(), "Metadata");
    }
}
