// The table of broker configuration keys Runnel knows: one entry per key with
// its type, the default as Apache Kafka reports it (Runnel's own default
// where it differs, marked in docs/configuration.md), the topic-level
// synonym, bounds and allowed values. Config (config.h) parses and validates
// against this table; DescribeConfigs reads it.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

namespace runnel::server {

enum class ConfigType { kInt, kLong, kDouble, kBool, kString, kList, kPassword };

std::string_view config_type_name(ConfigType t);

struct ConfigDef {
  std::string_view name;
  ConfigType type;
  // Default as text; nullopt is Kafka's "null" (no default).
  std::optional<std::string_view> default_value;
  // The topic-level key this broker key provides the default for ("" if none).
  std::string_view topic_synonym = {};
  // Inclusive bounds for numeric types.
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
  // Allowed values (comma separated) for strings and list elements; "" = any.
  std::string_view one_of = {};
  // Read-only keys need a restart to change (Kafka: not dynamically updatable).
  bool read_only = true;
  // Accepted for compatibility with Kafka's files but without effect in Runnel.
  bool ignored = false;
};

// Every known key, sorted by name.
std::span<const ConfigDef> config_defs();
// nullptr for an unknown key.
const ConfigDef* find_config_def(std::string_view name);

}  // namespace runnel::server
