//! The group APIs' requests and responses as the coordinator sees them: one type per
//! request, whatever its version. `codec.rs` turns Kafka's wire messages (every version,
//! from the `kafka-protocol` crate) into these and back.

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
    /// UNSUPPORTED_VERSION: an OffsetFetch of several groups that the mock keeps.
    pub const UNSUPPORTED_VERSION: i16 = 35;
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
    /// v9+: a static leader that rejoins a stable group is told to skip the assignment
    /// (KIP-814) instead of being told that the old member id leads.
    pub supports_skip_assignment: bool,
    /// v8+: why the member joins (KIP-800), if it says.
    pub reason: Option<String>,
}

impl JoinRequest {
    /// The client's reason as Kafka logs it (`JoinGroupRequest.joinReason`).
    pub fn client_reason(&self) -> &str {
        self.reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or("not provided")
    }
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
    /// The group's protocol type (`consumer`), in an answer that is not an error.
    pub protocol_type: Option<String>,
    /// The chosen assignor, in an answer that is not an error.
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: String,
    /// The leader need not assign: the group's assignment stands (v9+, KIP-814).
    pub skip_assignment: bool,
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
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
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
    /// The protocol type the member expects (v5+), checked against the group's.
    pub protocol_type: Option<String>,
    /// The assignor the member expects (v5+), checked against the group's.
    pub protocol_name: Option<String>,
    /// The leader's assignment, per member.
    pub assignments: Vec<(String, Vec<u8>)>,
}

/// SyncGroup's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResponse {
    /// Error code.
    pub error: i16,
    /// The group's protocol type, in an answer that is not an error.
    pub protocol_type: Option<String>,
    /// The group's assignor, in an answer that is not an error.
    pub protocol_name: Option<String>,
    /// The member's assignment.
    pub assignment: Vec<u8>,
}

impl SyncResponse {
    /// An answer that is only an error.
    pub fn error(error: i16) -> SyncResponse {
        SyncResponse {
            error,
            protocol_type: None,
            protocol_name: None,
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
    /// (member id, `group.instance.id`, reason given, v5+) of each leaving member.
    pub members: Vec<(String, Option<String>, Option<String>)>,
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

/// A group as ListGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// The group.
    pub group_id: String,
    /// `consumer`, or empty.
    pub protocol_type: String,
    /// Its state's name (v4+).
    pub state: String,
}
