// JoinGroup (key 11), v0-9. v0 has no rebalance timeout (the session timeout serves); v4+
// makes a new dynamic member come back with the id it is given (MEMBER_ID_REQUIRED); v5+
// carries group.instance.id (static membership); v9+ lets a static leader skip assigning.
#include "protocol/messages/join_group.h"

#include "server/group_handlers.h"

namespace runnel::server {

using JoinGroupHandler = ApiHandler<protocol::JoinGroupRequest, 0, 9>;

namespace {

using protocol::ErrorCode;

asio::awaitable<protocol::JoinGroupResponse> handle_join_group(RequestContext& ctx,
                                                               protocol::JoinGroupRequest req) {
  const int16_t v = ctx.api_version;
  protocol::JoinGroupResponse resp;
  resp.member_id = req.member_id;
  if (v >= 7) resp.protocol_name = std::nullopt;
  ErrorCode e = group_status(ctx.broker, req.group_id);
  if (e != ErrorCode::NONE) {
    resp.error_code = e;
    co_return resp;
  }
  coordinator::JoinRequest jr;
  jr.member_id = req.member_id;
  jr.group_instance_id = req.group_instance_id;
  jr.client_id = std::string(ctx.client_id);
  jr.client_host = client_host(ctx.connection);
  jr.session_timeout_ms = req.session_timeout_ms;
  jr.rebalance_timeout_ms = v >= 1 ? req.rebalance_timeout_ms : req.session_timeout_ms;
  jr.protocol_type = req.protocol_type;
  for (auto& p : req.protocols) jr.protocols.push_back({std::move(p.name), std::move(p.metadata)});
  jr.require_known_member_id = v >= 4;
  jr.supports_skip_assignment = v >= 9;
  coordinator::JoinResponse r = co_await ctx.broker.groups.join(req.group_id, std::move(jr));
  resp.error_code = r.error;
  resp.generation_id = r.generation_id;
  resp.member_id = r.member_id;
  resp.leader = r.leader;
  resp.skip_assignment = r.skip_assignment;
  if (r.error == ErrorCode::NONE) {
    if (v >= 7) resp.protocol_type = r.protocol_type;
    resp.protocol_name = r.protocol_name;
  }
  for (auto& m : r.members) {
    protocol::JoinGroupResponse::JoinGroupResponseMember rm;
    rm.member_id = std::move(m.member_id);
    rm.group_instance_id = std::move(m.group_instance_id);
    rm.metadata = std::move(m.metadata);
    resp.members.push_back(std::move(rm));
  }
  co_return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(join_group, JoinGroupHandler, handle_join_group)

}  // namespace runnel::server
