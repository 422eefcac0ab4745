// Partition leadership on a single node: this broker leads every partition,
// at one leader epoch that never changes. Produce, the coordinators' appends
// and transaction markers write with this epoch, Fetch and ListOffsets fence
// requests against it, Metadata reports it. Replication will replace the
// constant with per-partition state. The internal topics whose partitions
// elect a coordinator (this broker, for every one of them) are named here too.
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/errors.h"

namespace runnel::server {

inline constexpr int32_t kPartitionLeaderEpoch = 0;

// The coordinators' topics (Kafka's names).
inline constexpr std::string_view kOffsetsTopic = "__consumer_offsets";
inline constexpr std::string_view kTransactionStateTopic = "__transaction_state";

// Kafka's check of a request's current_leader_epoch (-1: not checked):
// older than the leader's ⇒ FENCED_LEADER_EPOCH, newer ⇒ UNKNOWN_LEADER_EPOCH.
inline protocol::ErrorCode check_current_leader_epoch(int32_t requested) {
  if (requested < 0) return protocol::ErrorCode::NONE;
  if (requested < kPartitionLeaderEpoch) return protocol::ErrorCode::FENCED_LEADER_EPOCH;
  if (requested > kPartitionLeaderEpoch) return protocol::ErrorCode::UNKNOWN_LEADER_EPOCH;
  return protocol::ErrorCode::NONE;
}

}  // namespace runnel::server
