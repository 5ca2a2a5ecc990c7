//! The group APIs' requests and responses, and their non-flexible wire versions.
//!
//! The forwarder announces exactly these version ranges in ApiVersions (see
//! [`SUPPORTED`]), so every client speaks one of them to the coordinator. The schemas are
//! Apache Kafka's `clients/src/main/resources/common/message/*.json`.

use crate::wire::{Reader, Writer};

/// API keys.
pub const OFFSET_COMMIT: i16 = 8;
/// API key of OffsetFetch.
pub const OFFSET_FETCH: i16 = 9;
/// API key of JoinGroup.
pub const JOIN_GROUP: i16 = 11;
/// API key of Heartbeat.
pub const HEARTBEAT: i16 = 12;
/// API key of LeaveGroup.
pub const LEAVE_GROUP: i16 = 13;
/// API key of SyncGroup.
pub const SYNC_GROUP: i16 = 14;
/// API key of DescribeGroups.
pub const DESCRIBE_GROUPS: i16 = 15;
/// API key of ListGroups.
pub const LIST_GROUPS: i16 = 16;
/// API key of DeleteGroups.
pub const DELETE_GROUPS: i16 = 42;

/// The group APIs the coordinator answers, with the versions it speaks: the newest
/// non-flexible version of each.
pub const SUPPORTED: [(i16, i16, i16); 9] = [
    (OFFSET_COMMIT, 0, 7),
    (OFFSET_FETCH, 0, 5),
    (JOIN_GROUP, 0, 5),
    (HEARTBEAT, 0, 3),
    (LEAVE_GROUP, 0, 3),
    (SYNC_GROUP, 0, 3),
    (DESCRIBE_GROUPS, 0, 4),
    (LIST_GROUPS, 0, 2),
    (DELETE_GROUPS, 0, 1),
];

/// Kafka error codes the coordinator answers with.
pub mod error {
    /// ILLEGAL_GENERATION.
    pub const ILLEGAL_GENERATION: i16 = 22;
    /// INCONSISTENT_GROUP_PROTOCOL.
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    /// INVALID_GROUP_ID.
    pub const INVALID_GROUP_ID: i16 = 24;
    /// UNKNOWN_MEMBER_ID.
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    /// INVALID_SESSION_TIMEOUT.
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    /// REBALANCE_IN_PROGRESS.
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    /// NON_EMPTY_GROUP.
    pub const NON_EMPTY_GROUP: i16 = 68;
    /// GROUP_ID_NOT_FOUND.
    pub const GROUP_ID_NOT_FOUND: i16 = 69;
    /// MEMBER_ID_REQUIRED.
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    /// FENCED_INSTANCE_ID.
    pub const FENCED_INSTANCE_ID: i16 = 82;
}

/// Where a request came from: what the coordinator records of the client.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// `client.id` from the request header.
    pub id: String,
    /// `/ip` of the connection.
    pub host: String,
}

/// JoinGroup.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The group.
    pub group_id: String,
    /// `session.timeout.ms`.
    pub session_timeout_ms: i32,
    /// How long the coordinator waits for members to rejoin.
    pub rebalance_timeout_ms: i32,
    /// Empty on a first join.
    pub member_id: String,
    /// `group.instance.id` (v5+).
    pub instance_id: Option<String>,
    /// `consumer`.
    pub protocol_type: String,
    /// Assignors with their metadata, preferred first.
    pub protocols: Vec<(String, Vec<u8>)>,
    /// v4+: a member without an id is given one with MEMBER_ID_REQUIRED (KIP-394).
    pub require_known_member_id: bool,
}

/// A member as the leader sees it in the JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    /// Its id.
    pub member_id: String,
    /// Its `group.instance.id`.
    pub instance_id: Option<String>,
    /// Its metadata for the chosen assignor.
    pub metadata: Vec<u8>,
}

/// JoinGroup's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResponse {
    /// Error code.
    pub error: i16,
    /// The new generation.
    pub generation: i32,
    /// The chosen assignor.
    pub protocol_name: String,
    /// The leader's member id.
    pub leader: String,
    /// The member's own id.
    pub member_id: String,
    /// Every member, for the leader only.
    pub members: Vec<JoinedMember>,
}

