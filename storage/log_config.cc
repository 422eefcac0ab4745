#include "storage/log_config.h"

#include <array>
#include <charconv>

namespace runnel::storage {

using protocol::ErrorCode;

namespace {

// Kafka's topic-level config names.
constexpr std::array<std::string_view, 34> kKnownKeys = {
    "cleanup.policy",
    "compression.type",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.zstd.level",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "local.retention.bytes",
    "local.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.downconversion.enable",
    "message.format.version",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.difference.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
};

bool parse_i64(std::string_view v, int64_t* out) {
  auto res = std::from_chars(v.data(), v.data() + v.size(), *out);
  return res.ec == std::errc() && res.ptr == v.data() + v.size();
}

ErrorCode bad(std::string_view key, std::string_view value, const char* why, std::string* msg) {
  if (msg) *msg = "invalid value '" + std::string(value) + "' for " + std::string(key) + ": " + why;
  return ErrorCode::INVALID_CONFIG;
}

}  // namespace

bool LogConfig::is_known_key(std::string_view key) {
  for (auto k : kKnownKeys)
    if (k == key) return true;
  return false;
}

ErrorCode LogConfig::set(std::string_view key, std::string_view value, std::string* msg) {
  if (!is_known_key(key)) {
    if (msg) *msg = "unknown topic config " + std::string(key);
    return ErrorCode::INVALID_CONFIG;
  }
  int64_t n = 0;
  auto num = [&](int64_t lo, int64_t hi, auto* field) -> ErrorCode {
    if (!parse_i64(value, &n)) return bad(key, value, "not a number", msg);
    if (n < lo || n > hi) return bad(key, value, "out of range", msg);
    *field = static_cast<std::remove_pointer_t<decltype(field)>>(n);
    return ErrorCode::NONE;
  };
  constexpr int64_t kI32 = INT32_MAX;
  if (key == "segment.bytes") return num(14, kI32, &segment_bytes);
  if (key == "segment.ms") return num(1, kNever, &segment_ms);
  if (key == "retention.ms") return num(-1, kNever, &retention_ms);
  if (key == "retention.bytes") return num(-1, kNever, &retention_bytes);
  if (key == "index.interval.bytes") return num(0, kI32, &index_interval_bytes);
  if (key == "segment.index.bytes") return num(4, kI32, &segment_index_bytes);
  if (key == "flush.messages") return num(1, kNever, &flush_messages);
  if (key == "flush.ms") return num(0, kNever, &flush_ms);
  if (key == "max.message.bytes") return num(0, kI32, &max_message_bytes);
  if (key == "message.timestamp.before.max.ms")
    return num(0, kNever, &message_timestamp_before_max_ms);
  if (key == "message.timestamp.after.max.ms")
    return num(0, kNever, &message_timestamp_after_max_ms);
  if (key == "delete.retention.ms") return num(0, kNever, &delete_retention_ms);
  if (key == "min.insync.replicas") return num(1, kI32, &min_insync_replicas);
  if (key == "message.timestamp.type") {
    if (value == "CreateTime") {
      message_timestamp_type = TimestampType::create_time;
    } else if (value == "LogAppendTime") {
      message_timestamp_type = TimestampType::log_append_time;
    } else {
      return bad(key, value, "expected CreateTime or LogAppendTime", msg);
    }
    return ErrorCode::NONE;
  }
  if (key == "cleanup.policy") {
    bool del = false, compact = false;
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string_view item = value.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item == "delete") {
        del = true;
      } else if (item == "compact") {
        compact = true;
      } else if (!item.empty() || value.empty()) {
        return bad(key, value, "expected delete and/or compact", msg);
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    cleanup_delete = del;
    cleanup_compact = compact;
    return ErrorCode::NONE;
  }
  if (key == "compression.type") {
    for (std::string_view c : {"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}) {
      if (value == c) {
        compression_type = std::string(value);
        return ErrorCode::NONE;
      }
    }
    return bad(key, value, "unknown compression type", msg);
  }
  return ErrorCode::NONE;  // known to Kafka, not modelled here
}

ErrorCode LogConfig::with_overrides(const ConfigMap& overrides, LogConfig* out,
                                    std::string* msg) const {
  LogConfig c = *this;
  for (const auto& [k, v] : overrides) {
    // Kafka 4.x refuses a topic's segment.bytes below 1 MiB (the broker-wide
    // log.segment.bytes keeps its old minimum here, for tests that roll small segments).
    int64_t n = 0;
    if (k == "segment.bytes" && parse_i64(v, &n) && n < kMinTopicSegmentBytes) {
      if (msg) {
        *msg = "Invalid value " + v + " for configuration segment.bytes: Value must be at least " +
               std::to_string(kMinTopicSegmentBytes);
      }
      return ErrorCode::INVALID_CONFIG;
    }
    ErrorCode e = c.set(k, v, msg);
    if (e != ErrorCode::NONE) return e;
  }
  *out = c;
  return ErrorCode::NONE;
}

std::string LogConfig::value_of(std::string_view key) const {
  auto s = [](int64_t v) { return std::to_string(v); };
  if (key == "segment.bytes") return s(segment_bytes);
  if (key == "segment.ms") return s(segment_ms);
  if (key == "retention.ms") return s(retention_ms);
  if (key == "retention.bytes") return s(retention_bytes);
  if (key == "index.interval.bytes") return s(index_interval_bytes);
  if (key == "segment.index.bytes") return s(segment_index_bytes);
  if (key == "flush.messages") return s(flush_messages);
  if (key == "flush.ms") return s(flush_ms);
  if (key == "max.message.bytes") return s(max_message_bytes);
  if (key == "message.timestamp.before.max.ms") return s(message_timestamp_before_max_ms);
  if (key == "message.timestamp.after.max.ms") return s(message_timestamp_after_max_ms);
  if (key == "delete.retention.ms") return s(delete_retention_ms);
  if (key == "min.insync.replicas") return s(min_insync_replicas);
  if (key == "message.timestamp.type")
    return message_timestamp_type == TimestampType::create_time ? "CreateTime" : "LogAppendTime";
  if (key == "cleanup.policy") {
    if (cleanup_delete && cleanup_compact) return "compact,delete";
    return cleanup_compact ? "compact" : "delete";
  }
  if (key == "compression.type") return compression_type;
  return "";
}

}  // namespace runnel::storage
