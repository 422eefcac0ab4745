// OffsetCommit (key 8), v0-10. A commit with generation -1 and no member id is a standalone
// commit (allowed while the group has no members); otherwise the member and generation must
// be current. Partitions of topics that do not exist get UNKNOWN_TOPIC_OR_PARTITION; the
// others are written to __consumer_offsets in one batch. v2-4's retention_time_ms, when
// set, makes those offsets expire that long after the commit (value v1, as Kafka writes).
// v10 names topics by id (KIP-848): an id no topic has gets UNKNOWN_TOPIC_ID for each of its
// partitions, as Kafka answers before it looks at the group; offsets are kept by name.
#include "protocol/messages/offset_commit.h"

#include "server/group_handlers.h"

namespace runnel::server {

using OffsetCommitHandler = ApiHandler<protocol::OffsetCommitRequest, 0, 10>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::OffsetCommitResponse;

HandlerResult handle_offset_commit(RequestContext& ctx, protocol::Reader& body) {
  auto req = decode_request<OffsetCommitHandler>(ctx, body);
  Resp resp;
  ErrorCode group_error = group_status(ctx.broker, req.group_id, true);
  // Partitions to commit, and where each one's answer goes.
  std::vector<coordinator::OffsetCommitPartition> commits;
  std::vector<Resp::OffsetCommitResponsePartition*> answers;
  const bool by_id = ctx.api_version >= 10;
  std::vector<std::string> names;  // per request topic, resolved from its id from v10
  names.reserve(req.topics.size());
  for (auto& t : req.topics) {
    const storage::TopicInfo* info = by_id ? ctx.broker.logs.topic_by_id(t.topic_id) : nullptr;
    const std::string& name = names.emplace_back(by_id ? (info ? info->name : "") : t.name);
    Resp::OffsetCommitResponseTopic rt;
    rt.name = name;
    rt.topic_id = t.topic_id;
    rt.partitions.reserve(t.partitions.size());
    for (auto& p : t.partitions) {
      Resp::OffsetCommitResponsePartition rp;
      rp.partition_index = p.partition_index;
      if (by_id && !info) {
        rp.error_code = ErrorCode::UNKNOWN_TOPIC_ID;
      } else if (group_error != ErrorCode::NONE) {
        rp.error_code = group_error;
      } else if (!partition_exists(ctx.broker, name, p.partition_index)) {
        rp.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      }
      rt.partitions.push_back(rp);
    }
    resp.topics.push_back(std::move(rt));
  }
  for (size_t ti = 0; ti < req.topics.size(); ++ti) {
    auto& t = req.topics[ti];
    for (size_t pi = 0; pi < t.partitions.size(); ++pi) {
      auto& rp = resp.topics[ti].partitions[pi];
      if (rp.error_code != ErrorCode::NONE) continue;
      auto& p = t.partitions[pi];
      const bool has_retention =
          ctx.api_version >= 2 && ctx.api_version <= 4 && req.retention_time_ms >= 0;
      commits.push_back({names[ti], p.partition_index, p.committed_offset, p.committed_leader_epoch,
                         p.committed_metadata.value_or(std::string()),
                         has_retention ? req.retention_time_ms : -1});
      answers.push_back(&rp);
    }
  }
  if (!commits.empty()) {
    auto errors = ctx.broker.groups.coordinator().commit_offsets(req.group_id, req.member_id,
                                                                 req.generation_id_or_member_epoch,
                                                                 req.group_instance_id, commits);
    for (size_t i = 0; i < answers.size() && i < errors.size(); ++i)
      answers[i]->error_code = errors[i];
  }
  return encode_response(ctx, resp);
}

}  // namespace

RUNNEL_REGISTER_HANDLER(offset_commit, OffsetCommitHandler, handle_offset_commit)

}  // namespace runnel::server
