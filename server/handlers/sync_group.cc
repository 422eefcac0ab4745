// SyncGroup (key 14), v0-5: the leader hands out the assignment; every member waits for its
// share. v5+ names the protocol type and name, which must match the group's.
#include "protocol/messages/sync_group.h"

#include "server/group_handlers.h"

namespace runnel::server {

using SyncGroupHandler = ApiHandler<protocol::SyncGroupRequest, 0, 5>;

namespace {

using protocol::ErrorCode;

asio::awaitable<protocol::SyncGroupResponse> handle_sync_group(RequestContext& ctx,
                                                               protocol::SyncGroupRequest req) {
  protocol::SyncGroupResponse resp;
  ErrorCode e = group_status(ctx.broker, req.group_id);
  if (e != ErrorCode::NONE) {
    resp.error_code = e;
    co_return resp;
  }
  coordinator::SyncRequest sr;
  sr.member_id = req.member_id;
  sr.group_instance_id = req.group_instance_id;
  sr.generation_id = req.generation_id;
  sr.protocol_type = req.protocol_type;
  sr.protocol_name = req.protocol_name;
  for (auto& a : req.assignments)
    sr.assignments.emplace_back(std::move(a.member_id), std::move(a.assignment));
  coordinator::SyncResponse r = co_await ctx.broker.groups.sync(req.group_id, std::move(sr));
  resp.error_code = r.error;
  if (r.error == ErrorCode::NONE) {
    resp.protocol_type = r.protocol_type;
    resp.protocol_name = r.protocol_name;
    resp.assignment = std::move(r.assignment);
  }
  co_return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(sync_group, SyncGroupHandler, handle_sync_group)

}  // namespace runnel::server
