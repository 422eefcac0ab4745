// The consumer groups (KIP-848) of a group coordinator: ConsumerGroupHeartbeat, the members'
// session and rebalance timers, and the records that carry every change.
//
// Every operation works on a scratch copy of its group: it computes the records of the change
// one after another, replaying each into the copy so that the next step sees its effect, then
// hands them to the CoordinatorLog in one batch. The log replays them into the real group
// (replay()), so the group in memory changes only by replay, at run time and at load alike;
// a failed append leaves it as it was and the heartbeat answers with the append's error.
//
// A heartbeat (Kafka's consumerGroupHeartbeat):
//   1. validates the request (INVALID_REQUEST, UNSUPPORTED_ASSIGNOR);
//   2. finds the member: epoch 0 joins (a new member, or a static member replacing its
//      instance that left with epoch -2; UNRELEASED_INSTANCE_ID while that instance is still
//      in the group; GROUP_MAX_SIZE_REACHED), another epoch must be the member's current one
//      or its previous one with no partitions it does not own (FENCED_MEMBER_EPOCH,
//      UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID); epoch -1 leaves, -2 leaves temporarily (a
//      static member keeps its partitions until its session expires);
//   3. stores the member's changed metadata and resolves its regex; a changed subscription or
//      a change of the subscribed topics (their metadata hash) bumps the group epoch;
//   4. computes the target assignment when the group epoch is ahead of it;
//   5. moves the member a step towards its target (revocation first: a partition is assigned
//      only once no other member owns or revokes it);
//   6. answers with the member epoch, the heartbeat interval and, when it changed (or on a
//      join or a full request), the member's assignment.
//
// Timers are kept in memory, as Kafka keeps them: a member's session expires
// session_timeout_ms after its last heartbeat; a member asked to revoke partitions must do so
// within its rebalance timeout. Either fences the member: its records are deleted and the group
// epoch is bumped. Loading a partition starts the session timer of every member it holds.
//
// Regular expressions are matched against whole topic names, as Kafka matches its RE2/J
// patterns (coordinator/regular_expression.h); a refused pattern gets
// INVALID_REGULAR_EXPRESSION, as in Kafka. A regex new to its group is resolved after the
// heartbeat that brings it, on the next tick, as Kafka resolves it off the request path: the
// member is first assigned the topics it names, and those the regex matches once the
// resolution bumped the group epoch. A resolved regex is matched again on its members'
// heartbeats when topics are created or deleted.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "coordinator/classic_group.h"
#include "coordinator/consumer_group.h"
#include "coordinator/consumer_group_assignor.h"
#include "coordinator/runtime.h"
#include "protocol/messages/consumer_group_heartbeat.h"
#include "storage/clock.h"

namespace runnel::coordinator {

struct ConsumerGroupConfig {
  int32_t session_timeout_ms = 45000;    // group.consumer.session.timeout.ms
  int32_t heartbeat_interval_ms = 5000;  // group.consumer.heartbeat.interval.ms
  int32_t max_size = INT32_MAX;          // group.consumer.max.size
  std::vector<std::string> assignors = {"uniform", "range"};  // group.consumer.assignors
  // group.consumer.migration.policy: whether a group with members converts between the
  // classic and the consumer protocol (an empty one always does).
  bool upgrade = true;                   // "bidirectional" or "upgrade"
  bool downgrade = true;                 // "bidirectional" or "downgrade"
  int32_t classic_max_size = INT32_MAX;  // group.max.size, which a downgraded group must fit
};

// Parses group.consumer.migration.policy (case-insensitive); false for another value.
bool parse_migration_policy(std::string_view value, ConsumerGroupConfig& config);

// A classic group with members that a ConsumerGroupHeartbeat converts (the online upgrade):
// its stored form and every member's protocols as its last JoinGroup listed them.
struct ClassicGroupUpgrade {
  GroupMetadataValue snapshot;
  std::map<std::string, std::vector<ClassicMemberMetadata::Protocol>> protocols;
};

// A consumer group whose last member of the consumer protocol left, converted back into a
// classic group (the online downgrade): the GroupMetadata written for it. The classic group
// starts from it and rebalances, so that its members rejoin.
struct ConsumerGroupDowngrade {
  std::string group_id;
  GroupMetadataValue snapshot;
};

// The topics of the cluster as the heartbeat sees them (the handler builds it from metadata).
class TopicsImage {
 public:
  struct Topic {
    protocol::Uuid id;
    std::string name;
    int32_t partitions = 0;
  };
  void add(std::string name, protocol::Uuid id, int32_t partitions);
  const Topic* by_name(std::string_view name) const;
  const Topic* by_id(const protocol::Uuid& id) const;
  const std::map<std::string, Topic, std::less<>>& topics() const { return by_name_; }

