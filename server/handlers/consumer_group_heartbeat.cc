// ConsumerGroupHeartbeat (key 68), v0-1: a member of a consumer group (KIP-848) joins, keeps
// its session, acknowledges its assignment and leaves; the coordinator computes the
// assignment (coordinator/consumer_groups.h). v1 adds SubscribedTopicRegex.
//
// The coordinator sees the cluster's topics as Kafka's metadata image gives them
// (topics_image() of group_service.h). UNSUPPORTED_VERSION when
// group.coordinator.rebalance.protocols leaves out "consumer" or the group.version feature is below
// 1, as Kafka answers.
#include "protocol/messages/consumer_group_heartbeat.h"

#include <algorithm>

#include "server/config.h"
#include "server/features.h"
#include "server/group_handlers.h"
#include "server/topic_admin.h"

namespace runnel::server {

using ConsumerGroupHeartbeatHandler = ApiHandler<protocol::ConsumerGroupHeartbeatRequest, 0, 1>;

namespace {

using protocol::ErrorCode;

bool consumer_protocol_enabled(const Broker& broker) {
  auto protocols = broker.config.get_list("group.coordinator.rebalance.protocols");
  return std::find(protocols.begin(), protocols.end(), "consumer") != protocols.end() &&
         broker.features.level(kGroupVersion) >= 1;
}

protocol::ConsumerGroupHeartbeatResponse handle_consumer_group_heartbeat(
    RequestContext& ctx, const protocol::ConsumerGroupHeartbeatRequest& req) {
  protocol::ConsumerGroupHeartbeatResponse resp;
  // An empty group id is the coordinator's INVALID_REQUEST, as Kafka answers it.
  ErrorCode e = consumer_protocol_enabled(ctx.broker)
                    ? group_status(ctx.broker, req.group_id, /*allow_empty=*/true)
                    : ErrorCode::UNSUPPORTED_VERSION;
  if (e != ErrorCode::NONE) {
    resp.error_code = e;
    return resp;
  }
  coordinator::HeartbeatContext hc{ctx.api_version, std::string(ctx.client_id),
                                   client_host(ctx.connection)};
  // The coordinator tells GroupService when a member's deadline moved, which re-arms the
  // runtime's timer: session and rebalance timeouts fire without another request.
  return ctx.broker.groups.coordinator().consumer_group_heartbeat(req, hc,
                                                                  topics_image(ctx.broker.logs));
}

}  // namespace

RUNNEL_REGISTER_HANDLER(consumer_group_heartbeat, ConsumerGroupHeartbeatHandler,
                        handle_consumer_group_heartbeat)

}  // namespace runnel::server
