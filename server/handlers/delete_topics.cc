// DeleteTopics (key 20): deletes topics by name (every version) or by topic
// id (v6+), as Kafka's controller does. A topic leaves the map at once; its
// files are removed off the event loop (server/topic_work.h).
#include "protocol/messages/delete_topics.h"

#include <map>
#include <set>

#include "protocol/errors.h"
#include "server/config.h"
#include "server/handler.h"
#include "server/topic_admin.h"
#include "server/topic_work.h"
#include "storage/log_manager.h"

namespace runnel::server {

using DeleteTopicsHandler = ApiHandler<protocol::DeleteTopicsRequest, 0, 6>;

using protocol::ErrorCode;
using Resp = protocol::DeleteTopicsResponse;

namespace {

struct Target {
  std::optional<std::string> name;
  protocol::Uuid id;
};

Resp::DeletableTopicResult result(std::optional<std::string> name, protocol::Uuid id, ErrorCode e,
                                  std::string message = {}) {
  Resp::DeletableTopicResult r;
  r.name = std::move(name);
  r.topic_id = id;
  r.error_code = e;
  if (e != ErrorCode::NONE) r.error_message = std::move(message);
  return r;
}

// A deletion begun on the event loop, whose file work runs after (off the loop when the
// broker has a TopicWork) and which is finished before the answer is sent.
struct Deletion {
  size_t index = 0;  // in resp.responses
  std::shared_ptr<storage::LogManager::TopicChange> change;
};

Resp begin_delete_topics(Broker& broker, const protocol::DeleteTopicsRequest& req, int16_t version,
                         std::vector<Deletion>* deletions) {
  std::vector<Target> targets;
  if (version >= 6) {
    for (const auto& t : req.topics) targets.push_back({t.name, t.topic_id});
  } else {
    for (const auto& n : req.topic_names) targets.push_back({n, {}});
  }

  Resp resp;
  if (!broker.config.get_bool("delete.topic.enable")) {
    // Before v3 the whole request is refused as invalid.
    ErrorCode e = version < 3 ? ErrorCode::INVALID_REQUEST : ErrorCode::TOPIC_DELETION_DISABLED;
    for (const auto& t : targets)
      resp.responses.push_back(
          result(t.name, t.id, e, "topic deletion is disabled on this broker"));
    return resp;
  }

  std::map<std::string, int> name_count;
  std::map<protocol::Uuid, int> id_count;
  for (const auto& t : targets) {
    if (t.name && t.id.is_zero()) ++name_count[*t.name];
    if (!t.name && !t.id.is_zero()) ++id_count[t.id];
  }
  std::set<std::string> names_done;
  std::set<protocol::Uuid> ids_done;

  for (const auto& t : targets) {
    if (!t.name && t.id.is_zero()) {
      resp.responses.push_back(
          result(std::nullopt, t.id, ErrorCode::INVALID_REQUEST, "neither a name nor an id given"));
      continue;
    }
    if (t.name && !t.id.is_zero()) {
      resp.responses.push_back(result(t.name, t.id, ErrorCode::INVALID_REQUEST,
                                      "give either a topic name or a topic id, not both"));
      continue;
    }
    if (t.name) {
      if (!names_done.insert(*t.name).second) continue;
      if (name_count[*t.name] > 1) {
        resp.responses.push_back(result(t.name, t.id, ErrorCode::INVALID_REQUEST,
                                        "topic '" + *t.name + "' appears more than once"));
        continue;
      }
    } else {
      if (!ids_done.insert(t.id).second) continue;
      if (id_count[t.id] > 1) {
        resp.responses.push_back(
            result(std::nullopt, t.id, ErrorCode::INVALID_REQUEST,
                   "topic id " + t.id.to_string() + " appears more than once"));
        continue;
      }
    }

    const storage::TopicInfo* info =
        t.name ? broker.logs.topic(*t.name) : broker.logs.topic_by_id(t.id);
    if (!info) {
      if (t.name)
        resp.responses.push_back(result(t.name, t.id, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                                        "topic '" + *t.name + "' does not exist"));
      else
        resp.responses.push_back(result(std::nullopt, t.id, ErrorCode::UNKNOWN_TOPIC_ID,
                                        "no topic has id " + t.id.to_string()));
      continue;
    }
    std::string name = info->name;
    protocol::Uuid id = info->topic_id;
    if (is_internal_topic(name)) {
      // The coordinators keep their state in these topics.
      resp.responses.push_back(result(name, id, ErrorCode::INVALID_TOPIC_EXCEPTION,
                                      "internal topic '" + name + "' cannot be deleted"));
      continue;
    }
    Deletion d;
    auto r = broker.logs.begin_delete_topic(name, &d.change);
    if (d.change) {
      d.index = resp.responses.size();
      deletions->push_back(std::move(d));
    }
    resp.responses.push_back(result(name, id, r.error, r.message));
  }
  return resp;
}

TopicChanges changes_of(const std::vector<Deletion>& deletions) {
  TopicChanges out;
  for (const auto& d : deletions) out.push_back(d.change);
  return out;
}

void finish_delete_topics(Broker& broker, std::vector<Deletion>& deletions, Resp* resp) {
  for (auto& d : deletions) {
    auto r = broker.logs.finish(std::move(d.change));
    auto& out = resp->responses[d.index];
    out = result(out.name, out.topic_id, r.error, r.message);
  }
}

}  // namespace

protocol::DeleteTopicsResponse delete_topics(Broker& broker,
                                             const protocol::DeleteTopicsRequest& req,
                                             int16_t version) {
  std::vector<Deletion> deletions;
  Resp resp = begin_delete_topics(broker, req, version, &deletions);
  for (const auto& c : changes_of(deletions)) c->run();
  finish_delete_topics(broker, deletions, &resp);
  return resp;
}

namespace {

asio::awaitable<protocol::DeleteTopicsResponse> handle_delete_topics(
    RequestContext& ctx, protocol::DeleteTopicsRequest req) {
  std::vector<Deletion> deletions;
  Resp resp = begin_delete_topics(ctx.broker, req, ctx.api_version, &deletions);
  co_await run_topic_changes(ctx.broker.topic_work, changes_of(deletions));
  finish_delete_topics(ctx.broker, deletions, &resp);
  co_return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(delete_topics, DeleteTopicsHandler, handle_delete_topics)

}  // namespace runnel::server
