#include "coordinator/consumer_group.h"

namespace runnel::coordinator {

using protocol::ErrorCode;

std::string_view to_string(ConsumerGroupState s) {
  switch (s) {
    case ConsumerGroupState::EMPTY:
      return "Empty";
    case ConsumerGroupState::ASSIGNING:
      return "Assigning";
    case ConsumerGroupState::RECONCILING:
      return "Reconciling";
    case ConsumerGroupState::STABLE:
      return "Stable";
    case ConsumerGroupState::DEAD:
      return "Dead";
  }
  return "Unknown";
}

std::string_view to_string(MemberState s) {
  switch (s) {
    case MemberState::STABLE:
      return "stable";
    case MemberState::UNREVOKED_PARTITIONS:
      return "unrevoked_partitions";
    case MemberState::UNRELEASED_PARTITIONS:
      return "unreleased_partitions";
    case MemberState::UNKNOWN:
      return "unknown";
  }
  return "unknown";
}

ConsumerGroupState ConsumerGroup::state() const {
  if (members_.empty()) return ConsumerGroupState::EMPTY;
  if (group_epoch_ > assignment_epoch_) return ConsumerGroupState::ASSIGNING;
  for (const auto& [id, m] : members_)
    if (m.state != MemberState::STABLE || m.member_epoch != assignment_epoch_)
      return ConsumerGroupState::RECONCILING;
  return ConsumerGroupState::STABLE;
}

bool ConsumerGroup::gone() const {
  return !exists_ && members_.empty() && target_.empty() && regexes_.empty();
}

const ConsumerGroupMember* ConsumerGroup::member(std::string_view member_id) const {
  auto it = members_.find(std::string(member_id));
  return it == members_.end() ? nullptr : &it->second;
}

const ConsumerGroupMember* ConsumerGroup::static_member(std::string_view instance_id) const {
  for (const auto& [id, m] : members_)
    if (m.metadata.instance_id && *m.metadata.instance_id == instance_id) return &m;
  return nullptr;
}

const TopicPartitionSet& ConsumerGroup::target(std::string_view member_id) const {
  static const TopicPartitionSet kNone;
  auto it = target_.find(member_id);
  return it == target_.end() ? kNone : it->second;
}

const std::string* ConsumerGroup::owner(const protocol::Uuid& topic, int32_t partition) const {
  auto it = owners_.find({topic, partition});
  return it == owners_.end() ? nullptr : &it->second;
}

ErrorCode ConsumerGroup::validate_offset_commit(std::string_view member_id,
                                                int32_t member_epoch) const {
  if (member_epoch < 0 && members_.empty()) return ErrorCode::NONE;
  const ConsumerGroupMember* m = member(member_id);
  if (!m) return ErrorCode::UNKNOWN_MEMBER_ID;
  // A member of the classic protocol commits with its generation, which is its member epoch.
  if (member_epoch != m->member_epoch)
    return m->metadata.classic_member_metadata ? ErrorCode::ILLEGAL_GENERATION
                                               : ErrorCode::STALE_MEMBER_EPOCH;
  return ErrorCode::NONE;
}

ConsumerGroupMember& ConsumerGroup::get_member(const std::string& member_id) {
  auto [it, inserted] = members_.try_emplace(member_id);
  if (inserted) it->second.member_id = member_id;
  return it->second;
}

void ConsumerGroup::release(const ConsumerGroupMember& m) {
  for (const auto* set : {&m.assigned_partitions, &m.partitions_pending_revocation})
    for (const auto& [topic, parts] : *set)
      for (int32_t p : parts) {
        auto it = owners_.find({topic, p});
        if (it != owners_.end() && it->second == m.member_id) owners_.erase(it);
      }
}

void ConsumerGroup::own(const ConsumerGroupMember& m) {
  for (const auto* set : {&m.assigned_partitions, &m.partitions_pending_revocation})
    for (const auto& [topic, parts] : *set)
      for (int32_t p : parts) owners_[{topic, p}] = m.member_id;
}

bool ConsumerGroup::replay(const ConsumerGroupKey& key,
                           std::optional<std::span<const uint8_t>> value) {
  switch (key.type) {
    case ConsumerGroupRecordType::GroupMetadata: {
      if (!value) {
        exists_ = false;
        group_epoch_ = 0;
        metadata_hash_ = 0;
        return true;
      }
      auto v = decode_consumer_group_metadata_value(*value);
      if (!v) return false;
      exists_ = true;
      group_epoch_ = v->epoch;
      metadata_hash_ = v->metadata_hash;
      return true;
    }
    case ConsumerGroupRecordType::PartitionMetadata:
      // Written by Kafka before 4.0; the metadata hash replaced it. Checked, then ignored.
      return !value || decode_consumer_group_partition_metadata_value(*value).has_value();
    case ConsumerGroupRecordType::MemberMetadata: {
      if (!value) {
        auto it = members_.find(key.sub_key);
        if (it != members_.end()) {
          release(it->second);
          members_.erase(it);
        }
        return true;
      }
      auto v = decode_consumer_group_member_metadata_value(*value);
      if (!v) return false;
      get_member(key.sub_key).metadata = std::move(*v);
      return true;
    }
    case ConsumerGroupRecordType::TargetAssignmentMetadata: {
      if (!value) {
        assignment_epoch_ = 0;
        assignment_timestamp_ = 0;
        return true;
      }
      auto v = decode_consumer_group_target_assignment_metadata_value(*value);
      if (!v) return false;
      assignment_epoch_ = v->assignment_epoch;
      assignment_timestamp_ = v->assignment_timestamp;
      return true;
    }
    case ConsumerGroupRecordType::TargetAssignmentMember: {
      if (!value) {
        target_.erase(key.sub_key);
        return true;
      }
      auto v = decode_consumer_group_target_assignment_member_value(*value);
      if (!v) return false;
      target_[key.sub_key] = std::move(v->partitions);
      return true;
    }
    case ConsumerGroupRecordType::CurrentMemberAssignment: {
      std::optional<ConsumerGroupCurrentMemberAssignmentValue> v;
      if (value) {
        v = decode_consumer_group_current_member_assignment_value(*value);
        if (!v) return false;
      }
      auto it = members_.find(key.sub_key);
      if (it == members_.end()) {
        if (!v) return true;
        it = members_.find(get_member(key.sub_key).member_id);
      }
      ConsumerGroupMember& m = it->second;
      release(m);
      if (!v) v.emplace();  // a tombstone resets the member's assignment
      m.member_epoch = v->member_epoch;
      m.previous_member_epoch = v->previous_member_epoch;
      m.state = v->state;
      m.assigned_partitions = std::move(v->assigned_partitions);
      m.partitions_pending_revocation = std::move(v->partitions_pending_revocation);
      own(m);
      return true;
    }
    case ConsumerGroupRecordType::RegularExpression: {
      if (!value) {
        regexes_.erase(key.sub_key);
        return true;
      }
      auto v = decode_consumer_group_regular_expression_value(*value);
      if (!v) return false;
      regexes_[key.sub_key] = std::move(*v);
      return true;
    }
  }
  return false;
}

}  // namespace runnel::coordinator
