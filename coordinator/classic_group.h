// The classic consumer-group protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup) as a
// pure state machine.
//
// Design
// ------
// One ClassicGroup object is one group. It does no I/O and never reads the wall clock: the
// current time comes from an injected storage::Clock, and timers are deadlines that the
// owner fires by calling tick() (next_deadline_ms() says when). The owner (a request handler
// plus a timer loop) translates wire requests into the plain structs below and back.
//
// JoinGroup and SyncGroup may have to wait: a join completes when every member has rejoined
// or the rebalance timeout passes; a follower's sync completes when the leader sends the
// assignment. Such requests carry a caller-chosen `token`. join()/sync() return a response
// at once when one is due now (errors, MEMBER_ID_REQUIRED, a rejoin in Stable); otherwise
// they return nothing and the response appears later, under its token, in
// take_ready_responses(). Any operation or tick may complete waiting requests, including the
// one just made, so the owner drains take_ready_responses() after every call.
//
// The behaviour follows Kafka's classic group coordinator: member ids are assigned by the
// coordinator (with the extra MEMBER_ID_REQUIRED round for JoinGroup v4+), static members
// (group.instance.id) replace their previous member id and fence it, the protocol type must
// match and the selected protocol is the one most members prefer among those all support,
// the first member is the leader (re-elected among rejoined members when it does not rejoin),
// every completed join phase bumps the generation, an Empty group delays its first rebalance
// by group.initial.rebalance.delay.ms (extended while new members keep arriving, bounded by
// the rebalance timeout), members that miss their session timeout are removed, members that
// do not rejoin in time are dropped when the join phase ends, and members that do not sync
// within the rebalance timeout after the join phase are removed and trigger a new rebalance.
//
// A ClassicGroup is not thread-safe: its owner serializes the calls for one group.
// A join that supersedes the same member's still-waiting join answers the older one with
// REBALANCE_IN_PROGRESS, so no request is left without a response.
//
// Persistence: snapshot() is the group as a GroupMetadata record of __consumer_offsets and
// restore() rebuilds a group from one. The leader's assignment is stored by sync() itself
// (its `store`) before the rebalance completes. store_version() changes whenever the group
// reaches another state that must be stored (the group becomes Empty, a static member is
// replaced without a rebalance); the owner compares it after each call and appends snapshot().
// Offsets are handled elsewhere; only the check whether an offset commit is allowed lives here
// (validate_offset_commit).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/group_state.h"
#include "coordinator/offsets_records.h"
#include "protocol/errors.h"
#include "storage/clock.h"

namespace runnel::coordinator {

using protocol::ErrorCode;
using Bytes = std::vector<uint8_t>;

// Broker settings that shape the group (Kafka's config keys and defaults).
struct GroupConfig {
  int32_t min_session_timeout_ms = 6000;        // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;     // group.max.session.timeout.ms
  int32_t max_size = 2147483647;                // group.max.size
  int32_t initial_rebalance_delay_ms = 3000;    // group.initial.rebalance.delay.ms
  int32_t new_member_join_timeout_ms = 300000;  // how long a new member may wait in a join
};

struct Protocol {
  std::string name;
  Bytes metadata;
  bool operator==(const Protocol&) const = default;
};

struct JoinRequest {
  uint64_t token = 0;  // identifies a response that completes later
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  std::vector<Protocol> protocols;
  // JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its id.
  bool require_known_member_id = false;
  // JoinGroup v9+: a static leader that rejoins unchanged in Stable keeps its assignment
  // (skip_assignment) instead of triggering a rebalance.
  bool supports_skip_assignment = false;
};

struct JoinResponseMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  Bytes metadata;
};

struct JoinResponse {
  ErrorCode error = ErrorCode::NONE;
  int32_t generation_id = -1;
  std::string protocol_type;
  std::string protocol_name;
  std::string leader;
  bool skip_assignment = false;
  std::string member_id;
  std::vector<JoinResponseMember> members;  // only for the leader
};

struct SyncRequest {
  uint64_t token = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  int32_t generation_id = -1;
  std::optional<std::string> protocol_type;                // v5+
  std::optional<std::string> protocol_name;                // v5+
  std::vector<std::pair<std::string, Bytes>> assignments;  // leader only
};

