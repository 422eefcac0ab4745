// Committed offsets of consumer groups as a pure, replayable store.
//
// The __consumer_offsets topic is the truth; an OffsetStore is the state obtained by replaying
// it. replay() is the only way the state changes, so loading a partition of the topic after a
// restart or a coordinator move is replaying its records in order. The prepare_* methods and
// expire() change nothing: they return the records to append; the owner appends them and then
// replays them (a failed append therefore leaves the state as it was).
//
// Records are described in coordinator/offsets_records.h. OffsetCommit records set or (as
// tombstones) delete one offset; GroupMetadata records and keys of other versions belong to
// other parts of the coordinator and are accepted and ignored here.
//
// Expiry follows Kafka 2.1+: only the offsets of a group without members expire (the owner
// says which groups are empty; a group that only commits offsets counts as empty). Such an
// offset committed with an explicit expire timestamp (value v1) expires once now >= that
// timestamp; any other once now - commit_timestamp >= retention.
//
// An OffsetStore does no I/O, never reads the clock and is not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coordinator/offsets_records.h"
#include "coordinator/runtime.h"
#include "protocol/errors.h"
#include "protocol/wire.h"

namespace runnel::coordinator {

// offset.metadata.max.bytes
inline constexpr size_t kDefaultOffsetMetadataMaxBytes = 4096;

struct CommittedOffset {
  int64_t offset = 0;
  int32_t leader_epoch = -1;  // -1: none
  std::string metadata;
  int64_t commit_timestamp = 0;
  int64_t expire_timestamp = -1;  // -1: none
  bool operator==(const CommittedOffset&) const = default;
};

struct TopicPartitionOffset {
  std::string topic;
  int32_t partition = 0;
  CommittedOffset committed;
  bool operator==(const TopicPartitionOffset&) const = default;
};

// One record to append to __consumer_offsets; no value means a tombstone.
using OffsetsTopicRecord = CoordinatorRecord;

struct PreparedCommit {
  protocol::ErrorCode error = protocol::ErrorCode::NONE;
  std::vector<OffsetsTopicRecord> records;  // empty unless error is NONE
};

// OFFSET_METADATA_TOO_LARGE when `metadata` is longer than `max_bytes` (counted as Kafka
// does, in UTF-16 code units), NONE otherwise.
protocol::ErrorCode check_offset_metadata_size(std::string_view metadata,
                                               size_t max_bytes = kDefaultOffsetMetadataMaxBytes);

class OffsetStore {
 public:
  explicit OffsetStore(size_t metadata_max_bytes = kDefaultOffsetMetadataMaxBytes)
      : metadata_max_bytes_(metadata_max_bytes) {}

  // Applies one record of __consumer_offsets. CORRUPT_MESSAGE (and no change) when the key or
  // the value cannot be decoded; NONE otherwise.
  protocol::ErrorCode replay(std::span<const uint8_t> key,
                             std::optional<std::span<const uint8_t>> value);

  // The record that commits `offset`: value v3, or v1 when the commit carries its own
  // expire timestamp (OffsetCommit v2-4's retention time), as Kafka writes them.
  // OFFSET_METADATA_TOO_LARGE and no records when the metadata is too long.
  PreparedCommit prepare_commit(std::string_view group, std::string_view topic, int32_t partition,
                                int64_t offset, int32_t leader_epoch, std::string_view metadata,
                                int64_t now_ms, int64_t expire_timestamp = -1) const;

  std::optional<CommittedOffset> fetch(std::string_view group, std::string_view topic,
                                       int32_t partition) const;
  // Every offset of the group, ordered by topic then partition.
  std::vector<TopicPartitionOffset> fetch_all(std::string_view group) const;
  bool has_offsets(std::string_view group) const;
  std::vector<std::string> groups() const;

  // Tombstones for every offset of the group.
  std::vector<OffsetsTopicRecord> prepare_delete_group(std::string_view group) const;
  // Tombstones for those of the given partitions that have an offset.
  std::vector<OffsetsTopicRecord> prepare_delete_offsets(
      std::string_view group, const std::vector<std::pair<std::string, int32_t>>& partitions) const;
  // Tombstones for the offsets that have expired at `now_ms` (see the header comment).
  // `group_is_empty` says whether a group has no members.
  std::vector<OffsetsTopicRecord> expire(
      int64_t now_ms, int64_t retention_ms,
      const std::function<bool(std::string_view group)>& group_is_empty) const;
  // The same with the time retention counts from chosen per group: `expiry_base` returns
  // nullopt when the group's offsets do not expire (it has members), -1 to count from each
  // offset's commit timestamp, or the time to count from (Kafka: when a consumer group
  // became Empty). An explicit expire timestamp still wins.
  std::vector<OffsetsTopicRecord> expire_from(
      int64_t now_ms, int64_t retention_ms,
      const std::function<std::optional<int64_t>(std::string_view group)>& expiry_base) const;

 private:
  using PartitionKey = std::pair<std::string, int32_t>;
  using GroupOffsets = std::map<PartitionKey, CommittedOffset, std::less<>>;

  const GroupOffsets* find_group(std::string_view group) const;

  size_t metadata_max_bytes_;
  std::map<std::string, GroupOffsets, std::less<>> groups_;
};

}  // namespace runnel::coordinator
