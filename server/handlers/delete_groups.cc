// DeleteGroups (key 42), v0-2: deletes groups without members, with their committed offsets.
#include "protocol/messages/delete_groups.h"

#include "server/group_handlers.h"

namespace runnel::server {

using DeleteGroupsHandler = ApiHandler<protocol::DeleteGroupsRequest, 0, 2>;

namespace {

using protocol::ErrorCode;

protocol::DeleteGroupsResponse handle_delete_groups(RequestContext& ctx,
                                                    const protocol::DeleteGroupsRequest& req) {
  protocol::DeleteGroupsResponse resp;
  for (const auto& id : req.groups_names) {
    protocol::DeleteGroupsResponse::DeletableGroupResult r;
    r.group_id = id;
    ErrorCode e = group_status(ctx.broker, id, true);
    if (e == ErrorCode::NONE) {
      e = ctx.broker.groups.coordinator().delete_group(id);
    }
    r.error_code = e;
    resp.results.push_back(std::move(r));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(delete_groups, DeleteGroupsHandler, handle_delete_groups)

}  // namespace runnel::server
