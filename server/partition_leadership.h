// Partition leadership on a single node: this broker leads every partition,
// at one leader epoch that never changes. Produce appends with this epoch,
// Fetch and ListOffsets fence requests against it, Metadata reports it.
// Replication will replace the constant with per-partition state.
#pragma once

#include <cstdint>

#include "protocol/errors.h"

namespace runnel::server {

inline constexpr int32_t kPartitionLeaderEpoch = 0;

// Kafka's check of a request's current_leader_epoch (-1: not checked):
// older than the leader's ⇒ FENCED_LEADER_EPOCH, newer ⇒ UNKNOWN_LEADER_EPOCH.
inline protocol::ErrorCode check_current_leader_epoch(int32_t requested) {
  if (requested < 0) return protocol::ErrorCode::NONE;
  if (requested < kPartitionLeaderEpoch) return protocol::ErrorCode::FENCED_LEADER_EPOCH;
  if (requested > kPartitionLeaderEpoch) return protocol::ErrorCode::UNKNOWN_LEADER_EPOCH;
  return protocol::ErrorCode::NONE;
}

}  // namespace runnel::server
