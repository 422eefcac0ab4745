// Heartbeat (key 12), v0-4: keeps a member's session alive and tells it when to rejoin
// (REBALANCE_IN_PROGRESS).
#include "protocol/messages/heartbeat.h"

#include "server/group_handlers.h"

namespace runnel::server {

using HeartbeatHandler = ApiHandler<protocol::HeartbeatRequest, 0, 4>;

namespace {

using protocol::ErrorCode;

protocol::HeartbeatResponse handle_heartbeat(RequestContext& ctx,
                                             const protocol::HeartbeatRequest& req) {
  protocol::HeartbeatResponse resp;
  ErrorCode e = group_status(ctx.broker, req.group_id);
  if (e == ErrorCode::NONE) {
    e = ctx.broker.groups.coordinator().heartbeat(
        req.group_id, {req.member_id, req.group_instance_id, req.generation_id});
  }
  resp.error_code = e;
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(heartbeat, HeartbeatHandler, handle_heartbeat)

}  // namespace runnel::server