struct SyncResponse {
  ErrorCode error = ErrorCode::NONE;
  std::string protocol_type;
  std::string protocol_name;
  Bytes assignment;
};

struct HeartbeatRequest {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  int32_t generation_id = -1;
};

struct LeaveMember {
  std::string member_id;  // may be empty when group_instance_id is given
  std::optional<std::string> group_instance_id;
};

struct LeaveResult {
  ErrorCode error = ErrorCode::NONE;
  std::vector<ErrorCode> member_errors;  // one per LeaveMember, same order
};

// Responses to waiting requests that became ready, keyed by their tokens.
struct ReadyResponses {
  std::vector<std::pair<uint64_t, JoinResponse>> joins;
  std::vector<std::pair<uint64_t, SyncResponse>> syncs;
  bool empty() const { return joins.empty() && syncs.empty(); }
};

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  Bytes metadata;    // of the selected protocol; empty unless Stable
  Bytes assignment;  // empty unless Stable
};

struct GroupDescription {
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol;  // empty unless Stable
  std::vector<MemberDescription> members;
};

// Thrown by a state change the transition table forbids (a bug, never input).
class IllegalGroupTransition : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class ClassicGroup {
 public:
  // Produces a fresh member id from a client id (Kafka: "<client.id>-<uuid>").
  using MemberIdGenerator = std::function<std::string(const std::string& client_id)>;

  ClassicGroup(std::string group_id, GroupConfig config, const storage::Clock& clock,
               MemberIdGenerator member_ids = {});

  std::optional<JoinResponse> join(const JoinRequest& req);
  // Appends the group as a GroupMetadata record; the error to answer when that failed (Kafka's
  // mapping of an append error for a group's metadata), else NONE.
  using Store = std::function<ErrorCode(const GroupMetadataValue&)>;
  // The leader's sync stores the group with its assignment through `store` (when given) before
  // anything else happens: only once that succeeded does the group become Stable and every
  // member get its assignment. When it fails every waiting member (the leader too) is answered
  // with the store's error, the assignment is dropped and the group rebalances, as Kafka does.
  std::optional<SyncResponse> sync(const SyncRequest& req, const Store& store = {});
  ErrorCode heartbeat(const HeartbeatRequest& req);
  LeaveResult leave(const std::vector<LeaveMember>& members);

  // Fires every timer whose deadline is at or before now.
  void tick();
  // The earliest pending deadline, if any.
  std::optional<int64_t> next_deadline_ms() const;

  ReadyResponses take_ready_responses();

  // Whether an OffsetCommit (or TxnOffsetCommit) from this member may proceed.
  ErrorCode validate_offset_commit(const std::string& member_id, int32_t generation_id,
                                   const std::optional<std::string>& group_instance_id) const;

  // A member's successful offset commit counts as a heartbeat (as in Kafka).
  void touch(const std::string& member_id);

  // Starts a rebalance from Stable (a group converted from a consumer group, whose members
  // learn it from their next heartbeat and rejoin).
  void rebalance() { maybe_prepare_rebalance(); }
  // The protocols the member listed in its last JoinGroup, in its order (empty: no member).
  std::vector<Protocol> protocols_of(const std::string& member_id) const {
    auto it = members_.find(member_id);
    return it == members_.end() ? std::vector<Protocol>{} : it->second.protocols;
  }

  // Marks the group Dead; waiting requests are answered with `error`.
  void mark_dead(ErrorCode error = ErrorCode::COORDINATOR_NOT_AVAILABLE);

  GroupDescription describe() const;

  // The group as its GroupMetadata record value.
  GroupMetadataValue snapshot() const;
  // A group rebuilt from its stored record: Stable with its members and their assignments
  // (each member's session starts now) when the record has members, Empty otherwise.
  static std::unique_ptr<ClassicGroup> restore(std::string group_id, const GroupMetadataValue& v,
                                               GroupConfig config, const storage::Clock& clock,
                                               MemberIdGenerator member_ids = {});
  uint64_t store_version() const { return store_version_; }
  // When the group entered its current state (-1: unknown).
  int64_t state_timestamp_ms() const { return state_timestamp_ms_; }

