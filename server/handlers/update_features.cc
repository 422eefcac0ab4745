// UpdateFeatures (key 57), v0-2: changes finalized feature levels (server/features.h), as
// `kafka-features.sh upgrade|downgrade|disable` and Admin.updateFeatures do. Kafka's
// controller checks every update first and applies all or none; a refusal is the top-level
// error (INVALID_UPDATE_VERSION) with Kafka's message naming the first feature refused. The
// upgrade type (1 upgrade, 2 safe downgrade, 3 unsafe downgrade) is read at every version:
// v0's AllowDowngrade flag is ignored, as Kafka 4.4 does. v0-1 list each feature of an
// accepted request in the results (message "NONE"), none of a refused one.
#include "protocol/messages/update_features.h"

#include "server/features.h"
#include "server/handler.h"

namespace runnel::server {

using UpdateFeaturesHandler = ApiHandler<protocol::UpdateFeaturesRequest, 0, 2>;

namespace {

using protocol::ErrorCode;

protocol::UpdateFeaturesResponse handle_update_features(
    RequestContext& ctx, const protocol::UpdateFeaturesRequest& req) {
  protocol::UpdateFeaturesResponse resp;
  std::vector<Features::Update> updates;
  Features::UpdateResult result;
  for (const auto& u : req.feature_updates) {
    Features::Update update{u.feature, u.max_version_level, Features::UpgradeType::kUpgrade};
    if (u.upgrade_type >= 1 && u.upgrade_type <= 3) {
      update.type = static_cast<Features::UpgradeType>(u.upgrade_type);
    } else if (result.error == ErrorCode::NONE) {
      result = {ErrorCode::INVALID_UPDATE_VERSION,
                "The update failed for all features since the following feature had an error: "
                "Invalid update version " +
                    std::to_string(u.max_version_level) + " for feature " + u.feature +
                    ". The controller does not support the given upgrade type."};
    }
    updates.push_back(std::move(update));
  }
  if (result.error == ErrorCode::NONE)
    result = ctx.broker.features.update(updates, req.validate_only, ctx.broker.node_id);
  resp.error_code = result.error;
  resp.error_message = result.error == ErrorCode::NONE
                           ? std::nullopt
                           : std::optional<std::string>(std::move(result.message));
  if (ctx.api_version <= 1 && result.error == ErrorCode::NONE) {
    for (const auto& u : req.feature_updates) {
      protocol::UpdateFeaturesResponse::UpdatableFeatureResult r;
      r.feature = u.feature;
      r.error_code = ErrorCode::NONE;
      r.error_message = "NONE";
      resp.results.push_back(std::move(r));
    }
  }
  return resp;
}

}  // namespace

RUNNEL_REGISTER_HANDLER(update_features, UpdateFeaturesHandler, handle_update_features)

}  // namespace runnel::server
