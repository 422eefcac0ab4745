// CreatePartitions (key 37): grows topics, answering per topic. The new
// partitions' files are made off the event loop (server/topic_work.h).
#include "protocol/messages/create_partitions.h"

#include <map>
#include <set>

#include "protocol/errors.h"
#include "server/handler.h"
#include "server/topic_admin.h"
#include "server/topic_work.h"
#include "storage/log_manager.h"

namespace runnel::server {

using CreatePartitionsHandler = ApiHandler<protocol::CreatePartitionsRequest, 0, 3>;

using protocol::ErrorCode;
using Resp = protocol::CreatePartitionsResponse;

namespace {

storage::TopicResult grow(Broker& broker,
                          const protocol::CreatePartitionsRequest::CreatePartitionsTopic& t,
                          bool validate_only,
                          std::shared_ptr<storage::LogManager::TopicChange>* change) {
  const storage::TopicInfo* info = broker.logs.topic(t.name);
  if (!info)
    return {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "topic '" + t.name + "' does not exist"};
  if (t.count == info->partitions)
    return {ErrorCode::INVALID_PARTITIONS, "topic '" + t.name + "' already has " +
                                               std::to_string(info->partitions) + " partition(s)"};
  if (t.count < info->partitions)
    return {ErrorCode::INVALID_PARTITIONS,
            "topic '" + t.name + "' has " + std::to_string(info->partitions) +
                " partition(s); the count can only grow, not go down to " +
                std::to_string(t.count)};
  if (t.assignments) {
    int64_t added = int64_t{t.count} - info->partitions;
    if (static_cast<int64_t>(t.assignments->size()) != added)
      return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
              std::to_string(added) + " partition(s) would be added but " +
                  std::to_string(t.assignments->size()) + " assignment(s) were given"};
    for (const auto& a : *t.assignments) {
      if (a.broker_ids.size() != 1)
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                "each new partition must have exactly 1 replica, like the existing ones"};
      if (a.broker_ids[0] != broker.node_id)
        return {ErrorCode::INVALID_REPLICA_ASSIGNMENT,
                "broker " + std::to_string(a.broker_ids[0]) +
                    " in the assignment is not registered; the only broker is " +
                    std::to_string(broker.node_id)};
    }
  }
  return broker.logs.begin_create_partitions(t.name, t.count, validate_only, change);
}

struct Growth {
  size_t index = 0;  // in resp.results
  std::shared_ptr<storage::LogManager::TopicChange> change;
};

TopicChanges changes_of(const std::vector<Growth>& growths) {
  TopicChanges out;
  for (const auto& g : growths) out.push_back(g.change);
  return out;
}

void finish_create_partitions(Broker& broker, std::vector<Growth>& growths, Resp* resp) {
  for (auto& g : growths) {
    auto r = broker.logs.finish(std::move(g.change));
    auto& out = resp->results[g.index];
    out.error_code = r.error;
    if (!r.ok()) out.error_message = r.message;
  }
}

// Checks every topic and begins the growths (their file work runs after, off the event loop
// when the broker has a TopicWork).
Resp begin_create_partitions(Broker& broker, const protocol::CreatePartitionsRequest& req,
                             std::vector<Growth>* growths) {
  Resp resp;
  std::map<std::string, int> count;
  for (const auto& t : req.topics) ++count[t.name];
  std::set<std::string> answered;
  for (const auto& t : req.topics) {
    if (!answered.insert(t.name).second) continue;
    Growth g;
    storage::TopicResult r =
        count[t.name] > 1 ? storage::TopicResult{ErrorCode::INVALID_REQUEST,
                                                 "topic '" + t.name + "' appears more than once"}
                          : grow(broker, t, req.validate_only, &g.change);
    if (g.change) {
      g.index = resp.results.size();
      growths->push_back(std::move(g));
    }
    Resp::CreatePartitionsTopicResult out;
    out.name = t.name;
    out.error_code = r.error;
    if (!r.ok()) out.error_message = r.message;
    resp.results.push_back(std::move(out));
  }
  return resp;
}

}  // namespace

protocol::CreatePartitionsResponse create_partitions(Broker& broker,
                                                     const protocol::CreatePartitionsRequest& req,
                                                     int16_t /*version*/) {
  std::vector<Growth> growths;
  Resp resp = begin_create_partitions(broker, req, &growths);
  for (const auto& c : changes_of(growths)) c->run();
  finish_create_partitions(broker, growths, &resp);
  return resp;
}

namespace {

asio::awaitable<protocol::CreatePartitionsResponse> handle_create_partitions(
    RequestContext& ctx, protocol::CreatePartitionsRequest req) {
  std::vector<Growth> growths;
  Resp resp = begin_create_partitions(ctx.broker, req, &growths);
  co_await run_topic_changes(ctx.broker.topic_work, changes_of(growths));
  finish_create_partitions(ctx.broker, growths, &resp);
  co_return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(create_partitions, CreatePartitionsHandler, handle_create_partitions)

}  // namespace runnel::server
