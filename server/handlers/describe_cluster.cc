// DescribeCluster (key 60), v0-2: this node as the only broker and the controller. v2's
// include_fenced_brokers changes nothing here: the one broker is never fenced (is_fenced is
// false).
#include "protocol/messages/describe_cluster.h"

#include "protocol/errors.h"
#include "server/handler.h"
#include "server/topic_admin.h"

namespace runnel::server {

using DescribeClusterHandler = ApiHandler<protocol::DescribeClusterRequest, 0, 2>;

using protocol::ErrorCode;

protocol::DescribeClusterResponse describe_cluster(Broker& broker,
                                                   const protocol::DescribeClusterRequest& req,
                                                   int16_t version, std::string_view listener) {
  constexpr int8_t kBrokers = 1, kControllers = 2;
  protocol::DescribeClusterResponse resp;
  // Kafka's brokers answer only for broker endpoints: controllers are asked
  // on the controller listener, which a Runnel node does not expose.
  if (req.endpoint_type != kBrokers) {
    bool known = req.endpoint_type == kControllers;
    resp.error_code = version == 0 ? ErrorCode::INVALID_REQUEST
                      : known      ? ErrorCode::MISMATCHED_ENDPOINT_TYPE
                                   : ErrorCode::UNSUPPORTED_ENDPOINT_TYPE;
    resp.error_message = known ? "this endpoint serves brokers, not controllers"
                               : "unknown endpoint type " + std::to_string(req.endpoint_type);
    return resp;
  }
  resp.endpoint_type = kBrokers;
  resp.cluster_id = broker.cluster_id;
  resp.controller_id = broker.node_id;
  auto ep = advertised_endpoint(broker, listener);
  protocol::DescribeClusterResponse::DescribeClusterBroker self;
  self.broker_id = broker.node_id;
  self.host = ep.host;
  self.port = ep.port;
  resp.brokers.push_back(std::move(self));
  if (req.include_cluster_authorized_operations)
    resp.cluster_authorized_operations = all_cluster_operations();
  return resp;
}

namespace {

protocol::DescribeClusterResponse handle_describe_cluster(
    RequestContext& ctx, const protocol::DescribeClusterRequest& req) {
  auto resp = describe_cluster(ctx.broker, req, ctx.api_version, ctx.connection.listener);
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(describe_cluster, DescribeClusterHandler, handle_describe_cluster)

}  // namespace runnel::server
