// The pure parts of runnel-consumer-groups (no sockets, no clock): command
// line parsing, --to-datetime parsing, lag and reset-offset arithmetic,
// decoding of the consumer protocol's assignment bytes, error-code names and
// the table layout. The tool follows Apache Kafka's kafka-consumer-groups.sh.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::tools::groups {

enum class Command { None, List, Describe, ResetOffsets, Delete, DeleteOffsets };
enum class ResetSpec { None, ToEarliest, ToLatest, ToOffset, ToDatetime, ShiftBy };

// --topic T (every partition: partitions empty) or --topic T:0,2.
struct TopicSpec {
  std::string topic;
  std::vector<int32_t> partitions;
  bool operator==(const TopicSpec&) const = default;
};

struct Options {
  std::string bootstrap_server;
  Command command = Command::None;
  std::vector<std::string> groups;
  bool all_groups = false;
  // --describe views.
  bool members = false;
  bool verbose = false;
  bool state = false;
  // --list --state [A,B]: the states to keep (empty: every state, shown).
  std::vector<std::string> state_filter;
  // --reset-offsets / --delete-offsets.
  std::vector<TopicSpec> topics;
  bool all_topics = false;
  ResetSpec reset = ResetSpec::None;
  int64_t reset_value = 0;  // the offset, the shift, or the timestamp (ms)
  bool dry_run = false;
  bool execute = false;
  int timeout_ms = 30000;
  bool help = false;
};

// Parses argv[1..]; on failure returns nullopt and sets `error`.
std::optional<Options> parse_args(std::span<const std::string> args, std::string& error);
std::string usage();

// "host:port" -> host and port; false if malformed.
bool parse_host_port(std::string_view s, std::string& host, int& port);
// "T" or "T:0,2,5".
std::optional<TopicSpec> parse_topic_spec(std::string_view s);

// Kafka's --to-datetime format: yyyy-MM-ddTHH:mm:SS.sss with an optional zone
// ("Z", "+HH", "+HHmm", "+HH:mm", "-..."); without a zone the local time zone
// applies. The milliseconds may be left out. Returns ms since the epoch.
std::optional<int64_t> parse_datetime(std::string_view s);

// Lag as Kafka reports it: log end offset minus the committed offset, unknown
// (nullopt) when either is unknown.
std::optional<int64_t> compute_lag(std::optional<int64_t> committed,
                                   std::optional<int64_t> log_end);

// What is known of one partition when computing its new offset.
struct PartitionOffsets {
  std::optional<int64_t> committed;
  int64_t earliest = 0;
  int64_t latest = 0;
  // ListOffsets' answer for the --to-datetime timestamp (nullopt: no record
  // at or after it).
  std::optional<int64_t> at_timestamp;
};

struct ResetOutcome {
  std::optional<int64_t> offset;  // nullopt: no new offset (see error)
  std::string warning;            // a clamp Kafka warns about
  std::string error;
};

// The new offset of `partition_name` ("topic-partition", for messages) under
// `spec`, clamped to [earliest, latest] as Kafka does.
ResetOutcome compute_reset(ResetSpec spec, int64_t value, const PartitionOffsets& p,
                           const std::string& partition_name);

// The partitions of a consumer protocol assignment (version prefix + body).
// Empty bytes are an empty assignment; nullopt when the bytes do not decode.
struct AssignedTopic {
  std::string topic;
  std::vector<int32_t> partitions;
  bool operator==(const AssignedTopic&) const = default;
};
std::optional<std::vector<AssignedTopic>> decode_assignment(std::span<const uint8_t> bytes);

// "NONE", "GROUP_ID_NOT_FOUND"... for a Kafka error code.
std::string error_name(int16_t code);

// Rows left-aligned in columns as wide as their widest cell, one space apart,
// preceded by an empty line (the layout of Kafka's tool).
std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows);

}  // namespace runnel::tools::groups
