// CreateTopics (key 19): validates each topic as Kafka's controller does
// (name, partitions, replication factor against the one registered broker,
// manual assignments, configs) and creates it unless validate_only. The
// partitions' files are made off the event loop (server/topic_work.h); the
// topic becomes visible when they and the topic file are written.
#include "protocol/messages/create_topics.h"

#include <map>
#include <set>

#include "protocol/errors.h"
#include "server/config.h"
#include "server/handler.h"
#include "server/topic_admin.h"
#include "server/topic_work.h"
#include "storage/log_manager.h"
#include "storage/topic_name.h"

namespace runnel::server {

using CreateTopicsHandler = ApiHandler<protocol::CreateTopicsRequest, 0, 7>;

using protocol::ErrorCode;
using Resp = protocol::CreateTopicsResponse;

namespace {

struct Plan {
  int32_t partitions = 0;
  int16_t replication_factor = 0;
  storage::ConfigMap configs;
};

storage::TopicResult plan_topic(const Broker& broker,
                                const protocol::CreateTopicsRequest::CreatableTopic& t,
                                Plan* plan) {
  std::string reason;
  if (!storage::is_valid_topic_name(t.name, &reason))
    return {ErrorCode::INVALID_TOPIC_EXCEPTION, reason};
  if (broker.logs.topic(t.name))
    return {ErrorCode::TOPIC_ALREADY_EXISTS, "topic '" + t.name + "' already exists"};

  if (!t.assignments.empty()) {
    if (t.num_partitions != -1 || t.replication_factor != -1)
      return {ErrorCode::INVALID_REQUEST,
              "with a manual assignment, num_partitions and replication_factor must be -1"};
    std::vector<bool> present(t.assignments.size(), false);
    for (const auto& a : t.assignments) {
      if (a.partition_index < 0 || static_cast<size_t>(a.partition_index) >= present.size() ||
          present[static_cast<size_t>(a.partition_index)])
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                "assigned partitions must be the indexes 0 to n-1, each once"};
      present[static_cast<size_t>(a.partition_index)] = true;
      if (a.broker_ids.empty())
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                "partition " + std::to_string(a.partition_index) + " has no replicas"};
      for (size_t i = 0; i < a.broker_ids.size(); ++i) {
        if (a.broker_ids[i] != broker.node_id)
          return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                  "broker " + std::to_string(a.broker_ids[i]) +
                      " in the assignment is not registered; the only broker is " +
                      std::to_string(broker.node_id)};
        if (i > 0)
          return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                  "partition " + std::to_string(a.partition_index) + " lists a broker twice"};
      }
    }
    plan->partitions = static_cast<int32_t>(t.assignments.size());
    plan->replication_factor = 1;
  } else {
    plan->partitions =
        t.num_partitions == -1 ? broker.config.get_int("num.partitions") : t.num_partitions;
    if (plan->partitions <= 0)
      return {ErrorCode::INVALID_PARTITIONS, "the partition count must be positive (or -1)"};
    int32_t rf = t.replication_factor == -1 ? broker.config.get_int("default.replication.factor")
                                            : t.replication_factor;
    if (rf <= 0)
      return {ErrorCode::INVALID_REPLICATION_FACTOR,
              "the replication factor must be positive (or -1 for the default)"};
    if (rf != 1)
      return {ErrorCode::INVALID_REPLICATION_FACTOR,
              "cannot keep " + std::to_string(rf) +
                  " replicas of each partition: this cluster has a single broker"};
    plan->replication_factor = static_cast<int16_t>(rf);
  }

  std::vector<std::pair<std::string, std::optional<std::string>>> kv;
  for (const auto& c : t.configs) kv.emplace_back(c.name, c.value);
  if (auto v = validate_topic_configs(kv); !v.ok()) return v;
  for (const auto& c : t.configs) plan->configs[c.name] = *c.value;
  return {};
}

}  // namespace