  const std::string& group_id() const { return group_id_; }
  GroupState state() const { return state_; }
  int32_t generation_id() const { return generation_id_; }
  const std::string& leader_id() const { return leader_id_; }
  const std::string& protocol_type() const { return protocol_type_; }
  const std::string& protocol_name() const { return protocol_name_; }
  size_t size() const { return members_.size(); }
  bool has_member(const std::string& member_id) const { return members_.count(member_id) != 0; }
  // The member id currently holding a static instance id, or empty.
  std::string static_member_id(const std::string& group_instance_id) const;

 private:
  struct Member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    int32_t rebalance_timeout_ms = 0;
    int32_t session_timeout_ms = 0;
    std::string protocol_type;
    std::vector<Protocol> protocols;
    Bytes assignment;
    std::optional<uint64_t> join_token;  // awaiting join
    std::optional<uint64_t> sync_token;  // awaiting sync
    bool is_new = false;
    int64_t last_heartbeat_ms = 0;
    const Bytes* metadata(const std::string& protocol) const;
  };

  struct JoinTimer {
    int64_t deadline_ms = 0;
    bool initial = false;      // Kafka's InitialDelayedJoin
    int32_t remaining_ms = 0;  // initial only: how much longer it may be extended
  };

  void transition_to(GroupState to);
  friend struct ClassicGroupTestPeer;
  bool accept_joining_member(const JoinRequest& req) const;
  bool protocols_supported(const JoinRequest& req) const;
  std::set<std::string> candidate_protocols() const;
  std::string select_protocol() const;
  bool static_member_fenced(const std::string& member_id,
                            const std::optional<std::string>& instance_id) const;
  // Kafka's member checks of Sync, Heartbeat and OffsetCommit, in its order: FENCED_INSTANCE_ID,
  // UNKNOWN_MEMBER_ID, then (with `generation_id`) ILLEGAL_GENERATION; NONE when they pass.
  ErrorCode check_member(const std::string& member_id,
                         const std::optional<std::string>& group_instance_id,
                         std::optional<int32_t> generation_id) const;
  int32_t rebalance_timeout_ms() const;
  bool all_members_joined() const;

  std::optional<JoinResponse> join_unknown_member(const JoinRequest& req);
  std::optional<JoinResponse> join_static_unknown_member(const JoinRequest& req);
  std::optional<JoinResponse> join_known_member(const JoinRequest& req);
  void add_member_and_rebalance(const JoinRequest& req, const std::string& member_id);
  void update_member_and_rebalance(Member& m, const JoinRequest& req);
  JoinResponse current_join_response(const std::string& member_id, bool with_members,
                                     bool skip_assignment) const;
  std::vector<JoinResponseMember> member_metadata() const;

  void maybe_prepare_rebalance();
  void prepare_rebalance();
  void try_complete_join();
  void complete_join();
  // Makes a rejoined member the leader when the current one did not rejoin; false when no
  // member rejoined.
  bool maybe_elect_joined_leader();
  void reset_assignments_and_answer_syncs(ErrorCode error);
  void remove_member(const std::string& member_id, ErrorCode pending_error);
  void remove_member_and_update_group(const std::string& member_id);
  void remove_pending_member_and_update_group(const std::string& member_id);
  bool should_keep_alive(const Member& m, int64_t now) const;
  void expire_sync();

  void answer_join(Member& m, JoinResponse resp);
  void answer_sync(Member& m, SyncResponse resp);

  std::string group_id_;
  GroupConfig config_;
  const storage::Clock& clock_;
  MemberIdGenerator member_ids_;

  GroupState state_ = GroupState::Empty;
  int32_t generation_id_ = 0;
  std::string protocol_type_;
  std::string protocol_name_;
  std::string leader_id_;
  std::map<std::string, Member> members_;
  std::map<std::string, std::string> static_members_;  // instance id -> member id
  std::map<std::string, int64_t> pending_members_;     // member id -> session deadline
  std::set<std::string> pending_sync_members_;
  bool new_member_added_ = false;
  std::optional<JoinTimer> join_timer_;
  std::optional<int64_t> sync_deadline_ms_;
  ReadyResponses ready_;
  int64_t state_timestamp_ms_ = -1;
  uint64_t store_version_ = 0;
};

}  // namespace runnel::coordinator