 private:
  std::map<std::string, Topic, std::less<>> by_name_;
  std::map<protocol::Uuid, std::string> by_id_;
};

// Where a heartbeat came from (not in the request body).
struct HeartbeatContext {
  int16_t api_version = 1;
  std::string client_id;
  std::string client_host;
};

namespace consumer_group_internal {
struct Change;
}

class ConsumerGroups {
 public:
  using MemberIdGenerator = std::function<std::string()>;
  using PartitionFor = std::function<int32_t(std::string_view group_id)>;

  ConsumerGroups(ConsumerGroupConfig config, const storage::Clock& clock, CoordinatorLog& log,
                 PartitionFor partition_for, MemberIdGenerator member_ids = {});

  // ---- Replay (GroupCoordinator routes the consumer group records here)
  // False when the value is malformed.
  bool replay(const ConsumerGroupKey& key, std::optional<std::span<const uint8_t>> value);
  // Starts the session timer of every member of the groups of `partition`, and the rebalance
  // timer of members revoking partitions.
  void finish_load(int32_t partition);

  // Where the operations that have no TopicsImage of their own (timers, the classic requests)
  // read the cluster's topics.
  void set_topics_source(std::function<TopicsImage()> source) { topics_ = std::move(source); }

  // ---- Operations
  // ConsumerGroupHeartbeat. `extra` records (for example the tombstone of the classic group
  // this one replaces) are appended first, in the same batch. With `upgrade`, the classic
  // group's members become members of the new group first (Kafka's online upgrade; refused with
  // GROUP_ID_NOT_FOUND when the policy or the group does not allow it).
  protocol::ConsumerGroupHeartbeatResponse heartbeat(
      const protocol::ConsumerGroupHeartbeatRequest& request, const HeartbeatContext& context,
      const TopicsImage& topics, const std::vector<CoordinatorRecord>& extra = {},
      const ClassicGroupUpgrade* upgrade = nullptr);

  // The classic protocol spoken to a consumer group with members (consumer_group_classic.cc):
  // a member that joins with JoinGroup is a member like the others, whose subscription and
  // owned partitions come from its JoinGroup's consumer protocol metadata. Its JoinGroup is
  // answered at once with its member epoch as the generation (no leader: the coordinator
  // assigns), SyncGroup hands it its current partitions, and Heartbeat answers
  // REBALANCE_IN_PROGRESS while it must rejoin to move towards its target. Its session
  // timeout is its own; it must sync, and rejoin when told to, within its rebalance timeout.
  JoinResponse classic_join(const std::string& group_id, const JoinRequest& request);
  SyncResponse classic_sync(const std::string& group_id, const SyncRequest& request);
  protocol::ErrorCode classic_heartbeat(const std::string& group_id,
                                        const HeartbeatRequest& request);
  LeaveResult classic_leave(const std::string& group_id, const std::vector<LeaveMember>& members);
  // The groups downgraded since the last call, in order; the owner makes them classic groups.
  std::vector<ConsumerGroupDowngrade> take_downgrades() { return std::exchange(downgrades_, {}); }
  // OffsetCommit's check for a consumer group (see ConsumerGroup::validate_offset_commit).
  protocol::ErrorCode validate_offset_commit(std::string_view group_id, std::string_view member_id,
                                             int32_t member_epoch) const;
  // The records that delete an empty group (NON_EMPTY_GROUP while it has members).
  protocol::ErrorCode delete_records(std::string_view group_id,
                                     std::vector<CoordinatorRecord>& out) const;

