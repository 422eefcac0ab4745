// Internal to the consumer group code (consumer_groups.cc, consumer_group_classic.cc): the
// scratch copy every operation computes its records on, and the steps they share.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "coordinator/consumer_group.h"
#include "coordinator/consumer_groups.h"

namespace runnel::coordinator::consumer_group_internal {

using Type = ConsumerGroupRecordType;
using protocol::Bytes;

// A scratch copy of a group and the records that changed it, in order.
struct Change {
  Change(const ConsumerGroup* existing, const std::string& group_id)
      : group(existing ? *existing : ConsumerGroup(group_id)) {}

  void emit(Type type, const std::string& sub_key, std::optional<Bytes> value) {
    ConsumerGroupKey key{type, group.group_id(), sub_key};
    records.push_back({encode_consumer_group_key(key), std::move(value)});
    std::optional<std::span<const uint8_t>> v;
    if (records.back().value) v = std::span<const uint8_t>(*records.back().value);
    group.replay(key, v);
  }
  void put_metadata(const std::string& member, const ConsumerGroupMemberMetadataValue& v) {
    emit(Type::MemberMetadata, member, encode(v));
  }
  void put_current(const ConsumerGroupMember& m) {
    ConsumerGroupCurrentMemberAssignmentValue v;
    v.member_epoch = m.member_epoch;
    v.previous_member_epoch = m.previous_member_epoch;
    v.state = m.state;
    v.assigned_partitions = m.assigned_partitions;
    v.partitions_pending_revocation = m.partitions_pending_revocation;
    emit(Type::CurrentMemberAssignment, m.member_id, encode(v));
  }
  void put_target(const std::string& member, const TopicPartitionSet& parts) {
    emit(Type::TargetAssignmentMember, member,
         encode(ConsumerGroupTargetAssignmentMemberValue{parts}));
  }
  // Kafka's order: current assignment, target assignment, then the member itself.
  void remove_member(std::string member) {  // a copy: the replay erases the member
    emit(Type::CurrentMemberAssignment, member, std::nullopt);
    emit(Type::TargetAssignmentMember, member, std::nullopt);
    emit(Type::MemberMetadata, member, std::nullopt);
  }
  void bump_epoch(int64_t hash) {
    emit(Type::GroupMetadata, "",
         encode(ConsumerGroupMetadataValue{group.group_epoch() + 1, hash}));
  }
  // Deletes the resolved regexes no member subscribes to any more.
  void sweep_regexes() {
    std::set<std::string> used;
    for (const auto& [id, m] : group.members())
      if (m.metadata.subscribed_topic_regex) used.insert(*m.metadata.subscribed_topic_regex);
    std::vector<std::string> unused;
    for (const auto& [regex, v] : group.regexes())
      if (!used.count(regex)) unused.push_back(regex);
    for (const auto& regex : unused) emit(Type::RegularExpression, regex, std::nullopt);
  }

  ConsumerGroup group;
  std::vector<CoordinatorRecord> records;
};

bool intersects(const TopicPartitionSet& a, const TopicPartitionSet& b);
// The topic names a member subscribes to: its names and what its regex resolved to.
std::set<std::string> member_topics(const ConsumerGroup& g, const ConsumerGroupMember& m);
// A hash of the subscribed topics that exist (name, id, partitions): a change of it (a topic
// created, deleted or grown) asks for a new assignment. FNV-1a, not Kafka's hash: a group
// loaded from Kafka's records rebalances once.
int64_t metadata_hash(const ConsumerGroup& g, const TopicsImage& topics);
// Kafka's CurrentAssignmentBuilder: the member's next step towards its target. `owned` is
// what the member reported owning (nullopt: not reported).
ConsumerGroupMember reconcile(const ConsumerGroup& g, const ConsumerGroupMember& m,
                              const std::optional<TopicPartitionSet>& owned);
// Writes the new target assignment (TargetAssignmentMember records of the members whose target
// changed, then the TargetAssignmentMetadata of the group epoch).
void compute_target(Change& c, const ConsumerGroupConfig& config, const TopicsImage& topics,
                    int64_t now);

}  // namespace runnel::coordinator::consumer_group_internal
