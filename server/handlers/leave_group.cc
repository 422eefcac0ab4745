// LeaveGroup (key 13), v0-5. v0-2 remove the one member named; v3+ remove a batch of members
// (by member id or group.instance.id) with an error per member. For v0-2 the top-level error
// is the member's error, as Kafka reports it.
#include "protocol/messages/leave_group.h"

#include "server/group_handlers.h"

namespace runnel::server {

using LeaveGroupHandler = ApiHandler<protocol::LeaveGroupRequest, 0, 5>;

namespace {

using protocol::ErrorCode;

protocol::LeaveGroupResponse handle_leave_group(RequestContext& ctx,
                                                const protocol::LeaveGroupRequest& req) {
  const int16_t v = ctx.api_version;
  protocol::LeaveGroupResponse resp;
  ErrorCode e = group_status(ctx.broker, req.group_id);
  if (e != ErrorCode::NONE) {
    resp.error_code = e;
    return resp;
  }
  std::vector<coordinator::LeaveMember> members;
  if (v >= 3) {
    for (const auto& m : req.members) members.push_back({m.member_id, m.group_instance_id});
  } else {
    members.push_back({req.member_id, std::nullopt});
  }
  auto r = ctx.broker.groups.coordinator().leave(req.group_id, members);
  resp.error_code = r.error;
  if (v >= 3) {
    for (size_t i = 0; i < members.size(); ++i) {
      protocol::LeaveGroupResponse::MemberResponse m;
      m.member_id = members[i].member_id;
      m.group_instance_id = members[i].group_instance_id;
      m.error_code = i < r.member_errors.size() ? r.member_errors[i] : r.error;
      resp.members.push_back(std::move(m));
    }
  } else if (r.error == ErrorCode::NONE && !r.member_errors.empty()) {
    resp.error_code = r.member_errors.front();
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(leave_group, LeaveGroupHandler, handle_leave_group)

}  // namespace runnel::server
