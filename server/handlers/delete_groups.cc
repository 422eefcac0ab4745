// DeleteGroups (key 42), v0-3: deletes groups without members, with their committed offsets.
// v3 adds an error message per group, which Kafka leaves null for these per-group errors
// (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP), as Runnel does.
#include "protocol/messages/delete_groups.h"

#include "server/group_handlers.h"

namespace runnel::server {

using DeleteGroupsHandler = ApiHandler<protocol::DeleteGroupsRequest, 0, 3>;

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
