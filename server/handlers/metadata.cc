// Metadata (key 3): this node as the only broker and controller, and the
// requested topics (all of them for a null list, or an empty list in v0),
// auto-creating unknown ones when allowed (the files off the event loop,
// server/topic_work.h; the answer is sent when they are made). v13 adds a top-level error code,
// which Kafka's brokers leave at NONE, as Runnel does.
#include "protocol/messages/metadata.h"

#include <algorithm>
#include <set>

#include "protocol/errors.h"
#include "server/config.h"
#include "server/handler.h"
#include "server/partition_leadership.h"
#include "server/topic_admin.h"
#include "server/topic_work.h"
#include "storage/log_manager.h"
#include "storage/topic_name.h"

namespace runnel::server {

using MetadataHandler = ApiHandler<protocol::MetadataRequest, 0, 13>;

using protocol::ErrorCode;
using Resp = protocol::MetadataResponse;

namespace {

Resp::MetadataResponseTopic topic_result(ErrorCode error, std::string name,
                                         protocol::Uuid id = {}) {
  Resp::MetadataResponseTopic t;
  t.error_code = error;
  t.is_internal = is_internal_topic(name);
  t.name = std::move(name);
  t.topic_id = id;
  return t;
}

Resp::MetadataResponseTopic describe_topic(const Broker& broker, const storage::TopicInfo& info) {
  auto t = topic_result(ErrorCode::NONE, info.name, info.topic_id);
  t.partitions.reserve(static_cast<size_t>(std::max(info.partitions, 0)));
  for (int32_t p = 0; p < info.partitions; ++p) {
    Resp::MetadataResponsePartition part;
    part.partition_index = p;
    part.leader_id = broker.node_id;
    const storage::PartitionLog* log = broker.logs.get(info.name, p);
    part.leader_epoch = log ? leader_epoch(*log) : kInitialLeaderEpoch;
    part.replica_nodes = {broker.node_id};
    part.isr_nodes = {broker.node_id};
    t.partitions.push_back(std::move(part));
  }
  return t;
}

// Kafka's answer to a request it rejects as a whole: every requested topic
// with the error and no partitions.
Resp whole_request_error(const protocol::MetadataRequest& req, ErrorCode error) {
  Resp resp;
  if (req.topics) {
    for (const auto& rt : *req.topics) {
      auto t = topic_result(error, rt.name.value_or(""), rt.topic_id);
      t.is_internal = false;
      resp.topics.push_back(std::move(t));
    }
  }
  return resp;
}

// A topic auto-creation begun while answering; its file work runs after (off the event loop
// when the broker has a TopicWork) and it is finished before the answer is sent.
struct AutoCreation {
  size_t index = 0;  // in resp.topics
  std::shared_ptr<storage::LogManager::TopicChange> change;
};

// Kafka creates asynchronously and answers the creating request with LEADER_NOT_AVAILABLE;
// clients retry and then see the topic.
ErrorCode auto_creation_answer(const storage::TopicResult& created) {
  return created.ok() || created.error == ErrorCode::TOPIC_ALREADY_EXISTS
             ? ErrorCode::LEADER_NOT_AVAILABLE
             : created.error;
}

TopicChanges changes_of(const std::vector<AutoCreation>& creations) {
  TopicChanges out;
  for (const auto& c : creations) out.push_back(c.change);
  return out;
}

void finish_auto_creations(Broker& broker, std::vector<AutoCreation>& creations, Resp* resp) {
  for (auto& c : creations) {
    auto r = broker.logs.finish(std::move(c.change));
    resp->topics[c.index].error_code = auto_creation_answer(r);
  }
}

// With `creations`, auto-creations are only begun and listed there.
Resp answer_metadata(Broker& broker, const protocol::MetadataRequest& req, int16_t version,
                     std::string_view listener, std::vector<AutoCreation>* creations) {
  // Topic ids in requests (and null names) exist from v12 on.
  if (req.topics && version < 12) {
    for (const auto& rt : *req.topics)
      if (!rt.name || !rt.topic_id.is_zero())
        return whole_request_error(req, ErrorCode::INVALID_REQUEST);
  }

  Resp resp;
  auto ep = advertised_endpoint(broker, listener);
  Resp::MetadataResponseBroker self;
  self.node_id = broker.node_id;
  self.host = ep.host;
  self.port = ep.port;
  resp.brokers.push_back(std::move(self));
  resp.cluster_id = broker.cluster_id;
  resp.controller_id = broker.node_id;

  const bool all_topics = !req.topics || (version == 0 && req.topics->empty());
  storage::LogManager& logs = broker.logs;

  if (all_topics) {
    for (const storage::TopicInfo* info : logs.topics())
      resp.topics.push_back(describe_topic(broker, *info));
  } else {
    // By id (v12): unknown ids answer UNKNOWN_TOPIC_ID; names are then ignored.
    std::vector<const storage::TopicInfo*> by_id;
    bool use_ids = false;
    for (const auto& rt : *req.topics) {
      if (rt.topic_id.is_zero()) continue;
      use_ids = true;
      const storage::TopicInfo* info = logs.topic_by_id(rt.topic_id);
      if (info) {
        if (std::find(by_id.begin(), by_id.end(), info) == by_id.end()) by_id.push_back(info);
      } else {
        auto t = topic_result(ErrorCode::UNKNOWN_TOPIC_ID, "", rt.topic_id);
        t.name = std::nullopt;
        resp.topics.push_back(std::move(t));
      }
    }
    if (use_ids) {
      for (const auto* info : by_id) resp.topics.push_back(describe_topic(broker, *info));
    } else {
      const bool may_create = broker.config.get_bool("auto.create.topics.enable") &&
                              (version < 4 || req.allow_auto_topic_creation);
      std::set<std::string> seen;
      for (const auto& rt : *req.topics) {
        if (!rt.name || !seen.insert(*rt.name).second) continue;
        const std::string& name = *rt.name;
        if (const storage::TopicInfo* info = logs.topic(name)) {
          resp.topics.push_back(describe_topic(broker, *info));
          continue;
        }
        if (!storage::is_valid_topic_name(name)) {
          resp.topics.push_back(topic_result(ErrorCode::INVALID_TOPIC_EXCEPTION, name));
          continue;
        }
        if (!may_create) {
          resp.topics.push_back(topic_result(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, name));
          continue;
        }
        AutoCreation c;
        auto created = begin_auto_create_topic(broker.config, logs, name, &c.change);
        if (c.change) {
          c.index = resp.topics.size();
          creations->push_back(std::move(c));
        }
        resp.topics.push_back(topic_result(auto_creation_answer(created), name));
      }
    }
  }

  if (version >= 8 && req.include_topic_authorized_operations)
    for (auto& t : resp.topics) t.topic_authorized_operations = all_topic_operations();
  if (version >= 8 && version <= 10 && req.include_cluster_authorized_operations)
    resp.cluster_authorized_operations = all_cluster_operations();
  return resp;
}

}  // namespace

protocol::MetadataResponse metadata(Broker& broker, const protocol::MetadataRequest& req,
                                    int16_t version, std::string_view listener) {
  std::vector<AutoCreation> creations;
  Resp resp = answer_metadata(broker, req, version, listener, &creations);
  for (const auto& c : changes_of(creations)) c->run();
  finish_auto_creations(broker, creations, &resp);
  return resp;
}

namespace {

asio::awaitable<protocol::MetadataResponse> handle_metadata(RequestContext& ctx,
                                                            protocol::MetadataRequest req) {
  std::vector<AutoCreation> creations;
  Resp resp =
      answer_metadata(ctx.broker, req, ctx.api_version, ctx.connection.listener, &creations);
  co_await run_topic_changes(ctx.broker.topic_work, changes_of(creations));
  finish_auto_creations(ctx.broker, creations, &resp);
  co_return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(metadata, MetadataHandler, handle_metadata)

}  // namespace runnel::server
