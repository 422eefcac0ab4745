// Records of the consumer group protocol (KIP-848) in __consumer_offsets, in the byte layout
// Kafka writes.
//
// Keys are not flexible: int16 record type | the key's fields, strings as int16 length + bytes.
//   3  ConsumerGroupMetadata            string group
//   4  ConsumerGroupPartitionMetadata   string group                 (read, not written)
//   5  ConsumerGroupMemberMetadata      string group | string member
//   6  ConsumerGroupTargetAssignmentMetadata   string group
//   7  ConsumerGroupTargetAssignmentMember     string group | string member
//   8  ConsumerGroupCurrentMemberAssignment    string group | string member
//   16 ConsumerGroupRegularExpression   string group | string regex
//
// Values are int16 version (0, the only one) followed by flexible fields: strings and arrays
// carry uvarint (length + 1) (0: null), uuids are 16 raw bytes, and every struct ends with its
// tagged fields (uvarint count, then per field uvarint tag, uvarint size, data).
//   3  int32 epoch | tags {0: int64 metadata_hash}
//   4  [topic: uuid id | string name | int32 partitions |
//          [partition: int32 partition | [string rack] | tags] | tags] | tags
//   5  nullable string instance_id | nullable string rack_id | string client_id |
//      string client_host | [string subscribed_topic_names] | nullable string regex |
//      int32 rebalance_timeout_ms | nullable string server_assignor |
//      tags {0: nullable classic member metadata: uvarint presence (0: null) |
//            int32 session_timeout_ms | [protocol: string name | bytes metadata | tags] | tags}
//   6  int32 assignment_epoch | tags {0: int64 assignment_timestamp}
//   7  [topic: uuid id | [int32 partition] | tags] | tags
//   8  int32 member_epoch | int32 previous_member_epoch | int8 state |
//      [assigned: uuid id | [int32 partition] | tags {0: nullable [int32 epoch]}] |
//      [pending revocation: same] | tags
//   16 [string topic] | int64 version | int64 timestamp | tags
//
// A null value (a tombstone) deletes what its key names. Decoding consumes every byte and
// rejects truncated or trailing bytes, lengths beyond the bytes left, nulls where a value is
// required and versions other than 0. Unknown tagged fields are skipped, as Kafka skips them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "protocol/wire.h"

