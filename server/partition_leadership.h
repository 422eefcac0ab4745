// Partition leadership on a single node, in one place: this broker leads every partition it
// hosts, and a partition's leader epoch is the one its log has written at, never below the
// first epoch (0). A log that an earlier leader wrote at a higher epoch keeps that epoch, so
// Produce, the coordinators' appends and transaction markers write at it, Fetch and ListOffsets
// fence requests against it, and Metadata reports it: one answer per partition everywhere.
// Replication will keep the epoch in the partition's own state, moved by leader elections;
// these functions are where it will be read. The internal topics whose partitions elect a
// coordinator (this broker, for every one of them) are named here too.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "protocol/errors.h"
#include "storage/partition_log.h"

namespace runnel::server {

// A new partition's first leader epoch, as Kafka's.
inline constexpr int32_t kInitialLeaderEpoch = 0;

// The coordinators' topics (Kafka's names).
inline constexpr std::string_view kOffsetsTopic = "__consumer_offsets";
inline constexpr std::string_view kTransactionStateTopic = "__transaction_state";

// The leader epoch of `log`'s partition.
inline int32_t leader_epoch(const storage::PartitionLog& log) {
  return std::max(kInitialLeaderEpoch, log.latest_epoch());
}

// Kafka's check of a request's current_leader_epoch against the partition's (-1: not checked):
// older ⇒ FENCED_LEADER_EPOCH, newer ⇒ UNKNOWN_LEADER_EPOCH.
inline protocol::ErrorCode check_current_leader_epoch(const storage::PartitionLog& log,
                                                      int32_t requested) {
  if (requested < 0) return protocol::ErrorCode::NONE;
  const int32_t current = leader_epoch(log);
  if (requested < current) return protocol::ErrorCode::FENCED_LEADER_EPOCH;
  if (requested > current) return protocol::ErrorCode::UNKNOWN_LEADER_EPOCH;
  return protocol::ErrorCode::NONE;
}

}  // namespace runnel::server
