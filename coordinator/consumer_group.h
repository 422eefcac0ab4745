// A consumer group of the consumer group protocol (KIP-848): its state as the records of
// consumer_group_records.h leave it.
//
// A ConsumerGroup changes only by replay() of those records, at run time (after the
// coordinator appended them) and at load alike. The operations that compute the records live
// in consumer_groups.h.
//
// What the records hold (Kafka's model):
//   group epoch        bumped whenever the members or their subscriptions (or the subscribed
//                      topics' partitions) change; it asks for a new target assignment
//   target assignment  the partitions each member should own, computed by the assignor for
//                      the assignment epoch (== group epoch once computed)
//   member             its subscription (topic names and/or a regex), and its current
//                      assignment: member epoch, previous member epoch, state, the partitions
//                      it owns and those it must revoke first
//   regular expression the topics a subscribed regex matched, resolved by the coordinator
//
// Group states (derived, as Kafka derives them):
//   EMPTY        no members
//   ASSIGNING    group epoch > assignment epoch: the target is not computed yet
//   RECONCILING  some member is not STABLE at the assignment epoch
//   STABLE       every member owns its target at the assignment epoch
//   DEAD         the group was deleted (only reported for groups that do not exist)
//
// Member states (stored; Kafka's MemberState):
//   STABLE                 owns its target assignment (or waits for a new epoch)
//   UNREVOKED_PARTITIONS   must acknowledge the revocation of partitions first; its epoch
//                          stays until it does
//   UNRELEASED_PARTITIONS  is at the target epoch but some of its target partitions are
//                          still owned (or being revoked) by other members
// Transitions (CurrentAssignmentBuilder in consumer_groups.cc):
//   STABLE -> UNREVOKED_PARTITIONS | UNRELEASED_PARTITIONS | STABLE (new target epoch)
//   UNREVOKED_PARTITIONS -> UNREVOKED_PARTITIONS (still owns revoked partitions)
//                         | STABLE | UNRELEASED_PARTITIONS (revocation acknowledged)
//   UNRELEASED_PARTITIONS -> STABLE (partitions released) | UNREVOKED_PARTITIONS (new target)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coordinator/consumer_group_records.h"
#include "protocol/errors.h"

namespace runnel::coordinator {

// Member epochs a heartbeat carries (Kafka's constants).
inline constexpr int32_t kJoinGroupMemberEpoch = 0;
inline constexpr int32_t kLeaveGroupMemberEpoch = -1;
inline constexpr int32_t kLeaveGroupStaticMemberEpoch = -2;

enum class ConsumerGroupState { EMPTY, ASSIGNING, RECONCILING, STABLE, DEAD };
// Kafka's names: "Empty", "Assigning", "Reconciling", "Stable", "Dead".
std::string_view to_string(ConsumerGroupState s);
std::string_view to_string(MemberState s);

struct ConsumerGroupMember {
  std::string member_id;
  ConsumerGroupMemberMetadataValue metadata;
  int32_t member_epoch = 0;
  int32_t previous_member_epoch = 0;
  MemberState state = MemberState::STABLE;
  TopicPartitionSet assigned_partitions;
  TopicPartitionSet partitions_pending_revocation;
  bool operator==(const ConsumerGroupMember&) const = default;
};

class ConsumerGroup {
 public:
  explicit ConsumerGroup(std::string group_id) : group_id_(std::move(group_id)) {}

  // Applies one record of this group (value null: a tombstone). False when the value is
  // malformed (nothing changes then).
  bool replay(const ConsumerGroupKey& key, std::optional<std::span<const uint8_t>> value);

  const std::string& group_id() const { return group_id_; }
  int32_t group_epoch() const { return group_epoch_; }
  int64_t metadata_hash() const { return metadata_hash_; }
  int32_t assignment_epoch() const { return assignment_epoch_; }
  int64_t assignment_timestamp() const { return assignment_timestamp_; }
  ConsumerGroupState state() const;
  // True once the group's metadata record was replayed and until its tombstone.
  bool exists() const { return exists_; }
  // True when no record of the group is left in memory (it can be dropped).
  bool gone() const;

  const std::map<std::string, ConsumerGroupMember>& members() const { return members_; }
  const ConsumerGroupMember* member(std::string_view member_id) const;
  const ConsumerGroupMember* static_member(std::string_view instance_id) const;
  // The member's partitions in the target assignment (empty when it has none).
  const TopicPartitionSet& target(std::string_view member_id) const;
  const std::map<std::string, TopicPartitionSet, std::less<>>& targets() const { return target_; }
  const std::map<std::string, ConsumerGroupRegularExpressionValue, std::less<>>& regexes() const {
    return regexes_;
  }
  // The member owning (or still revoking) the partition; null when it is free.
  const std::string* owner(const protocol::Uuid& topic, int32_t partition) const;

  // Kafka's validation of an OffsetCommit for a consumer group: a commit with a negative
  // epoch is a standalone commit, allowed while the group has no members; otherwise the member
  // must exist (UNKNOWN_MEMBER_ID) and the epoch be its current one (STALE_MEMBER_EPOCH, or
  // ILLEGAL_GENERATION for a member of the classic protocol, whose generation it is).
  protocol::ErrorCode validate_offset_commit(std::string_view member_id,
                                             int32_t member_epoch) const;

 private:
  ConsumerGroupMember& get_member(const std::string& member_id);
  void release(const ConsumerGroupMember& m);
  void own(const ConsumerGroupMember& m);

  std::string group_id_;
  bool exists_ = false;
  int32_t group_epoch_ = 0;
  int64_t metadata_hash_ = 0;
  int32_t assignment_epoch_ = 0;
  int64_t assignment_timestamp_ = 0;
  std::map<std::string, ConsumerGroupMember> members_;
  std::map<std::string, TopicPartitionSet, std::less<>> target_;
  std::map<std::string, ConsumerGroupRegularExpressionValue, std::less<>> regexes_;
  // Every partition some member owns or is revoking, and that member.
  std::map<std::pair<protocol::Uuid, int32_t>, std::string> owners_;
};

}  // namespace runnel::coordinator