impl JoinResponse {
    /// An answer that is only an error (and, for MEMBER_ID_REQUIRED, the id to use).
    pub fn error(error: i16, member_id: &str) -> JoinResponse {
        JoinResponse {
            error,
            generation: -1,
            protocol_name: String::new(),
            leader: String::new(),
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

/// SyncGroup.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// The group.
    pub group_id: String,
    /// The generation the member joined.
    pub generation: i32,
    /// The member.
    pub member_id: String,
    /// `group.instance.id` (v3+).
    pub instance_id: Option<String>,
    /// The leader's assignment, per member.
    pub assignments: Vec<(String, Vec<u8>)>,
}

/// SyncGroup's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResponse {
    /// Error code.
    pub error: i16,
    /// The member's assignment.
    pub assignment: Vec<u8>,
}

impl SyncResponse {
    /// An answer that is only an error.
    pub fn error(error: i16) -> SyncResponse {
        SyncResponse {
            error,
            assignment: Vec::new(),
        }
    }
}

/// Heartbeat.
#[derive(Debug, Clone)]
pub struct HeartbeatRequest {
    /// The group.
    pub group_id: String,
    /// The member's generation.
    pub generation: i32,
    /// The member.
    pub member_id: String,
    /// `group.instance.id` (v3+).
    pub instance_id: Option<String>,
}

/// LeaveGroup: one member (v0–v2) or several (v3+).
#[derive(Debug, Clone)]
pub struct LeaveRequest {
    /// The group.
    pub group_id: String,
    /// (member id, `group.instance.id`) of each leaving member.
    pub members: Vec<(String, Option<String>)>,
}

/// LeaveGroup's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveResponse {
    /// Error code for the whole request.
    pub error: i16,
    /// (member id, `group.instance.id`, error) per member.
    pub members: Vec<(String, Option<String>, i16)>,
}

/// One partition's offset in an OffsetCommit.
#[derive(Debug, Clone)]
pub struct PartitionCommit {
    /// The partition.
    pub partition: i32,
    /// The next offset to read.
    pub offset: i64,
    /// The leader epoch (v6+), or -1.
    pub leader_epoch: i32,
    /// The client's metadata.
    pub metadata: Option<String>,
}

/// OffsetCommit.
#[derive(Debug, Clone)]
pub struct CommitRequest {
    /// The group.
    pub group_id: String,
    /// The member's generation; -1 from a client outside the group (an admin).
    pub generation: i32,
    /// The member.
    pub member_id: String,
    /// `group.instance.id` (v7+).
    pub instance_id: Option<String>,
    /// Offsets per topic.
    pub topics: Vec<(String, Vec<PartitionCommit>)>,
}

/// OffsetCommit's answer: an error per partition, per topic.
pub type CommitResponse = Vec<(String, Vec<(i32, i16)>)>;

/// OffsetFetch.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The group.
    pub group_id: String,
    /// The partitions asked about; `None` for every committed one (v2+).
    pub topics: Option<Vec<(String, Vec<i32>)>>,
}

/// One partition in OffsetFetch's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    /// The partition.
    pub partition: i32,
    /// The committed offset, or -1.
    pub offset: i64,
    /// Its leader epoch, or -1.
    pub leader_epoch: i32,
    /// Its metadata.
    pub metadata: Option<String>,
}

/// OffsetFetch's answer.
pub type FetchResponse = Vec<(String, Vec<FetchedOffset>)>;

/// A member as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// Its id.
    pub member_id: String,
    /// Its `group.instance.id`.
    pub instance_id: Option<String>,
    /// Its `client.id`.
    pub client_id: String,
    /// Where it connects from.
    pub client_host: String,
    /// Its metadata for the chosen assignor (only while Stable).
    pub metadata: Vec<u8>,
    /// Its assignment (only while Stable).
    pub assignment: Vec<u8>,
}

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// Error code.
    pub error: i16,
    /// The group.
    pub group_id: String,
    /// Its state's name (`Stable`, `Dead` for an unknown group, ...).
    pub state: String,
    /// `consumer`, or empty.
    pub protocol_type: String,
    /// The chosen assignor (only while Stable).
    pub protocol: String,
    /// Its members.
    pub members: Vec<MemberDescription>,
}

fn instance_id(reader: &mut Reader, present: bool) -> Option<Option<String>> {
    if present {
        reader.nullable_string()
    } else {
        Some(None)
    }
}

