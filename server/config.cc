#include "server/config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace runnel::server {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    auto comma = s.find(',');
    auto item = trim(s.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

bool parse_integer(std::string_view s, int64_t& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  out = std::strtod(tmp.c_str(), &end);
  return errno == 0 && end == tmp.c_str() + tmp.size() && std::isfinite(out);
}

[[noreturn]] void bad_value(std::string_view key, std::string_view value, std::string_view why) {
  throw ConfigError("invalid value '" + std::string(value) + "' for configuration '" +
                    std::string(key) + "': " + std::string(why));
}

bool in_choices(std::string_view choices, std::string_view v) {
  for (auto& c : split_list(choices))
    if (c == v) return true;
  return false;
}

// Validates `value` for `def`; returns the normalized text to store.
std::string check_value(const ConfigDef& def, std::string_view value) {
  value = trim(value);
  switch (def.type) {
    case ConfigType::kInt:
    case ConfigType::kLong: {
      int64_t v = 0;
      if (!parse_integer(value, v)) {
        bad_value(
            def.name, value,
            def.type == ConfigType::kInt ? "expected a 32-bit integer" : "expected an integer");
      }
      if (def.type == ConfigType::kInt &&
          (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()))
        bad_value(def.name, value, "out of the 32-bit integer range");
      if (v < def.min) bad_value(def.name, value, "must be at least " + std::to_string(def.min));
      if (v > def.max) bad_value(def.name, value, "must be at most " + std::to_string(def.max));
      return std::to_string(v);
    }
    case ConfigType::kDouble: {
      double d = 0;
      if (!parse_double(value, d)) bad_value(def.name, value, "expected a number");
      return std::string(value);
    }
    case ConfigType::kBool: {
      auto l = lower(value);
      if (l != "true" && l != "false") bad_value(def.name, value, "expected true or false");
      return l;
    }
    case ConfigType::kString:
    case ConfigType::kPassword:
      if (!def.one_of.empty() && !in_choices(def.one_of, value))
        bad_value(def.name, value, "must be one of " + std::string(def.one_of));
      return std::string(value);
    case ConfigType::kList: {
      auto items = split_list(value);
      std::string out;
      for (auto& item : items) {
        if (!def.one_of.empty() && !in_choices(def.one_of, item))
          bad_value(def.name, value, "each element must be one of " + std::string(def.one_of));
        if (!out.empty()) out += ',';
        out += item;
      }
      return out;
    }
  }
  return std::string(value);
}

// Reads one logical line's key and value (escapes resolved).
std::pair<std::string, std::string> split_key_value(std::string_view line) {
  std::string key, value;
  size_t i = 0;
  // key: up to the first unescaped '=', ':' or whitespace
  for (; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\\' && i + 1 < line.size()) {
      char n = line[++i];
      key += n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n;
      continue;
    }
    if (c == '=' || c == ':' || is_space(c)) break;
    key += c;
  }
  // separator: whitespace, then at most one '=' or ':', then whitespace
  while (i < line.size() && is_space(line[i])) ++i;
  if (i < line.size() && (line[i] == '=' || line[i] == ':')) ++i;
  while (i < line.size() && is_space(line[i])) ++i;
  for (; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\\' && i + 1 < line.size()) {
      char n = line[++i];
      value += n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n;
      continue;
    }
    value += c;
  }
  return {key, value};
}

bool ends_with_continuation(std::string_view line) {
  size_t n = 0;
  for (size_t i = line.size(); i > 0 && line[i - 1] == '\\'; --i) ++n;
  return n % 2 == 1;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_properties(std::string_view text,
                                                                  std::string_view origin) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string logical;
  bool continuing = false;
  size_t line_no = 0, start_line = 0;
  while (!text.empty() || continuing) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view stripped = line;
    while (!stripped.empty() && is_space(stripped.front())) stripped.remove_prefix(1);
    if (!continuing) {
      if (stripped.empty() || stripped.front() == '#' || stripped.front() == '!') {
        if (nl == std::string_view::npos) break;
        continue;
      }
      start_line = line_no;
      logical.clear();
    }
    bool more = ends_with_continuation(stripped);
    if (more) stripped.remove_suffix(1);
    logical += stripped;
    continuing = more && nl != std::string_view::npos;
    if (!continuing) {
      auto [key, value] = split_key_value(logical);
      if (key.empty())
        throw ConfigError(std::string(origin) + ":" + std::to_string(start_line) +
                          ": a line without a key");
      out.emplace_back(std::move(key), std::string(trim(value)));
    }
    if (nl == std::string_view::npos) break;
  }
  return out;
}

std::vector<Listener> parse_listeners(std::string_view key, std::string_view text) {
  std::vector<Listener> out;
  for (auto& item : split_list(text)) {
    auto sep = item.find("://");
    if (sep == std::string::npos || sep == 0) bad_value(key, item, "expected NAME://host:port");
    Listener l;
    l.name = item.substr(0, sep);
    std::string_view rest = std::string_view(item).substr(sep + 3);
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) bad_value(key, item, "expected NAME://host:port");
    std::string_view host = rest.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    int64_t port = 0;
    if (!parse_integer(rest.substr(colon + 1), port) || port < 0 || port > 65535)
      bad_value(key, item, "port must be 0..65535");
    l.host = std::string(host);
    l.port = static_cast<uint16_t>(port);
    for (auto& other : out)
      if (other.name == l.name) bad_value(key, text, "listener name " + l.name + " repeated");
    out.push_back(std::move(l));
  }
  return out;
}

