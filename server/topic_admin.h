// Topic administration shared by the Metadata, CreateTopics, DeleteTopics,
// CreatePartitions, DescribeConfigs and DescribeCluster handlers: the
// advertised endpoint, authorized-operation bit fields, topic config
// validation and description, auto-creation.
//
// Each handler's logic is a plain function over the decoded request (declared
// here, defined in server/handlers/<api>.cc) so that tests drive it in-process
// without a socket; the coroutine registered with the framework only decodes,
// calls it and encodes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/messages/create_partitions.h"
#include "protocol/messages/create_topics.h"
#include "protocol/messages/delete_topics.h"
#include "protocol/messages/describe_cluster.h"
#include "protocol/messages/describe_configs.h"
#include "protocol/messages/metadata.h"
#include "server/config.h"
#include "server/handler.h"
#include "storage/log_manager.h"

namespace runnel::server {

// Kafka's ConfigSource ids (DescribeConfigs, CreateTopics v5+).
enum class ConfigSourceId : int8_t {
  TOPIC_CONFIG = 1,
  DYNAMIC_BROKER_CONFIG = 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG = 3,
  STATIC_BROKER_CONFIG = 4,
  DEFAULT_CONFIG = 5,
};

// Kafka's internal topics (Topic.isInternal): __consumer_offsets,
// __transaction_state, __share_group_state.
bool is_internal_topic(std::string_view name);

// The bit fields Kafka reports for a broker without an authorizer: every
// operation the resource type supports (AclOperation codes as bit numbers).
int32_t all_topic_operations();
int32_t all_cluster_operations();

struct BrokerEndpoint {
  std::string host;
  int32_t port = 0;
};
// The endpoint advertised for `listener` (the name of the listener the
// request came in on; the first advertised listener when none matches):
// `advertised.listeners`, else `listeners`; an empty or wildcard host is the
// machine's canonical host name, a port of 0 the port actually bound.
BrokerEndpoint advertised_endpoint(const Broker& broker, std::string_view listener);

// Checks topic config overrides as Kafka does before creating or altering:
// unknown keys, null values and malformed values give INVALID_CONFIG.
// Values of keys that storage models are checked again by storage.
storage::TopicResult validate_topic_configs(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& configs);

// Creates `name` as Metadata's auto-creation does: num.partitions and no
// overrides, or the coordinator settings for __consumer_offsets and
// __transaction_state.
storage::TopicResult auto_create_topic(const Config& config, storage::LogManager& logs,
                                       const std::string& name);
// The same, begun only (storage::LogManager::begin_create_topic): `change` is to be run and
// finished by the caller.
storage::TopicResult begin_auto_create_topic(
    const Config& config, storage::LogManager& logs, const std::string& name,
    std::shared_ptr<storage::LogManager::TopicChange>* change);

struct DescribedSynonym {
  std::string name;
  std::optional<std::string> value;
  ConfigSourceId source;
};
struct DescribedConfig {
  std::string name;
  std::optional<std::string> value;  // null for sensitive or unset keys
  ConfigSourceId source = ConfigSourceId::DEFAULT_CONFIG;
  bool read_only = false;
  bool is_sensitive = false;
  int8_t config_type = 0;                  // Kafka's DescribeConfigs ConfigType id
  std::vector<DescribedSynonym> synonyms;  // always filled; callers drop them when not asked
};
// Every topic-level config (sorted by name) with its effective value for a
// topic whose effective settings are `effective` and whose overrides are
// `overrides`.
std::vector<DescribedConfig> describe_topic_configs(const Config& config,
                                                    const storage::LogConfig& effective,
                                                    const storage::ConfigMap& overrides);
// Every broker config (sorted by name) with its value and source.
std::vector<DescribedConfig> describe_broker_configs(const Config& config);

// The handlers' logic. `listener` is the name of the connection's listener.
protocol::MetadataResponse metadata(Broker& broker, const protocol::MetadataRequest& req,
                                    int16_t version, std::string_view listener);
protocol::CreateTopicsResponse create_topics(Broker& broker,
                                             const protocol::CreateTopicsRequest& req,
                                             int16_t version);
protocol::DeleteTopicsResponse delete_topics(Broker& broker,
                                             const protocol::DeleteTopicsRequest& req,
                                             int16_t version);
protocol::CreatePartitionsResponse create_partitions(Broker& broker,
                                                     const protocol::CreatePartitionsRequest& req,
                                                     int16_t version);
protocol::DescribeConfigsResponse describe_configs(Broker& broker,
                                                   const protocol::DescribeConfigsRequest& req,
                                                   int16_t version);
protocol::DescribeClusterResponse describe_cluster(Broker& broker,
                                                   const protocol::DescribeClusterRequest& req,
                                                   int16_t version, std::string_view listener);

}  // namespace runnel::server
