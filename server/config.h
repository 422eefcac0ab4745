// Broker configuration: a Java-style properties file plus `--override k=v`
// pairs, validated against the key table in config_defs.h.
//
// Properties syntax (as java.util.Properties, minus unicode escapes):
//   lines starting with '#' or '!' are comments; blank lines are skipped;
//   `key=value`, `key: value` or `key value` (first unescaped '=', ':' or
//   whitespace separates); keys and values are trimmed; a line ending in an
//   odd number of backslashes continues on the next line (leading
//   whitespace of the continuation is dropped); `\=`, `\:`, `\ `, `\\`, `\t`,
//   `\n` are escapes.
//
// Every problem (unknown key, malformed or out-of-range value, a line without
// a key) throws ConfigError whose message names the key and the source line.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/config_defs.h"

namespace runnel::server {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where an effective value comes from (DescribeConfigs' ConfigSource names).
enum class ConfigSource { DEFAULT_CONFIG, STATIC_BROKER_CONFIG };

struct Listener {
  std::string name;   // "PLAINTEXT"
  std::string host;   // "" means all interfaces (as Kafka)
  uint16_t port = 0;  // 0 = ephemeral
};

// "NAME://host:port[,NAME://host:port...]"; throws ConfigError naming `key`.
std::vector<Listener> parse_listeners(std::string_view key, std::string_view text);

// Parses properties text into (key, value) pairs in file order.
// `origin` (a file name) is used in error messages.
std::vector<std::pair<std::string, std::string>> parse_properties(std::string_view text,
                                                                  std::string_view origin);

class Config {
 public:
  // All defaults.
  Config() = default;

  // Loads `path` (if given) then applies `overrides` ("key=value" each);
  // validates everything and the cross-key rules. Throws ConfigError.
  static Config load(const std::optional<std::string>& path,
                     const std::vector<std::string>& overrides);
  // Same from text (tests).
  static Config from_text(std::string_view properties,
                          const std::vector<std::string>& overrides = {});

  // Sets one key (validated; throws ConfigError).
  void set(std::string_view key, std::string_view value);
  // Cross-key checks and derived values; called by load/from_text.
  void validate();

  // Raw typed access; throws std::logic_error for unknown keys or a type
  // mismatch (programming errors), std::nullopt-returning variants for
  // nullable keys.
  int32_t get_int(std::string_view key) const;
  int64_t get_long(std::string_view key) const;
  double get_double(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::string get_string(std::string_view key) const;
  std::vector<std::string> get_list(std::string_view key) const;
  std::optional<int64_t> get_optional_long(std::string_view key) const;
  // The effective value as text (nullopt for null) and its source.
  std::optional<std::string> value(std::string_view key) const;
  ConfigSource source(std::string_view key) const;

  struct Entry {
    const ConfigDef* def;
    std::optional<std::string> value;
    ConfigSource source;
  };
  // Every known key, sorted by name, with its effective value.
  std::vector<Entry> entries() const;
  // Keys set explicitly that Runnel accepts but ignores (for a start-up note).
  std::vector<std::string> ignored_keys_set() const;

  // Derived values, resolved as Kafka does.
  int32_t node_id() const;
  std::vector<Listener> listeners() const;
  std::vector<Listener> advertised_listeners() const;  // falls back to listeners()
  std::string log_dir() const;                         // first of log.dirs, else log.dir
  int64_t log_retention_ms() const;                    // ms > minutes > hours; -1 = forever
  int64_t log_roll_ms() const;                         // ms > hours
  int64_t log_roll_jitter_ms() const;                  // ms > hours
  // log.flush.interval.ms, falling back to log.flush.scheduler.interval.ms.
  int64_t log_flush_interval_ms() const;
  int32_t socket_request_max_bytes() const { return get_int("socket.request.max.bytes"); }
  int64_t connections_max_idle_ms() const { return get_long("connections.max.idle.ms"); }
  // Per-connection in-flight request count (see docs/configuration.md).
  int32_t max_inflight_requests_per_connection() const { return get_int("queued.max.requests"); }

 private:
  const std::string* raw(std::string_view key, ConfigType expected) const;

  std::map<std::string, std::string, std::less<>> explicit_;  // validated, as given (trimmed)
};

}  // namespace runnel::server