namespace {

void apply_override(Config& c, std::string_view o) {
  auto eq = o.find('=');
  if (eq == std::string_view::npos || trim(o.substr(0, eq)).empty())
    throw ConfigError("--override expects key=value, got '" + std::string(o) + "'");
  c.set(trim(o.substr(0, eq)), o.substr(eq + 1));
}

Config build(std::string_view text, std::string_view origin,
             const std::vector<std::string>& overrides) {
  Config c;
  for (auto& [k, v] : parse_properties(text, origin)) {
    try {
      c.set(k, v);
    } catch (const ConfigError& e) {
      throw ConfigError(std::string(origin) + ": " + e.what());
    }
  }
  for (auto& o : overrides) apply_override(c, o);
  c.validate();
  return c;
}

}  // namespace

Config Config::from_text(std::string_view properties, const std::vector<std::string>& overrides) {
  return build(properties, "server.properties", overrides);
}

Config Config::load(const std::optional<std::string>& path,
                    const std::vector<std::string>& overrides) {
  if (!path) return build("", "", overrides);
  std::ifstream in(*path, std::ios::binary);
  if (!in) throw ConfigError("cannot read configuration file " + *path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return build(ss.str(), *path, overrides);
}

void Config::set(std::string_view key, std::string_view value) {
  const ConfigDef* def = find_config_def(key);
  if (!def) throw ConfigError("unknown configuration '" + std::string(key) + "'");
  explicit_[std::string(key)] = check_value(*def, value);
}

void Config::validate() {
  // node.id and broker.id name the same thing; one given means both.
  auto node = explicit_.find("node.id");
  auto broker = explicit_.find("broker.id");
  if (node != explicit_.end() && broker != explicit_.end() && node->second != broker->second)
    throw ConfigError("node.id (" + node->second + ") and broker.id (" + broker->second +
                      ") must be equal when both are set");
  if (node != explicit_.end() && broker == explicit_.end()) explicit_["broker.id"] = node->second;
  if (broker != explicit_.end() && node == explicit_.end()) explicit_["node.id"] = broker->second;

  auto ls = listeners();
  if (ls.empty()) throw ConfigError("listeners must name at least one listener");
  for (auto& l : ls)
    if (l.name != "PLAINTEXT")
      throw ConfigError("listeners: only PLAINTEXT listeners are supported, got " + l.name);
  advertised_listeners();
  if (log_dir().empty()) throw ConfigError("log.dirs / log.dir must not be empty");
  if (get_list("log.dirs").size() > 1)
    throw ConfigError("log.dirs: Runnel uses a single data directory, got several");
  int64_t retention = log_retention_ms();
  if (retention < -1) throw ConfigError("log.retention.ms must be -1 or at least 0");
  if (log_roll_ms() < 1) throw ConfigError("log.roll.ms must be at least 1");
  if (get_int("group.min.session.timeout.ms") > get_int("group.max.session.timeout.ms"))
    throw ConfigError("group.min.session.timeout.ms must not exceed group.max.session.timeout.ms");
  // Kafka's GroupCoordinatorConfig checks of the consumer group (KIP-848) settings.
  const int32_t session = get_int("group.consumer.session.timeout.ms");
  const int32_t heartbeat = get_int("group.consumer.heartbeat.interval.ms");
  const int32_t min_session = get_int("group.consumer.min.session.timeout.ms");
  const int32_t max_session = get_int("group.consumer.max.session.timeout.ms");
  const int32_t min_heartbeat = get_int("group.consumer.min.heartbeat.interval.ms");
  const int32_t max_heartbeat = get_int("group.consumer.max.heartbeat.interval.ms");
  if (min_session > max_session)
    throw ConfigError(
        "group.consumer.min.session.timeout.ms must be less than or equal to "
        "group.consumer.max.session.timeout.ms");
  if (session < min_session || session > max_session)
    throw ConfigError(
        "group.consumer.session.timeout.ms must be between "
        "group.consumer.min.session.timeout.ms and group.consumer.max.session.timeout.ms");
  if (min_heartbeat > max_heartbeat)
    throw ConfigError(
        "group.consumer.min.heartbeat.interval.ms must be less than or equal to "
        "group.consumer.max.heartbeat.interval.ms");
  if (heartbeat < min_heartbeat || heartbeat > max_heartbeat)
    throw ConfigError(
        "group.consumer.heartbeat.interval.ms must be between "
        "group.consumer.min.heartbeat.interval.ms and group.consumer.max.heartbeat.interval.ms");
  if (heartbeat >= session)
    throw ConfigError(
        "group.consumer.heartbeat.interval.ms must be less than "
        "group.consumer.session.timeout.ms");
  auto protocols = get_list("group.coordinator.rebalance.protocols");
  if (std::find(protocols.begin(), protocols.end(), "classic") == protocols.end())
    throw ConfigError("group.coordinator.rebalance.protocols must contain classic");
}

const std::string* Config::raw(std::string_view key, ConfigType expected) const {
  const ConfigDef* def = find_config_def(key);
  if (!def) throw std::logic_error("unknown configuration key " + std::string(key));
  if (def->type != expected)
    throw std::logic_error("configuration key " + std::string(key) + " read as the wrong type");
  if (auto it = explicit_.find(key); it != explicit_.end()) return &it->second;
  static thread_local std::string scratch;
  if (!def->default_value) return nullptr;
  scratch = std::string(*def->default_value);
  return &scratch;
}

int32_t Config::get_int(std::string_view key) const {
  auto* v = raw(key, ConfigType::kInt);
  if (!v) throw std::logic_error(std::string(key) + " is null");
  int64_t out = 0;
  parse_integer(*v, out);
  return static_cast<int32_t>(out);
}

int64_t Config::get_long(std::string_view key) const {
  auto v = get_optional_long(key);
  if (!v) throw std::logic_error(std::string(key) + " is null");
  return *v;
}

std::optional<int64_t> Config::get_optional_long(std::string_view key) const {
  const ConfigDef* def = find_config_def(key);
  auto* v = raw(key, def && def->type == ConfigType::kInt ? ConfigType::kInt : ConfigType::kLong);
  if (!v) return std::nullopt;
  int64_t out = 0;
  parse_integer(*v, out);
  return out;
}

double Config::get_double(std::string_view key) const {
  auto* v = raw(key, ConfigType::kDouble);
  double d = 0;
  if (v) parse_double(*v, d);
  return d;
}

bool Config::get_bool(std::string_view key) const {
  auto* v = raw(key, ConfigType::kBool);
  return v && *v == "true";
}

std::string Config::get_string(std::string_view key) const {
  const ConfigDef* def = find_config_def(key);
  auto* v = raw(
      key, def && def->type == ConfigType::kPassword ? ConfigType::kPassword : ConfigType::kString);
  return v ? *v : std::string();
}

std::vector<std::string> Config::get_list(std::string_view key) const {
  const ConfigDef* def = find_config_def(key);
  // Strings with comma-separated content (log.dirs) read as lists too.
  auto* v =
      raw(key, def && def->type == ConfigType::kString ? ConfigType::kString : ConfigType::kList);
  return v ? split_list(*v) : std::vector<std::string>{};
}

std::optional<std::string> Config::value(std::string_view key) const {
  const ConfigDef* def = find_config_def(key);
  if (!def) return std::nullopt;
  if (auto it = explicit_.find(key); it != explicit_.end()) return it->second;
  if (def->default_value) return std::string(*def->default_value);
  return std::nullopt;
}

ConfigSource Config::source(std::string_view key) const {
  return explicit_.count(key) ? ConfigSource::STATIC_BROKER_CONFIG : ConfigSource::DEFAULT_CONFIG;
}

std::vector<Config::Entry> Config::entries() const {
  std::vector<Entry> out;
  for (auto& def : config_defs()) out.push_back({&def, value(def.name), source(def.name)});
  return out;
}

std::vector<std::string> Config::ignored_keys_set() const {
  std::vector<std::string> out;
  for (auto& [k, v] : explicit_)
    if (auto* def = find_config_def(k); def && def->ignored) out.push_back(k);
  return out;
}

int32_t Config::node_id() const { return get_int("node.id"); }

std::vector<Listener> Config::listeners() const {
  return parse_listeners("listeners", get_string("listeners"));
}

std::vector<Listener> Config::advertised_listeners() const {
  auto adv = value("advertised.listeners");
  if (!adv) return listeners();
  return parse_listeners("advertised.listeners", *adv);
}

std::string Config::log_dir() const {
  auto dirs = get_list("log.dirs");
  if (!dirs.empty()) return dirs.front();
  return get_string("log.dir");
}

int64_t Config::log_retention_ms() const {
  if (auto ms = get_optional_long("log.retention.ms")) return *ms;
  if (auto min = get_optional_long("log.retention.minutes")) return *min < 0 ? -1 : *min * 60000;
  int64_t hours = get_int("log.retention.hours");
  return hours < 0 ? -1 : hours * 3600000;
}

int64_t Config::log_roll_ms() const {
  if (auto ms = get_optional_long("log.roll.ms")) return *ms;
  return int64_t{get_int("log.roll.hours")} * 3600000;
}

int64_t Config::log_roll_jitter_ms() const {
  if (auto ms = get_optional_long("log.roll.jitter.ms")) return *ms;
  return int64_t{get_int("log.roll.jitter.hours")} * 3600000;
}

int64_t Config::log_flush_interval_ms() const {
  if (auto ms = get_optional_long("log.flush.interval.ms")) return *ms;
  return get_long("log.flush.scheduler.interval.ms");
}

}  // namespace runnel::server
