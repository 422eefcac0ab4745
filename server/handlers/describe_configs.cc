// DescribeConfigs (key 32): topic configs (effective value, source,
// synonyms) and this broker's configs, resolved as Kafka's ConfigHelper does.
#include "protocol/messages/describe_configs.h"

#include <charconv>
#include <set>

#include "protocol/errors.h"
#include "server/config.h"
#include "server/handler.h"
#include "server/topic_admin.h"
#include "storage/log_manager.h"
#include "storage/topic_name.h"

namespace runnel::server {

using DescribeConfigsHandler = ApiHandler<protocol::DescribeConfigsRequest, 0, 4>;

using protocol::ErrorCode;
using Resp = protocol::DescribeConfigsResponse;

namespace {

constexpr int8_t kTopicResource = 2;
constexpr int8_t kBrokerResource = 4;

void add_configs(Resp::DescribeConfigsResult& out, std::vector<DescribedConfig> configs,
                 const protocol::DescribeConfigsRequest& req,
                 const protocol::DescribeConfigsRequest::DescribeConfigsResource& res,
                 int16_t version) {
  std::set<std::string_view> wanted;
  if (res.configuration_keys)
    for (const auto& k : *res.configuration_keys) wanted.insert(k);
  for (auto& c : configs) {
    if (res.configuration_keys && !wanted.count(c.name)) continue;
    Resp::DescribeConfigsResourceResult r;
    r.name = std::move(c.name);
    r.value = std::move(c.value);
    r.read_only = c.read_only;
    r.config_source = static_cast<int8_t>(c.source);
    r.is_default = c.source == ConfigSourceId::DEFAULT_CONFIG;
    r.is_sensitive = c.is_sensitive;
    if (version >= 1 && req.include_synonyms) {
      for (auto& s : c.synonyms) {
        Resp::DescribeConfigsSynonym syn;
        syn.name = std::move(s.name);
        syn.value = std::move(s.value);
        syn.source = static_cast<int8_t>(s.source);
        r.synonyms.push_back(std::move(syn));
      }
    }
    r.config_type = c.config_type;
    r.documentation = std::nullopt;  // Runnel ships no per-key documentation text
    out.configs.push_back(std::move(r));
  }
}

void fail(Resp::DescribeConfigsResult& out, ErrorCode e, std::string message) {
  out.error_code = e;
  out.error_message = std::move(message);
}

}  // namespace

protocol::DescribeConfigsResponse describe_configs(Broker& broker,
                                                   const protocol::DescribeConfigsRequest& req,
                                                   int16_t version) {
  Resp resp;
  for (const auto& res : req.resources) {
    Resp::DescribeConfigsResult out;
    out.resource_type = res.resource_type;
    out.resource_name = res.resource_name;
    out.error_message = std::nullopt;
    if (res.resource_type == kTopicResource) {
      std::string reason;
      const storage::TopicInfo* info = broker.logs.topic(res.resource_name);
      const storage::LogConfig* effective = broker.logs.topic_config(res.resource_name);
      if (!storage::is_valid_topic_name(res.resource_name, &reason)) {
        fail(out, ErrorCode::INVALID_TOPIC_EXCEPTION, reason);
      } else if (!info || !effective) {
        fail(out, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
             "topic '" + res.resource_name + "' does not exist");
      } else {
        add_configs(out, describe_topic_configs(broker.config, *effective, info->configs), req, res,
                    version);
      }
    } else if (res.resource_type == kBrokerResource) {
      if (res.resource_name.empty()) {
        // The cluster-wide dynamic defaults: Runnel has none (configs are
        // static, from the properties file and overrides).
      } else {
        int32_t id = 0;
        const char* b = res.resource_name.data();
        const char* e = b + res.resource_name.size();
        auto [ptr, ec] = std::from_chars(b, e, id);
        if (ec != std::errc() || ptr != e) {
          fail(out, ErrorCode::INVALID_REQUEST,
               "a broker resource name must be a broker id, not '" + res.resource_name + "'");
        } else if (id != broker.node_id) {
          fail(out, ErrorCode::INVALID_REQUEST,
               "this is broker " + std::to_string(broker.node_id) + ", not broker " +
                   res.resource_name);
        } else {
          add_configs(out, describe_broker_configs(broker.config), req, res, version);
        }
      }
    } else {
      fail(out, ErrorCode::INVALID_REQUEST,
           "resource type " + std::to_string(res.resource_type) + " is not supported");
    }
    resp.results.push_back(std::move(out));
  }
  return resp;
}

namespace {

protocol::DescribeConfigsResponse handle_describe_configs(
    RequestContext& ctx, const protocol::DescribeConfigsRequest& req) {
  auto resp = describe_configs(ctx.broker, req, ctx.api_version);
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(describe_configs, DescribeConfigsHandler, handle_describe_configs)

}  // namespace runnel::server
