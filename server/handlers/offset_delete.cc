// OffsetDelete (key 47), v0: deletes committed offsets of a group, except those of topics an
// active consumer group subscribes to (GROUP_SUBSCRIBED_TO_TOPIC).
#include "protocol/messages/offset_delete.h"

#include "server/group_handlers.h"

namespace runnel::server {

using OffsetDeleteHandler = ApiHandler<protocol::OffsetDeleteRequest, 0, 0>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::OffsetDeleteResponse;

protocol::OffsetDeleteResponse handle_offset_delete(RequestContext& ctx,
                                                    const protocol::OffsetDeleteRequest& req) {
  Resp resp;
  ErrorCode e = group_status(ctx.broker, req.group_id);
  if (e != ErrorCode::NONE) {
    resp.error_code = e;
    return resp;
  }
  std::vector<std::pair<std::string, int32_t>> partitions;
  std::vector<Resp::OffsetDeleteResponsePartition*> answers;
  for (const auto& t : req.topics) {
    Resp::OffsetDeleteResponseTopic rt;
    rt.name = t.name;
    for (const auto& p : t.partitions) {
      Resp::OffsetDeleteResponsePartition rp;
      rp.partition_index = p.partition_index;
      if (!partition_exists(ctx.broker, t.name, p.partition_index))
        rp.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
      rt.partitions.push_back(rp);
    }
    resp.topics.push_back(std::move(rt));
  }
  for (size_t ti = 0; ti < req.topics.size(); ++ti) {
    for (auto& rp : resp.topics[ti].partitions) {
      if (rp.error_code != ErrorCode::NONE) continue;
      partitions.emplace_back(req.topics[ti].name, rp.partition_index);
      answers.push_back(&rp);
    }
  }
  auto r = ctx.broker.groups.coordinator().delete_offsets(req.group_id, partitions);
  resp.error_code = r.error;
  if (r.error != ErrorCode::NONE) {
    resp.topics.clear();
  } else {
    for (size_t i = 0; i < answers.size() && i < r.partition_errors.size(); ++i)
      answers[i]->error_code = r.partition_errors[i];
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(offset_delete, OffsetDeleteHandler, handle_offset_delete)

}  // namespace runnel::server
