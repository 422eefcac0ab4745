#include "server/topic_admin.h"

#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <set>

namespace runnel::server {

using protocol::ErrorCode;

bool is_internal_topic(std::string_view name) {
  return name == "__consumer_offsets" || name == "__transaction_state" ||
         name == "__share_group_state";
}

namespace {

// AclOperation codes.
constexpr int kRead = 3, kWrite = 4, kCreate = 5, kDelete = 6, kAlter = 7, kDescribe = 8,
              kClusterAction = 9, kDescribeConfigs = 10, kAlterConfigs = 11, kIdempotentWrite = 12;

constexpr int32_t bits(std::initializer_list<int> ops) {
  int32_t v = 0;
  for (int op : ops) v |= int32_t{1} << op;
  return v;
}

// What Kafka does for a wildcard advertised host: the local host's canonical
// name (InetAddress.getLocalHost().getCanonicalHostName()).
std::string local_canonical_host_name() {
  static const std::string name = [] {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return std::string("localhost");
    addrinfo hints{};
    hints.ai_flags = AI_CANONNAME;
    hints.ai_family = AF_UNSPEC;
    addrinfo* res = nullptr;
    std::string out = host;
    if (getaddrinfo(host, nullptr, &hints, &res) == 0 && res) {
      if (res->ai_canonname && res->ai_canonname[0] != '\0') out = res->ai_canonname;
      freeaddrinfo(res);
    }
    return out;
  }();
  return name;
}

bool is_wildcard_host(std::string_view h) { return h.empty() || h == "0.0.0.0" || h == "::"; }

// Kafka's DescribeConfigs ConfigType ids.
int8_t config_type_id(ConfigType t) {
  switch (t) {
    case ConfigType::kBool:
      return 1;
    case ConfigType::kString:
      return 2;
    case ConfigType::kInt:
      return 3;
    case ConfigType::kLong:
      return 5;
    case ConfigType::kDouble:
      return 6;
    case ConfigType::kList:
      return 7;
    case ConfigType::kPassword:
      return 9;
  }
  return 0;
}

// Kafka's broker config synonyms (DynamicBrokerConfig.brokerConfigSynonyms):
// keys whose value is the same setting in another unit, in precedence order.
std::vector<std::string_view> broker_synonyms(std::string_view key) {
  static constexpr std::array<std::array<std::string_view, 3>, 4> kGroups = {{
      {"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
      {"log.roll.ms", "log.roll.hours", ""},
      {"log.roll.jitter.ms", "log.roll.jitter.hours", ""},
      {"log.flush.interval.ms", "log.flush.scheduler.interval.ms", ""},
  }};
  for (const auto& g : kGroups) {
    // log.flush.scheduler.interval.ms is not itself a synonym of
    // log.flush.interval.ms; only the other direction holds.
    bool member = g[0] == key || (g[0] != "log.flush.interval.ms" && (g[1] == key || g[2] == key));
    if (!member) continue;
    std::vector<std::string_view> out;
    for (auto k : g)
      if (!k.empty()) out.push_back(k);
    return out;
  }
  return {key};
}

// Kafka's ConfigHelper.configSynonyms: the explicitly set synonyms first,
// then the ones with a default, and everything before the first entry for
// `anchor` dropped.
std::vector<DescribedSynonym> synonyms_for(const Config& config, std::string_view anchor,
                                           bool sensitive) {
  auto names = broker_synonyms(anchor);
  std::vector<DescribedSynonym> all;
  for (auto n : names) {
    if (config.source(n) == ConfigSource::STATIC_BROKER_CONFIG)
      all.push_back({std::string(n), sensitive ? std::nullopt : config.value(n),
                     ConfigSourceId::STATIC_BROKER_CONFIG});
  }
  for (auto n : names) {
    const ConfigDef* def = find_config_def(n);
    if (def && def->default_value)
      all.push_back({std::string(n),
                     sensitive ? std::nullopt : std::optional<std::string>(*def->default_value),
                     ConfigSourceId::DEFAULT_CONFIG});
  }
  auto first = std::find_if(all.begin(), all.end(),
                            [&](const DescribedSynonym& s) { return s.name == anchor; });
  return {first, all.end()};
}

// The broker key that provides the default of topic key `topic_key`.
const ConfigDef* broker_def_for_topic_key(std::string_view topic_key) {
  for (const auto& d : config_defs())
    if (d.topic_synonym == topic_key) return &d;
  return nullptr;
}

}  // namespace

int32_t all_topic_operations() {
  return bits(
      {kRead, kWrite, kCreate, kDelete, kAlter, kDescribe, kDescribeConfigs, kAlterConfigs});
}

int32_t all_cluster_operations() {
  return bits({kCreate, kClusterAction, kDescribeConfigs, kAlterConfigs, kIdempotentWrite, kAlter,
               kDescribe});
}

BrokerEndpoint advertised_endpoint(const Broker& broker, std::string_view listener) {
  auto adv = broker.config.advertised_listeners();
  const Listener* chosen = nullptr;
  for (const auto& l : adv)
    if (l.name == listener) chosen = &l;
  if (!chosen && !adv.empty()) chosen = &adv.front();
  if (!chosen) return {local_canonical_host_name(), 0};
  BrokerEndpoint ep;
  ep.host = is_wildcard_host(chosen->host) ? local_canonical_host_name() : chosen->host;
  ep.port = chosen->port;
  if (ep.port == 0) {
    auto it = broker.bound_ports.find(chosen->name);
    if (it != broker.bound_ports.end()) ep.port = it->second;
  }
  return ep;
}

storage::TopicResult validate_topic_configs(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& configs) {
  for (const auto& [key, value] : configs) {
    if (!value)
      return {ErrorCode::INVALID_CONFIG, "a null value is not allowed for topic config " + key};
    if (!storage::LogConfig::is_known_key(key))
      return {ErrorCode::INVALID_CONFIG, "unknown topic config " + key};
    const ConfigDef* def = broker_def_for_topic_key(key);
    if (!def) continue;  // storage checks what it models
    Config scratch;
    try {
      scratch.set(def->name, *value);
    } catch (const ConfigError&) {
      std::string expect = std::string(config_type_name(def->type));
      if (!def->one_of.empty()) expect += " among " + std::string(def->one_of);
      return {ErrorCode::INVALID_CONFIG, "invalid value '" + *value + "' for topic config " + key +
                                             " (expected " + expect + ")"};
    }
  }
  return {};
}

storage::TopicResult auto_create_topic(const Config& config, storage::LogManager& logs,
                                       const std::string& name) {
  std::shared_ptr<storage::LogManager::TopicChange> change;
  auto r = begin_auto_create_topic(config, logs, name, &change);
  if (!change) return r;
  change->run();
  return logs.finish(std::move(change));
}

storage::TopicResult begin_auto_create_topic(
    const Config& config, storage::LogManager& logs, const std::string& name,
    std::shared_ptr<storage::LogManager::TopicChange>* change) {
  storage::ConfigMap overrides;
  int32_t partitions = config.get_int("num.partitions");
  if (name == "__consumer_offsets") {
    partitions = config.get_int("offsets.topic.num.partitions");
    overrides = {{"cleanup.policy", "compact"},
                 {"compression.type", "producer"},
                 {"segment.bytes", std::to_string(config.get_int("offsets.topic.segment.bytes"))}};
  } else if (name == "__transaction_state") {
    partitions = config.get_int("transaction.state.log.num.partitions");
    overrides = {
        {"cleanup.policy", "compact"},
        {"compression.type", "uncompressed"},
        {"min.insync.replicas", std::to_string(config.get_int("transaction.state.log.min.isr"))},
        {"segment.bytes", std::to_string(config.get_int("transaction.state.log.segment.bytes"))}};
  }
  return logs.begin_create_topic(name, partitions, overrides, std::nullopt, false, change);
}

std::vector<DescribedConfig> describe_topic_configs(const Config& config,
                                                    const storage::LogConfig& effective,
                                                    const storage::ConfigMap& overrides) {
  std::map<std::string_view, const ConfigDef*> keys;  // topic key → broker key providing it
  for (const auto& d : config_defs())
    if (!d.topic_synonym.empty()) keys.emplace(d.topic_synonym, &d);

  std::vector<DescribedConfig> out;
  out.reserve(keys.size());
  for (const auto& [key, def] : keys) {
    DescribedConfig c;
    c.name = std::string(key);
    c.is_sensitive = def->type == ConfigType::kPassword;
    c.config_type = config_type_id(def->type);
    auto ov = overrides.find(c.name);
    if (ov != overrides.end()) {
      c.value = ov->second;
    } else if (std::string v = effective.value_of(key); !v.empty()) {
      c.value = std::move(v);
    } else if (key == "segment.jitter.ms") {
      c.value = std::to_string(config.log_roll_jitter_ms());
    } else {
      c.value = config.value(def->name);
    }
    if (c.is_sensitive) c.value.reset();
    c.synonyms = synonyms_for(config, def->name, c.is_sensitive);
    if (ov != overrides.end())
      c.synonyms.insert(c.synonyms.begin(), {c.name, c.value, ConfigSourceId::TOPIC_CONFIG});
    c.source = c.synonyms.empty() ? ConfigSourceId::DEFAULT_CONFIG : c.synonyms.front().source;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<DescribedConfig> describe_broker_configs(const Config& config) {
  std::vector<DescribedConfig> out;
  for (const auto& e : config.entries()) {
    DescribedConfig c;
    c.name = std::string(e.def->name);
    c.is_sensitive = e.def->type == ConfigType::kPassword;
    c.value = c.is_sensitive ? std::nullopt : e.value;
    c.read_only = e.def->read_only;
    c.config_type = config_type_id(e.def->type);
    c.synonyms = synonyms_for(config, e.def->name, c.is_sensitive);
    c.source = c.synonyms.empty() ? ConfigSourceId::DEFAULT_CONFIG : c.synonyms.front().source;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace runnel::server
