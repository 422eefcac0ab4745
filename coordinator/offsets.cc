#include "coordinator/offsets.h"

namespace runnel::coordinator {

namespace {

using protocol::ErrorCode;

OffsetsTopicRecord tombstone(std::string_view group, std::string_view topic, int32_t partition) {
  return {encode_offset_commit_key({std::string(group), std::string(topic), partition}),
          std::nullopt};
}

}  // namespace

ErrorCode check_offset_metadata_size(std::string_view metadata, size_t max_bytes) {
  if (metadata.size() <= max_bytes) return ErrorCode::NONE;  // UTF-16 units <= UTF-8 bytes
  return java_string_length(metadata) > max_bytes ? ErrorCode::OFFSET_METADATA_TOO_LARGE
                                                  : ErrorCode::NONE;
}

ErrorCode OffsetStore::replay(std::span<const uint8_t> key,
                              std::optional<std::span<const uint8_t>> value) {
  auto decoded_key = decode_offsets_topic_key(key);
  if (!decoded_key) return ErrorCode::CORRUPT_MESSAGE;
  auto* commit_key = std::get_if<OffsetCommitKey>(&*decoded_key);
  if (!commit_key) return ErrorCode::NONE;  // not an offset: someone else's record
  if (!value) {
    auto g = groups_.find(commit_key->group);
    if (g == groups_.end()) return ErrorCode::NONE;
    g->second.erase(PartitionKey{commit_key->topic, commit_key->partition});
    if (g->second.empty()) groups_.erase(g);
    return ErrorCode::NONE;
  }
  auto decoded_value = decode_offset_commit_value(*value);
  if (!decoded_value) return ErrorCode::CORRUPT_MESSAGE;
  CommittedOffset c;
  c.offset = decoded_value->offset;
  c.leader_epoch = decoded_value->leader_epoch;
  c.metadata = std::move(decoded_value->metadata);
  c.commit_timestamp = decoded_value->commit_timestamp;
  c.expire_timestamp = decoded_value->expire_timestamp;
  groups_[commit_key->group][PartitionKey{commit_key->topic, commit_key->partition}] = std::move(c);
  return ErrorCode::NONE;
}

PreparedCommit OffsetStore::prepare_commit(std::string_view group, std::string_view topic,
                                           int32_t partition, int64_t offset, int32_t leader_epoch,
                                           std::string_view metadata, int64_t now_ms,
                                           int64_t expire_timestamp) const {
  PreparedCommit out;
  out.error = check_offset_metadata_size(metadata, metadata_max_bytes_);
  if (out.error != ErrorCode::NONE) return out;
  OffsetCommitValue v;
  v.offset = offset;
  v.leader_epoch = leader_epoch;
  v.metadata = std::string(metadata);
  v.commit_timestamp = now_ms;
  v.expire_timestamp = expire_timestamp;
  out.records.push_back(
      {encode_offset_commit_key({std::string(group), std::string(topic), partition}),
       encode_offset_commit_value(v, expire_timestamp >= 0 ? 1 : kOffsetCommitValueVersion)});
  return out;
}

const OffsetStore::GroupOffsets* OffsetStore::find_group(std::string_view group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? nullptr : &it->second;
}

std::optional<CommittedOffset> OffsetStore::fetch(std::string_view group, std::string_view topic,
                                                  int32_t partition) const {
  const GroupOffsets* g = find_group(group);
  if (!g) return std::nullopt;
  auto it = g->find(PartitionKey{std::string(topic), partition});
  if (it == g->end()) return std::nullopt;
  return it->second;
}

std::vector<TopicPartitionOffset> OffsetStore::fetch_all(std::string_view group) const {
  std::vector<TopicPartitionOffset> out;
  if (const GroupOffsets* g = find_group(group)) {
    out.reserve(g->size());
    for (const auto& [tp, c] : *g) out.push_back({tp.first, tp.second, c});
  }
  return out;
}

bool OffsetStore::has_offsets(std::string_view group) const { return find_group(group); }

std::vector<std::string> OffsetStore::groups() const {
  std::vector<std::string> out;
  out.reserve(groups_.size());
  for (const auto& [name, _] : groups_) out.push_back(name);
  return out;
}

std::vector<OffsetsTopicRecord> OffsetStore::prepare_delete_group(std::string_view group) const {
  std::vector<OffsetsTopicRecord> out;
  if (const GroupOffsets* g = find_group(group))
    for (const auto& [tp, _] : *g) out.push_back(tombstone(group, tp.first, tp.second));
  return out;
}

std::vector<OffsetsTopicRecord> OffsetStore::prepare_delete_offsets(
    std::string_view group, const std::vector<std::pair<std::string, int32_t>>& partitions) const {
  std::vector<OffsetsTopicRecord> out;
  const GroupOffsets* g = find_group(group);
  if (!g) return out;
  for (const auto& tp : partitions)
    if (g->count(tp)) out.push_back(tombstone(group, tp.first, tp.second));
  return out;
}

std::vector<OffsetsTopicRecord> OffsetStore::expire(
    int64_t now_ms, int64_t retention_ms,
    const std::function<bool(std::string_view group)>& group_is_empty) const {
  return expire_from(now_ms, retention_ms, [&](std::string_view group) -> std::optional<int64_t> {
    if (!group_is_empty(group)) return std::nullopt;
    return -1;
  });
}

std::vector<OffsetsTopicRecord> OffsetStore::expire_from(
    int64_t now_ms, int64_t retention_ms,
    const std::function<std::optional<int64_t>(std::string_view group)>& expiry_base) const {
  std::vector<OffsetsTopicRecord> out;
  for (const auto& [group, offsets] : groups_) {
    const std::optional<int64_t> base = expiry_base(group);
    if (!base) continue;
    for (const auto& [tp, c] : offsets) {
      // Written as subtractions and comparisons as Kafka does; a timestamp difference does
      // not overflow for any realistic clock value.
      const int64_t from = *base >= 0 ? *base : c.commit_timestamp;
      const bool expired =
          c.expire_timestamp >= 0 ? now_ms >= c.expire_timestamp : now_ms - from >= retention_ms;
      if (expired) out.push_back(tombstone(group, tp.first, tp.second));
    }
  }
  return out;
}

}  // namespace runnel::coordinator
