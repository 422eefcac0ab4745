// Records of the internal __consumer_offsets topic, in the byte layout Kafka writes, and the
// mapping of a group id to its partition of that topic.
//
// Every integer is big-endian; a string is an int16 length followed by that many UTF-8 bytes
// (these versions are not flexible: no varints, no tagged fields).
//
// Keys (the first int16 is the key version and says which kind of record this is):
//   OffsetCommit key, version 0 or 1 (Runnel writes 1; both have the same layout):
//     int16 version | string group | string topic | int32 partition
//   GroupMetadata key, version 2:
//     int16 version | string group
//
// OffsetCommit values (the first int16 is the value version):
//   v0: int16 0 | int64 offset | string metadata | int64 commit_timestamp
//   v1: int16 1 | int64 offset | string metadata | int64 commit_timestamp | int64 expire_timestamp
//   v2: int16 2 | int64 offset | string metadata | int64 commit_timestamp
//   v3: int16 3 | int64 offset | int32 leader_epoch | string metadata | int64 commit_timestamp
// Runnel writes v3. Versions without a leader epoch decode to leader_epoch = -1 ("none");
// versions without an expire timestamp decode to expire_timestamp = -1 ("none").
//
// GroupMetadata values (a nullable string is an int16 length, -1 for null; bytes are an int32
// length followed by the bytes):
//   int16 version (0..3) | string protocol_type | int32 generation | nullable string protocol |
//   nullable string leader | int64 current_state_timestamp (v2+) | int32 member count, then
//   per member: string member_id | nullable string group_instance_id (v3+) | string client_id |
//   string client_host | int32 rebalance_timeout (v1+) | int32 session_timeout |
//   bytes subscription | bytes assignment
// Runnel writes v3. Missing fields decode as: no instance id, rebalance timeout = session
// timeout, state timestamp -1.
//
// A record whose value is null (a tombstone) deletes what its key names.
//
// Decoding requires every byte to be consumed: truncated or trailing bytes, negative string
// lengths and unknown value versions are rejected, never trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/wire.h"

namespace runnel::coordinator {

inline constexpr int16_t kOffsetCommitKeyVersion = 1;
inline constexpr int16_t kGroupMetadataKeyVersion = 2;
inline constexpr int16_t kOffsetCommitValueVersion = 3;

struct OffsetCommitKey {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  bool operator==(const OffsetCommitKey&) const = default;
};

struct GroupMetadataKey {
  std::string group;
  bool operator==(const GroupMetadataKey&) const = default;
};

// A key whose version is not one of the above (for example the records of the newer consumer
// group protocol). Its value is not interpreted here.
struct OtherKey {
  int16_t version = 0;
  bool operator==(const OtherKey&) const = default;
};

using OffsetsTopicKey = std::variant<OffsetCommitKey, GroupMetadataKey, OtherKey>;

struct OffsetCommitValue {
  int64_t offset = 0;
  int32_t leader_epoch = -1;  // -1: none
  std::string metadata;
  int64_t commit_timestamp = 0;
  int64_t expire_timestamp = -1;  // -1: none (only version 1 carries one)
  bool operator==(const OffsetCommitValue&) const = default;
};

// A classic group as of its last completed rebalance (or of becoming Empty).
struct GroupMetadataMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  protocol::Bytes subscription;  // the member's metadata for the selected protocol
  protocol::Bytes assignment;
  bool operator==(const GroupMetadataMember&) const = default;
};

struct GroupMetadataValue {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t current_state_timestamp = -1;
  std::vector<GroupMetadataMember> members;
  bool operator==(const GroupMetadataValue&) const = default;
};

inline constexpr int16_t kGroupMetadataValueVersion = 3;

protocol::Bytes encode_offset_commit_key(const OffsetCommitKey& key);
protocol::Bytes encode_group_metadata_key(const GroupMetadataKey& key);
// nullopt when the bytes are malformed (truncated, trailing bytes, negative lengths).
std::optional<OffsetsTopicKey> decode_offsets_topic_key(std::span<const uint8_t> bytes);

// `version` must be 0..3; fields the version lacks are not written.
protocol::Bytes encode_offset_commit_value(const OffsetCommitValue& value,
                                           int16_t version = kOffsetCommitValueVersion);
// nullopt when the bytes are malformed or the version is not 0..3.
std::optional<OffsetCommitValue> decode_offset_commit_value(std::span<const uint8_t> bytes);

// `version` must be 0..3.
protocol::Bytes encode_group_metadata_value(const GroupMetadataValue& value,
                                            int16_t version = kGroupMetadataValueVersion);
// nullopt when the bytes are malformed or the version is not 0..3. Member counts and lengths
// are checked against the bytes present before anything is allocated.
std::optional<GroupMetadataValue> decode_group_metadata_value(std::span<const uint8_t> bytes);

// Java's String.hashCode() of `s` read as UTF-8 and hashed over UTF-16 code units (code points
// above U+FFFF count as a surrogate pair). A malformed UTF-8 byte counts as U+FFFD, as Java's
// decoder replaces it.
int32_t java_string_hash(std::string_view s);
// Number of UTF-16 code units of `s` read as UTF-8 (Java's String.length()).
size_t java_string_length(std::string_view s);

// The __consumer_offsets partition that holds `group_id`:
// (java_string_hash(group_id) & 0x7fffffff) % num_partitions. num_partitions must be > 0.
int32_t partition_for_group(std::string_view group_id, int32_t num_partitions);

}  // namespace runnel::coordinator
