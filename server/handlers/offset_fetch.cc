// OffsetFetch (key 9), v0-9. v0-7 ask for one group, v8+ for several. A null topic list
// (v2+) asks for every committed offset of the group. A partition without a commit answers
// offset -1. Errors of the group are per partition in v0-1 and top-level (per group in v8+)
// later. With require_stable (v7+), a partition for which an open transaction holds an offset
// (TxnOffsetCommit not yet committed or aborted) answers UNSTABLE_OFFSET_COMMIT and offset -1,
// as Kafka does; the client retries.
//
// v10 names topics by id (KIP-848), in the request and the answer. An id no topic has is
// answered UNKNOWN_TOPIC_ID for each partition asked, and a fetch of every offset leaves out
// the topics that no longer exist (they have no id), as Kafka does.
// v9+ carries the member id and epoch of a consumer group member, checked as Kafka checks
// them.
#include "protocol/messages/offset_fetch.h"

#include <map>

#include "server/group_handlers.h"

namespace runnel::server {

using OffsetFetchHandler = ApiHandler<protocol::OffsetFetchRequest, 0, 10>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::OffsetFetchResponse;

struct PartitionAnswer {
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  ErrorCode error = ErrorCode::NONE;
};
using TopicAnswers = std::vector<std::pair<std::string, std::vector<PartitionAnswer>>>;

// The offsets of one group; nullopt topics means all of them.
ErrorCode fetch_group(
    Broker& broker, const std::string& group,
    const std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>>& topics,
    bool require_stable, TopicAnswers& out) {
  ErrorCode e = group_status(broker, group, true);
  if (e != ErrorCode::NONE) return e;
  auto& coord = broker.groups.coordinator();
  if (!topics) {
    std::map<std::string, std::vector<PartitionAnswer>> by_topic;
    for (const auto& o : coord.fetch_offsets(group)) {
      if (require_stable && coord.has_pending_offset(group, o.topic, o.partition))
        by_topic[o.topic].push_back({o.partition, -1, -1, "", ErrorCode::UNSTABLE_OFFSET_COMMIT});
      else
        by_topic[o.topic].push_back({o.partition, o.committed.offset, o.committed.leader_epoch,
                                     o.committed.metadata, ErrorCode::NONE});
    }
    for (auto& [t, ps] : by_topic) out.emplace_back(t, std::move(ps));
    return ErrorCode::NONE;
  }
  for (const auto& [topic, partitions] : *topics) {
    std::vector<PartitionAnswer> ps;
    for (int32_t p : partitions) {
      PartitionAnswer a;
      a.partition = p;
      if (require_stable && coord.has_pending_offset(group, topic, p)) {
        a.error = ErrorCode::UNSTABLE_OFFSET_COMMIT;
      } else if (auto c = coord.fetch_offset(group, topic, p)) {
        a.offset = c->offset;
        a.leader_epoch = c->leader_epoch;
        a.metadata = c->metadata;
      }
      ps.push_back(std::move(a));
    }
    out.emplace_back(topic, std::move(ps));
  }
  return ErrorCode::NONE;
}

// v9+: a member of a consumer group names itself and its epoch, which must be current
// (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH), as Kafka checks; no member id and epoch -1 is the
// admin client or a consumer outside the group, always answered.
ErrorCode check_member(Broker& broker, const std::string& group,
                       const std::optional<std::string>& member_id, int32_t member_epoch) {
  if (!member_id && member_epoch < 0) return ErrorCode::NONE;
  if (group_status(broker, group, true) != ErrorCode::NONE) return ErrorCode::NONE;
  const auto* cg = broker.groups.coordinator().consumer_groups().group(group);
  if (!cg || !cg->exists()) return ErrorCode::NONE;
  const auto* m = cg->member(member_id.value_or(""));
  if (!m) return ErrorCode::UNKNOWN_MEMBER_ID;
  if (m->member_epoch != member_epoch) return ErrorCode::STALE_MEMBER_EPOCH;
  return ErrorCode::NONE;
}

// `ids` (v10): the answer names topics by id, and a topic without one (deleted) is left out.
template <typename Topic, typename Partition, typename TopicOut>
void fill(const TopicAnswers& answers, std::vector<TopicOut>& out,
          const storage::LogManager* ids = nullptr) {
  for (const auto& [name, ps] : answers) {
    TopicOut t;
    t.name = name;
    if constexpr (requires { t.topic_id; }) {
      if (ids) {
        const storage::TopicInfo* info = ids->topic(name);
        if (!info) continue;
        t.topic_id = info->topic_id;
      }
    }
    for (const auto& a : ps) {
      Partition p;
      p.partition_index = a.partition;
      p.committed_offset = a.offset;
      p.committed_leader_epoch = a.leader_epoch;
      p.metadata = a.metadata;
      p.error_code = a.error;
      t.partitions.push_back(std::move(p));
    }
    out.push_back(std::move(t));
  }
}

protocol::OffsetFetchResponse handle_offset_fetch(RequestContext& ctx,
                                                  const protocol::OffsetFetchRequest& req) {
  const int16_t v = ctx.api_version;
  Resp resp;
  if (v >= 8) {
    const bool by_id = v >= 10;
    for (const auto& g : req.groups) {
      std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> topics;
      std::vector<const protocol::OffsetFetchRequest::OffsetFetchRequestTopics*> unknown_ids;
      if (g.topics) {
        topics.emplace();
        for (const auto& t : *g.topics) {
          if (!by_id) {
            topics->emplace_back(t.name, t.partition_indexes);
          } else if (const auto* info = ctx.broker.logs.topic_by_id(t.topic_id)) {
            topics->emplace_back(info->name, t.partition_indexes);
          } else {
            unknown_ids.push_back(&t);
          }
        }
      }
      TopicAnswers answers;
      Resp::OffsetFetchResponseGroup rg;
      rg.group_id = g.group_id;
      rg.error_code = v >= 9 ? check_member(ctx.broker, g.group_id, g.member_id, g.member_epoch)
                             : ErrorCode::NONE;
      if (rg.error_code == ErrorCode::NONE) {
        rg.error_code = fetch_group(ctx.broker, g.group_id, topics, req.require_stable, answers);
        fill<Resp::OffsetFetchResponseTopics, Resp::OffsetFetchResponsePartitions>(
            answers, rg.topics, by_id ? &ctx.broker.logs : nullptr);
        for (const auto* t : unknown_ids) {
          Resp::OffsetFetchResponseTopics rt;
          rt.topic_id = t->topic_id;
          for (int32_t p : t->partition_indexes) {
            Resp::OffsetFetchResponsePartitions rp;
            rp.partition_index = p;
            rp.committed_offset = -1;
            rp.committed_leader_epoch = -1;
            rp.metadata = "";
            rp.error_code = ErrorCode::UNKNOWN_TOPIC_ID;
            rt.partitions.push_back(std::move(rp));
          }
          rg.topics.push_back(std::move(rt));
        }
      }
      resp.groups.push_back(std::move(rg));
    }
    return resp;
  }
  std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> topics;
  if (req.topics || v < 2) {
    topics.emplace();
    if (req.topics)
      for (const auto& t : *req.topics) topics->emplace_back(t.name, t.partition_indexes);
  }
  TopicAnswers answers;
  ErrorCode e =
      fetch_group(ctx.broker, req.group_id, topics, v >= 7 && req.require_stable, answers);
  if (e != ErrorCode::NONE) {
    if (v >= 2) {
      resp.error_code = e;
    } else {
      // v0-1 have no top-level error: every partition asked for carries it.
      for (const auto& [name, ps] : *topics) {
        std::vector<PartitionAnswer> out;
        for (int32_t p : ps) out.push_back({p, -1, -1, "", e});
        answers.emplace_back(name, std::move(out));
      }
    }
  }
  fill<Resp::OffsetFetchResponseTopic, Resp::OffsetFetchResponsePartition>(answers, resp.topics);
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(offset_fetch, OffsetFetchHandler, handle_offset_fetch)

}  // namespace runnel::server