/// Reads a JoinGroup request body.
pub fn read_join(version: i16, body: &[u8]) -> Option<JoinRequest> {
    let mut r = Reader::new(body);
    let group_id = r.string()?;
    let session_timeout_ms = r.i32()?;
    let rebalance_timeout_ms = if version >= 1 {
        r.i32()?
    } else {
        session_timeout_ms
    };
    let member_id = r.string()?;
    let instance_id = instance_id(&mut r, version >= 5)?;
    let protocol_type = r.string()?;
    let mut protocols = Vec::new();
    for _ in 0..r.array()? {
        protocols.push((r.string()?, r.bytes()?));
    }
    Some(JoinRequest {
        group_id,
        session_timeout_ms,
        rebalance_timeout_ms,
        member_id,
        instance_id,
        protocol_type,
        protocols,
        require_known_member_id: version >= 4,
    })
}

/// Writes a JoinGroup response body.
pub fn write_join(version: i16, response: &JoinResponse, out: &mut Writer) {
    if version >= 2 {
        out.i32(0); // throttle time
    }
    out.i16(response.error);
    out.i32(response.generation);
    out.string(&response.protocol_name);
    out.string(&response.leader);
    out.string(&response.member_id);
    out.array(response.members.len());
    for member in &response.members {
        out.string(&member.member_id);
        if version >= 5 {
            out.nullable_string(member.instance_id.as_deref());
        }
        out.bytes(&member.metadata);
    }
}

/// Reads a SyncGroup request body.
pub fn read_sync(version: i16, body: &[u8]) -> Option<SyncRequest> {
    let mut r = Reader::new(body);
    let group_id = r.string()?;
    let generation = r.i32()?;
    let member_id = r.string()?;
    let instance_id = instance_id(&mut r, version >= 3)?;
    let mut assignments = Vec::new();
    for _ in 0..r.array()? {
        assignments.push((r.string()?, r.bytes()?));
    }
    Some(SyncRequest {
        group_id,
        generation,
        member_id,
        instance_id,
        assignments,
    })
}

/// Writes a SyncGroup response body.
pub fn write_sync(version: i16, response: &SyncResponse, out: &mut Writer) {
    if version >= 1 {
        out.i32(0);
    }
    out.i16(response.error);
    out.bytes(&response.assignment);
}

/// Reads a Heartbeat request body.
pub fn read_heartbeat(version: i16, body: &[u8]) -> Option<HeartbeatRequest> {
    let mut r = Reader::new(body);
    Some(HeartbeatRequest {
        group_id: r.string()?,
        generation: r.i32()?,
        member_id: r.string()?,
        instance_id: instance_id(&mut r, version >= 3)?,
    })
}

/// Writes a response that is a throttle time (v1+) and an error code: Heartbeat's.
pub fn write_error_only(version: i16, error: i16, out: &mut Writer) {
    if version >= 1 {
        out.i32(0);
    }
    out.i16(error);
}

/// Reads a LeaveGroup request body.
pub fn read_leave(version: i16, body: &[u8]) -> Option<LeaveRequest> {
    let mut r = Reader::new(body);
    let group_id = r.string()?;
    let mut members = Vec::new();
    if version >= 3 {
        for _ in 0..r.array()? {
            members.push((r.string()?, r.nullable_string()?));
        }
    } else {
        members.push((r.string()?, None));
    }
    Some(LeaveRequest { group_id, members })
}

/// Writes a LeaveGroup response body.
pub fn write_leave(version: i16, response: &LeaveResponse, out: &mut Writer) {
    if version >= 1 {
        out.i32(0);
    }
    if version >= 3 {
        out.i16(response.error);
        out.array(response.members.len());
        for (member_id, instance_id, error) in &response.members {
            out.string(member_id);
            out.nullable_string(instance_id.as_deref());
            out.i16(*error);
        }
    } else {
        // One member: its error is the request's.
        let member_error = response.members.first().map_or(0, |(_, _, e)| *e);
        out.i16(if response.error != 0 {
            response.error
        } else {
            member_error
        });
    }
}