  // ---- Timers
  std::optional<int64_t> next_deadline_ms() const;
  // Resolves the regexes heartbeats brought, and fences every member whose session or
  // rebalance timeout passed.
  void tick();

  // ---- Reading
  const ConsumerGroup* group(std::string_view group_id) const;
  const std::map<std::string, ConsumerGroup, std::less<>>& groups() const { return groups_; }
  // The assignor the group's target is computed with (ConsumerGroupDescribe's AssignorName):
  // the one most members ask for, else the first of group.consumer.assignors.
  std::string assignor_name(const ConsumerGroup& group) const;
  // A member's deadlines (for tests and describe): nullopt when none is armed.
  std::optional<int64_t> session_deadline(std::string_view group_id,
                                          std::string_view member_id) const;
  std::optional<int64_t> rebalance_deadline(std::string_view group_id,
                                            std::string_view member_id) const;

 private:
  struct Timer {
    int64_t deadline = 0;
  };
  using TimerKey = std::pair<std::string, std::string>;  // group, member

  protocol::ErrorCode append(std::string_view group_id,
                             const std::vector<CoordinatorRecord>& records);
  void arm(const std::string& group, const std::string& member, bool rebalance, int64_t deadline);
  // Disarms the member's timer of that kind, or both when `rebalance` is nullopt.
  void disarm(const std::string& group, const std::string& member,
              std::optional<bool> rebalance = std::nullopt);
  // Fences the member (its timer fired).
  void fence(const std::string& group, const std::string& member);
  // Records that remove `members` from the group of `c`: when every other member speaks the
  // classic protocol and the policy allows it, the whole group is deleted and written as a
  // classic group instead (returned); otherwise the members are deleted and the epoch bumped.
  std::optional<GroupMetadataValue> remove_members(consumer_group_internal::Change& c,
                                                   const std::set<std::string>& members);
  // After `remove_members` was written: the timers of the removed members (of every member
  // when the group was downgraded) stop, and a downgrade is queued.
  void removed(const std::string& group_id, const std::set<std::string>& members,
               std::optional<GroupMetadataValue> downgraded,
               const std::vector<std::string>& all_members);
  // The members of a classic group being upgraded, written into `c`; the error message when
  // the group cannot be converted.
  std::optional<std::string> convert_classic(consumer_group_internal::Change& c,
                                             const ClassicGroupUpgrade& upgrade,
                                             const TopicsImage& topics);
  TopicsImage topics() const { return topics_ ? topics_() : TopicsImage{}; }
  static std::vector<std::string> match_topics(const std::string& regex, const TopicsImage& topics);
  // Writes the resolution of the regexes that are due (pending_regexes_) and bumps the epoch of
  // their groups.
  void resolve_regexes();

  ConsumerGroupConfig config_;
  const storage::Clock& clock_;
  CoordinatorLog& log_;
  PartitionFor partition_for_;
  MemberIdGenerator member_ids_;
  std::function<TopicsImage()> topics_;
  std::map<std::string, ConsumerGroup, std::less<>> groups_;
  std::vector<ConsumerGroupDowngrade> downgrades_;
  // Regexes new to their group, to resolve at the time given: (group, regex) -> when.
  std::map<std::pair<std::string, std::string>, int64_t> pending_regexes_;
  std::map<TimerKey, Timer> session_timers_;
  std::map<TimerKey, Timer> rebalance_timers_;
  // Both kinds, earliest first: (deadline, rebalance, key).
  std::set<std::tuple<int64_t, bool, TimerKey>> deadlines_;
};

}  // namespace runnel::coordinator
