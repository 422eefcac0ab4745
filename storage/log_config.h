// Per-topic log settings: the broker's defaults overridden by the topic's
// configs. Keys are Kafka's topic config names (`segment.bytes`, ...); the
// server maps broker keys (`log.segment.bytes`, ...) onto the defaults.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>

#include "protocol/errors.h"

namespace runnel::storage {

using ConfigMap = std::map<std::string, std::string>;

enum class TimestampType { create_time, log_append_time };

struct LogConfig {
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  // The smallest segment.bytes a topic may set (Kafka 4.x).
  static constexpr int64_t kMinTopicSegmentBytes = 1 << 20;

  int32_t segment_bytes = 1024 * 1024 * 1024;      // segment.bytes
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;     // segment.ms
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;   // retention.ms (-1: forever)
  int64_t retention_bytes = -1;                    // retention.bytes (-1: no limit)
  int32_t index_interval_bytes = 4096;             // index.interval.bytes
  int32_t segment_index_bytes = 10 * 1024 * 1024;  // segment.index.bytes
  int64_t flush_messages = kNever;                 // flush.messages
  int64_t flush_ms = kNever;                       // flush.ms
  int32_t max_message_bytes = 1048588;             // max.message.bytes
  TimestampType message_timestamp_type = TimestampType::create_time;  // message.timestamp.type
  int64_t message_timestamp_before_max_ms = kNever;  // message.timestamp.before.max.ms
  int64_t message_timestamp_after_max_ms = 3600000;  // message.timestamp.after.max.ms (Kafka 4.x)
  bool cleanup_delete = true;                        // cleanup.policy contains "delete"
  bool cleanup_compact = false;  // cleanup.policy contains "compact" (not implemented yet)
  int64_t delete_retention_ms = 24LL * 3600 * 1000;  // delete.retention.ms
  int32_t min_insync_replicas = 1;                   // min.insync.replicas
  std::string compression_type = "producer";         // compression.type

  // Applies `overrides` on top of `*this` into `*out`. Keys must be Kafka
  // topic config names; a known key that Runnel does not model is accepted
  // and ignored. An unknown key or a bad value gives INVALID_CONFIG and a
  // message.
  protocol::ErrorCode with_overrides(const ConfigMap& overrides, LogConfig* out,
                                     std::string* message) const;

  // Sets one key; same rules as with_overrides.
  protocol::ErrorCode set(std::string_view key, std::string_view value, std::string* message);

  // The value of a modelled key in Kafka's text form (e.g. "delete",
  // "CreateTime"); empty when the key is not modelled.
  std::string value_of(std::string_view key) const;

  // Every topic config name Kafka defines (including the unmodelled ones).
  static bool is_known_key(std::string_view key);
};

}  // namespace runnel::storage
