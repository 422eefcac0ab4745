// ApiVersions (key 18), v0-5: the APIs this broker handles and their version
// ranges, read from the handler registry, and from v3 the features it supports and their
// finalized levels (server/features.h), as Kafka lists them: every supported feature (at v3
// only those whose range starts above 0, KIP-1022), the finalized ones whose level is above 0,
// and the epoch of the last change.
//
// v5 (KIP-1242): a client that names the cluster and node it means to reach
// (cluster_id not null) gets REBOOTSTRAP_REQUIRED, and no API list, when
// either is not this broker's, as Kafka answers (after the software name
// check).
#include "protocol/messages/api_versions.h"

#include "protocol/errors.h"
#include "server/dispatch.h"
#include "server/features.h"
#include "server/handler.h"

namespace runnel::server {

using ApiVersionsHandler = ApiHandler<protocol::ApiVersionsRequest, 0, 5>;

namespace {

protocol::ApiVersionsResponse supported_ranges(const HandlerRegistry& handlers) {
  protocol::ApiVersionsResponse resp;
  for (auto& e : handlers.all()) {
    protocol::ApiVersionsResponse::ApiVersion v;
    v.api_key = e.api_key;
    v.min_version = e.min_version;
    v.max_version = e.max_version;
    resp.api_keys.push_back(std::move(v));
  }
  return resp;
}

void add_features(protocol::ApiVersionsResponse& resp, const Features& features, int16_t version) {
  for (const auto& f : supported_features()) {
    // KIP-1022: v3 clients take a supported range starting at 0 for "not supported", so
    // Kafka leaves those features out of v3 answers.
    if (version < 4 && f.min_version == 0) continue;
    protocol::ApiVersionsResponse::SupportedFeatureKey k;
    k.name = std::string(f.name);
    k.min_version = f.min_version;
    k.max_version = f.max_version;
    resp.supported_features.push_back(std::move(k));
  }
  for (const auto& [name, level] : features.finalized()) {
    protocol::ApiVersionsResponse::FinalizedFeatureKey k;
    k.name = name;
    k.min_version_level = level;
    k.max_version_level = level;
    resp.finalized_features.push_back(std::move(k));
  }
  resp.finalized_features_epoch = features.epoch();
}

// Kafka's rule for client_software_name / _version (KIP-511): letters,
// digits, '-' and '.', starting and ending with a letter or digit.
bool valid_software_field(std::string_view s) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (s.empty() || !alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s)
    if (!alnum(c) && c != '-' && c != '.') return false;
  return true;
}

// Kafka's check for v5: a cluster id given, and it or the node id is not this broker's.
bool wrong_cluster_or_node(const Broker& broker, const protocol::ApiVersionsRequest& req,
                           int16_t version) {
  return version >= 5 && req.cluster_id &&
         (*req.cluster_id != broker.cluster_id || req.node_id != broker.node_id);
}

protocol::ApiVersionsResponse handle_api_versions(RequestContext& ctx,
                                                  const protocol::ApiVersionsRequest& req) {
  auto resp = supported_ranges(ctx.broker.handlers);
  if (ctx.api_version >= 3 && (!valid_software_field(req.client_software_name) ||
                               !valid_software_field(req.client_software_version))) {
    resp.error_code = protocol::ErrorCode::INVALID_REQUEST;
  } else if (wrong_cluster_or_node(ctx.broker, req, ctx.api_version)) {
    resp = {};
    resp.error_code = protocol::ErrorCode::REBOOTSTRAP_REQUIRED;
  } else if (ctx.api_version >= 3) {
    add_features(resp, ctx.broker.features, ctx.api_version);
  }
  return resp;
}

}  // namespace

Response unsupported_api_versions_response(int32_t correlation_id,
                                           const HandlerRegistry& handlers) {
  // As Kafka (KIP-511): the answer lists only ApiVersions' own range, which is all a client
  // needs to retry at a version this broker speaks.
  protocol::ApiVersionsResponse resp;
  for (auto& v : supported_ranges(handlers).api_keys) {
    if (v.api_key == ApiVersionsHandler::api_key) resp.api_keys.push_back(v);
  }
  resp.error_code = protocol::ErrorCode::UNSUPPORTED_VERSION;
  Response w = begin_response(correlation_id, 0);
  resp.encode(w, 0);
  finish_response(w);
  return w;
}

RUNNEL_REGISTER_HANDLER(api_versions, ApiVersionsHandler, handle_api_versions)

}  // namespace runnel::server
