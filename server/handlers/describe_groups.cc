// DescribeGroups (key 15), v0-6. An unknown group is described as Dead with no members: with
// no error up to v5, with GROUP_ID_NOT_FOUND and "Group <id> not found." from v6 (KIP-1043),
// as Kafka answers; a consumer group (KIP-848) the same, "Group <id> is not a classic group.".
// Member metadata and assignments are given only when Stable. Authorized operations are given only
// for a group answered without an error, as Kafka does.
#include "protocol/messages/describe_groups.h"

#include "server/group_handlers.h"

namespace runnel::server {

using DescribeGroupsHandler = ApiHandler<protocol::DescribeGroupsRequest, 0, 6>;

namespace {

using protocol::ErrorCode;
using Resp = protocol::DescribeGroupsResponse;

// Kafka's group operations (AclOperation codes as bits): READ 3, DELETE 6, DESCRIBE 8,
// DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11 (3400, as Kafka 4.4 answers).
constexpr int32_t kGroupOperations = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11);

protocol::DescribeGroupsResponse handle_describe_groups(
    RequestContext& ctx, const protocol::DescribeGroupsRequest& req) {
  Resp resp;
  for (const auto& id : req.groups) {
    Resp::DescribedGroup g;
    g.group_id = id;
    ErrorCode e = group_status(ctx.broker, id, true);
    if (e != ErrorCode::NONE) {
      g.error_code = e;
      resp.groups.push_back(std::move(g));
      continue;
    }
    auto d = ctx.broker.groups.coordinator().describe(id);
    g.group_state = d.state;
    if (ctx.api_version >= 6 && ctx.broker.groups.coordinator().group(id) == nullptr) {
      g.error_code = ErrorCode::GROUP_ID_NOT_FOUND;
      const auto* cg = ctx.broker.groups.coordinator().consumer_groups().group(id);
      g.error_message =
          "Group " + id + (cg && cg->exists() ? " is not a classic group." : " not found.");
      resp.groups.push_back(std::move(g));
      continue;
    }
    if (req.include_authorized_operations) g.authorized_operations = kGroupOperations;
    g.protocol_type = d.protocol_type;
    g.protocol_data = d.protocol;
    for (auto& m : d.members) {
      Resp::DescribedGroupMember rm;
      rm.member_id = std::move(m.member_id);
      rm.group_instance_id = std::move(m.group_instance_id);
      rm.client_id = std::move(m.client_id);
      rm.client_host = std::move(m.client_host);
      rm.member_metadata = std::move(m.metadata);
      rm.member_assignment = std::move(m.assignment);
      g.members.push_back(std::move(rm));
    }
    resp.groups.push_back(std::move(g));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(describe_groups, DescribeGroupsHandler, handle_describe_groups)

}  // namespace runnel::server
