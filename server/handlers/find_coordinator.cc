// FindCoordinator (key 10), v0-6: this broker coordinates every group and every transactional
// id; the internal topic behind it (__consumer_offsets, __transaction_state) is created on the
// first request. v4+ asks for several keys at once.
#include "protocol/messages/find_coordinator.h"

#include "server/group_handlers.h"
#include "server/topic_admin.h"
#include "server/txn_handlers.h"

namespace runnel::server {

using FindCoordinatorHandler = ApiHandler<protocol::FindCoordinatorRequest, 0, 6>;

namespace {

using protocol::ErrorCode;
using Coordinator = protocol::FindCoordinatorResponse::Coordinator;

constexpr int8_t kGroupKey = 0;
constexpr int8_t kTransactionKey = 1;

Coordinator find(Broker& broker, std::string_view listener, const std::string& key,
                 int8_t key_type) {
  Coordinator c;
  c.key = key;
  c.node_id = -1;
  c.port = -1;
  ErrorCode e = ErrorCode::NONE;
  if (key_type == kGroupKey) {
    e = broker.groups.ensure_offsets_topic();
  } else if (key_type == kTransactionKey) {
    e = broker.txns.ensure_state_topic();
  } else {
    e = ErrorCode::INVALID_REQUEST;
    c.error_message = "unknown coordinator key type " + std::to_string(key_type);
  }
  c.error_code = e;
  if (e != ErrorCode::NONE) return c;
  auto ep = advertised_endpoint(broker, listener);
  c.node_id = broker.node_id;
  c.host = ep.host;
  c.port = ep.port;
  c.error_message = std::nullopt;
  return c;
}

protocol::FindCoordinatorResponse handle_find_coordinator(
    RequestContext& ctx, const protocol::FindCoordinatorRequest& req) {
  protocol::FindCoordinatorResponse resp;
  if (ctx.api_version >= 4) {
    for (const auto& key : req.coordinator_keys)
      resp.coordinators.push_back(find(ctx.broker, ctx.connection.listener, key, req.key_type));
  } else {
    Coordinator c = find(ctx.broker, ctx.connection.listener, req.key, req.key_type);
    resp.error_code = c.error_code;
    resp.error_message = c.error_message;
    resp.node_id = c.node_id;
    resp.host = c.host;
    resp.port = c.port;
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(find_coordinator, FindCoordinatorHandler, handle_find_coordinator)

}  // namespace runnel::server
