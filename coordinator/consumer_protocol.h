// The consumer protocol embedded in the classic group protocol: what a Java-style consumer
// puts in JoinGroup's protocol metadata (its subscription) and what the leader hands out in
// SyncGroup (each member's assignment). The consumer group coordinator reads both when a
// classic group converts into a consumer group (KIP-848 online migration) and when classic
// members take part in a consumer group, and writes assignments for those members.
//
// Both are non-flexible, prefixed with an int16 version; strings are int16 length + bytes,
// bytes int32 length + bytes (-1: null), arrays int32 count. Later versions than this code
// knows are read as their known prefix, as Kafka's ConsumerProtocol reads them.
//   Subscription  v0 [string topic] | nullable bytes user_data
//                 v1 + [owned: string topic | [int32 partition]]
//                 v2 + int32 generation_id   v3 + nullable string rack_id
//   Assignment    v0 [assigned: string topic | [int32 partition]] | nullable bytes user_data
//                 (v1-3 add nothing on the wire)
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

// Partitions by topic name, both sorted.
using NamedPartitions = std::map<std::string, std::set<int32_t>>;

struct ConsumerProtocolSubscription {
  std::vector<std::string> topics;
  std::optional<protocol::Bytes> user_data;
  NamedPartitions owned_partitions;
  int32_t generation_id = -1;
  std::optional<std::string> rack_id;
};

struct ConsumerProtocolAssignment {
  NamedPartitions partitions;
  std::optional<protocol::Bytes> user_data;
};

// nullopt when the bytes are not one (truncated, a negative version or count).
std::optional<ConsumerProtocolSubscription> decode_consumer_subscription(
    std::span<const uint8_t> bytes);
std::optional<ConsumerProtocolAssignment> decode_consumer_assignment(
    std::span<const uint8_t> bytes);
// Version 3 for a subscription; an assignment in `version` (0-3: the same bytes after it).
protocol::Bytes encode_consumer_subscription(const ConsumerProtocolSubscription& s);
protocol::Bytes encode_consumer_assignment(const ConsumerProtocolAssignment& a,
                                           int16_t version = 3);

}  // namespace runnel::coordinator