/// Reads an OffsetCommit request body.
pub fn read_commit(version: i16, body: &[u8]) -> Option<CommitRequest> {
    let mut r = Reader::new(body);
    let group_id = r.string()?;
    let (generation, member_id) = if version >= 1 {
        (r.i32()?, r.string()?)
    } else {
        (-1, String::new())
    };
    let instance_id = instance_id(&mut r, version >= 7)?;
    if (2..=4).contains(&version) {
        r.i64()?; // retention time
    }
    let mut topics = Vec::new();
    for _ in 0..r.array()? {
        let name = r.string()?;
        let mut partitions = Vec::new();
        for _ in 0..r.array()? {
            let partition = r.i32()?;
            let offset = r.i64()?;
            let leader_epoch = if version >= 6 { r.i32()? } else { -1 };
            if version == 1 {
                r.i64()?; // commit timestamp
            }
            let metadata = r.nullable_string()?;
            partitions.push(PartitionCommit {
                partition,
                offset,
                leader_epoch,
                metadata,
            });
        }
        topics.push((name, partitions));
    }
    Some(CommitRequest {
        group_id,
        generation,
        member_id,
        instance_id,
        topics,
    })
}

/// Writes an OffsetCommit response body.
pub fn write_commit(version: i16, response: &CommitResponse, out: &mut Writer) {
    if version >= 3 {
        out.i32(0);
    }
    out.array(response.len());
    for (topic, partitions) in response {
        out.string(topic);
        out.array(partitions.len());
        for (partition, error) in partitions {
            out.i32(*partition);
            out.i16(*error);
        }
    }
}

/// Reads an OffsetFetch request body.
pub fn read_fetch(version: i16, body: &[u8]) -> Option<FetchRequest> {
    let mut r = Reader::new(body);
    let group_id = r.string()?;
    let topics = match r.nullable_array()? {
        None if version >= 2 => None,
        count => {
            let mut topics = Vec::new();
            for _ in 0..count.unwrap_or(0) {
                let name = r.string()?;
                let mut partitions = Vec::new();
                for _ in 0..r.array()? {
                    partitions.push(r.i32()?);
                }
                topics.push((name, partitions));
            }
            Some(topics)
        }
    };
    Some(FetchRequest { group_id, topics })
}

/// Writes an OffsetFetch response body.
pub fn write_fetch(version: i16, response: &FetchResponse, out: &mut Writer) {
    if version >= 3 {
        out.i32(0);
    }
    out.array(response.len());
    for (topic, partitions) in response {
        out.string(topic);
        out.array(partitions.len());
        for p in partitions {
            out.i32(p.partition);
            out.i64(p.offset);
            if version >= 5 {
                out.i32(p.leader_epoch);
            }
            out.nullable_string(p.metadata.as_deref());
            out.i16(0);
        }
    }
    if version >= 2 {
        out.i16(0);
    }
}

/// Reads a DescribeGroups request body: the group ids.
pub fn read_describe(_version: i16, body: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader::new(body);
    let mut groups = Vec::new();
    for _ in 0..r.array()? {
        groups.push(r.string()?);
    }
    Some(groups)
}

/// Writes a DescribeGroups response body.
pub fn write_describe(version: i16, groups: &[GroupDescription], out: &mut Writer) {
    if version >= 1 {
        out.i32(0);
    }
    out.array(groups.len());
    for group in groups {
        out.i16(group.error);
        out.string(&group.group_id);
        out.string(&group.state);
        out.string(&group.protocol_type);
        out.string(&group.protocol);
        out.array(group.members.len());
        for m in &group.members {
            out.string(&m.member_id);
            if version >= 4 {
                out.nullable_string(m.instance_id.as_deref());
            }
            out.string(&m.client_id);
            out.string(&m.client_host);
            out.bytes(&m.metadata);
            out.bytes(&m.assignment);
        }
        if version >= 3 {
            out.i32(i32::MIN); // authorized operations: not asked for / not computed
        }
    }
}

/// Writes a ListGroups response body from (group id, protocol type) pairs.
pub fn write_list(version: i16, groups: &[(String, String)], out: &mut Writer) {
    if version >= 1 {
        out.i32(0);
    }
    out.i16(0);
    out.array(groups.len());
    for (group_id, protocol_type) in groups {
        out.string(group_id);
        out.string(protocol_type);
    }
}

/// Reads a DeleteGroups request body: the group ids.
pub fn read_delete(_version: i16, body: &[u8]) -> Option<Vec<String>> {
    read_describe(0, body)
}

/// Writes a DeleteGroups response body.
pub fn write_delete(_version: i16, results: &[(String, i16)], out: &mut Writer) {
    out.i32(0);
    out.array(results.len());
    for (group_id, error) in results {
        out.string(group_id);
        out.i16(*error);
    }
}
