// ListGroups (key 16), v0-5. v4+ filters by state (case-insensitive), v5+ by group type
// ("classic", or "consumer" for a consumer group of KIP-848, whose protocol type is
// "consumer" too, as Kafka lists it).
#include "protocol/messages/list_groups.h"

#include <cctype>

#include "server/group_handlers.h"

namespace runnel::server {

using ListGroupsHandler = ApiHandler<protocol::ListGroupsRequest, 0, 5>;

namespace {

using protocol::ErrorCode;

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

protocol::ListGroupsResponse handle_list_groups(RequestContext& ctx,
                                                const protocol::ListGroupsRequest& req) {
  protocol::ListGroupsResponse resp;
  if (!ctx.broker.groups.loaded()) resp.error_code = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
  auto wanted = [&](std::string_view type) {
    if (req.types_filter.empty()) return true;
    for (const auto& t : req.types_filter)
      if (equals_ignore_case(t, type)) return true;
    return false;
  };
  for (auto& g : ctx.broker.groups.coordinator().list(req.states_filter)) {
    if (!wanted(g.type)) continue;
    protocol::ListGroupsResponse::ListedGroup lg;
    lg.group_id = std::move(g.group_id);
    lg.protocol_type = std::move(g.protocol_type);
    lg.group_state = std::move(g.state);
    lg.group_type = std::move(g.type);
    resp.groups.push_back(std::move(lg));
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(list_groups, ListGroupsHandler, handle_list_groups)

}  // namespace runnel::server