namespace {

// One answered topic: checked and begun on the event loop, its file work run (off the loop
// when the broker has a TopicWork), then finished on the loop.
struct Pending {
  const protocol::CreateTopicsRequest::CreatableTopic* topic = nullptr;
  storage::TopicResult result;
  Plan plan;
  std::shared_ptr<storage::LogManager::TopicChange> change;
};

std::vector<Pending> begin_create_topics(Broker& broker, const protocol::CreateTopicsRequest& req) {
  std::map<std::string, int> count;
  for (const auto& t : req.topics) ++count[t.name];
  std::set<std::string> answered;
  std::vector<Pending> out;
  for (const auto& t : req.topics) {
    if (!answered.insert(t.name).second) continue;  // one answer per name
    Pending p;
    p.topic = &t;
    if (count[t.name] > 1) {
      p.result = {ErrorCode::INVALID_REQUEST, "topic '" + t.name + "' appears more than once"};
    } else {
      p.result = plan_topic(broker, t, &p.plan);
      if (p.result.ok())
        p.result = broker.logs.begin_create_topic(t.name, p.plan.partitions, p.plan.configs,
                                                  std::nullopt, req.validate_only, &p.change);
    }
    out.push_back(std::move(p));
  }
  return out;
}

TopicChanges changes_of(const std::vector<Pending>& pending) {
  TopicChanges out;
  for (const auto& p : pending)
    if (p.change) out.push_back(p.change);
  return out;
}

Resp finish_create_topics(Broker& broker, const protocol::CreateTopicsRequest& req, int16_t version,
                          std::vector<Pending>& pending) {
  Resp resp;
  for (auto& p : pending) {
    if (p.change) p.result = broker.logs.finish(std::move(p.change));
    const auto& t = *p.topic;
    const storage::TopicResult& result = p.result;
    const Plan& plan = p.plan;
    Resp::CreatableTopicResult r;
    r.name = t.name;
    r.error_code = result.error;
    r.error_message = result.ok() ? std::nullopt : std::optional<std::string>(result.message);
    if (result.ok() && version >= 5) {
      r.num_partitions = plan.partitions;
      r.replication_factor = plan.replication_factor;
      if (!req.validate_only) {
        if (const auto* info = broker.logs.topic(t.name)) r.topic_id = info->topic_id;
      }
      storage::LogConfig effective;
      std::string ignored;
      broker.logs.defaults().with_overrides(plan.configs, &effective, &ignored);
      std::vector<Resp::CreatableTopicConfigs> configs;
      for (auto& c : describe_topic_configs(broker.config, effective, plan.configs)) {
        Resp::CreatableTopicConfigs rc;
        rc.name = std::move(c.name);
        rc.value = std::move(c.value);
        rc.read_only = c.read_only;
        rc.config_source = static_cast<int8_t>(c.source);
        rc.is_sensitive = c.is_sensitive;
        configs.push_back(std::move(rc));
      }
      r.configs = std::move(configs);
    }
    resp.topics.push_back(std::move(r));
  }
  return resp;
}

}  // namespace

protocol::CreateTopicsResponse create_topics(Broker& broker,
                                             const protocol::CreateTopicsRequest& req,
                                             int16_t version) {
  auto pending = begin_create_topics(broker, req);
  for (const auto& c : changes_of(pending)) c->run();
  return finish_create_topics(broker, req, version, pending);
}

namespace {

asio::awaitable<protocol::CreateTopicsResponse> handle_create_topics(
    RequestContext& ctx, protocol::CreateTopicsRequest req) {
  auto pending = begin_create_topics(ctx.broker, req);
  co_await run_topic_changes(ctx.broker.topic_work, changes_of(pending));
  auto resp = finish_create_topics(ctx.broker, req, ctx.api_version, pending);
  co_return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(create_topics, CreateTopicsHandler, handle_create_topics)

}  // namespace runnel::server