namespace runnel::coordinator {

enum class ConsumerGroupRecordType : int16_t {
  GroupMetadata = 3,
  PartitionMetadata = 4,
  MemberMetadata = 5,
  TargetAssignmentMetadata = 6,
  TargetAssignmentMember = 7,
  CurrentMemberAssignment = 8,
  RegularExpression = 16,
};

// True for the record types above.
bool is_consumer_group_record_type(int16_t type);

// Partitions by topic id, both sorted: the form of every assignment in the consumer group code.
using TopicPartitionSet = std::map<protocol::Uuid, std::set<int32_t>>;

struct ConsumerGroupKey {
  ConsumerGroupRecordType type = ConsumerGroupRecordType::GroupMetadata;
  std::string group_id;
  // The member id (types 5, 7, 8) or the regular expression (type 16); empty otherwise.
  std::string sub_key;
  bool operator==(const ConsumerGroupKey&) const = default;
};

struct ConsumerGroupMetadataValue {
  int32_t epoch = 0;
  int64_t metadata_hash = 0;
  bool operator==(const ConsumerGroupMetadataValue&) const = default;
};

struct ConsumerGroupPartitionMetadataValue {
  struct Topic {
    protocol::Uuid topic_id;
    std::string topic_name;
    int32_t num_partitions = 0;
    bool operator==(const Topic&) const = default;
  };
  std::vector<Topic> topics;  // the per-partition racks are read and dropped (unused since 4.0)
  bool operator==(const ConsumerGroupPartitionMetadataValue&) const = default;
};

// What a member that speaks the classic protocol inside a consumer group (KIP-848 online
// migration) sent in its JoinGroup: its session timeout and the protocols it supports.
struct ClassicMemberMetadata {
  struct Protocol {
    std::string name;
    protocol::Bytes metadata;
    bool operator==(const Protocol&) const = default;
  };
  int32_t session_timeout_ms = 0;
  std::vector<Protocol> supported_protocols;
  bool operator==(const ClassicMemberMetadata&) const = default;
};

struct ConsumerGroupMemberMetadataValue {
  std::optional<std::string> instance_id;
  std::optional<std::string> rack_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::string> subscribed_topic_names;
  std::optional<std::string> subscribed_topic_regex;
  int32_t rebalance_timeout_ms = -1;
  std::optional<std::string> server_assignor;
  // Tag 0: set while the member uses the classic protocol (null: the consumer protocol).
  std::optional<ClassicMemberMetadata> classic_member_metadata;
  bool operator==(const ConsumerGroupMemberMetadataValue&) const = default;
};

struct ConsumerGroupTargetAssignmentMetadataValue {
  int32_t assignment_epoch = 0;
  int64_t assignment_timestamp = 0;
  bool operator==(const ConsumerGroupTargetAssignmentMetadataValue&) const = default;
};

struct ConsumerGroupTargetAssignmentMemberValue {
  TopicPartitionSet partitions;
  bool operator==(const ConsumerGroupTargetAssignmentMemberValue&) const = default;
};

// Kafka's MemberState as stored (its byte values).
enum class MemberState : int8_t {
  STABLE = 0,
  UNREVOKED_PARTITIONS = 1,
  UNRELEASED_PARTITIONS = 2,
  UNKNOWN = 127,
};

struct ConsumerGroupCurrentMemberAssignmentValue {
  int32_t member_epoch = 0;
  int32_t previous_member_epoch = 0;
  MemberState state = MemberState::STABLE;
  TopicPartitionSet assigned_partitions;
  TopicPartitionSet partitions_pending_revocation;
  bool operator==(const ConsumerGroupCurrentMemberAssignmentValue&) const = default;
};

struct ConsumerGroupRegularExpressionValue {
  std::vector<std::string> topics;
  int64_t version = 0;
  int64_t timestamp = 0;
  bool operator==(const ConsumerGroupRegularExpressionValue&) const = default;
};

protocol::Bytes encode_consumer_group_key(const ConsumerGroupKey& key);
// nullopt when the bytes are malformed or not a consumer group record type.
std::optional<ConsumerGroupKey> decode_consumer_group_key(std::span<const uint8_t> bytes);

protocol::Bytes encode(const ConsumerGroupMetadataValue& v);
protocol::Bytes encode(const ConsumerGroupPartitionMetadataValue& v);
protocol::Bytes encode(const ConsumerGroupMemberMetadataValue& v);
protocol::Bytes encode(const ConsumerGroupTargetAssignmentMetadataValue& v);
protocol::Bytes encode(const ConsumerGroupTargetAssignmentMemberValue& v);
protocol::Bytes encode(const ConsumerGroupCurrentMemberAssignmentValue& v);
protocol::Bytes encode(const ConsumerGroupRegularExpressionValue& v);

std::optional<ConsumerGroupMetadataValue> decode_consumer_group_metadata_value(
    std::span<const uint8_t> bytes);
std::optional<ConsumerGroupPartitionMetadataValue> decode_consumer_group_partition_metadata_value(
    std::span<const uint8_t> bytes);
std::optional<ConsumerGroupMemberMetadataValue> decode_consumer_group_member_metadata_value(
    std::span<const uint8_t> bytes);
std::optional<ConsumerGroupTargetAssignmentMetadataValue>
decode_consumer_group_target_assignment_metadata_value(std::span<const uint8_t> bytes);
std::optional<ConsumerGroupTargetAssignmentMemberValue>
decode_consumer_group_target_assignment_member_value(std::span<const uint8_t> bytes);
std::optional<ConsumerGroupCurrentMemberAssignmentValue>
decode_consumer_group_current_member_assignment_value(std::span<const uint8_t> bytes);
std::optional<ConsumerGroupRegularExpressionValue> decode_consumer_group_regular_expression_value(
    std::span<const uint8_t> bytes);

}  // namespace runnel::coordinator
