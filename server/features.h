// Feature flags (KIP-584): what this broker supports and the levels in force, as Kafka's
// ApiVersions answers them and UpdateFeatures changes them.
//
//   feature              supported  default  what a level turns on
//   group.version        0-1        1        1: the consumer group protocol (KIP-848)
//   metadata.version     7-33       33       Kafka 4.4's metadata level (fixed: Runnel keeps
//                                            no KRaft metadata; tools read it)
//   transaction.version  0-2        2        1: flexible __transaction_state records;
//                                            2: transactions v2 (KIP-890: EndTxn v5 bumps
//                                            the epoch, Produce v12+ and TxnOffsetCommit v5+
//                                            add partitions themselves)
//
// A level is set in the configuration with `feature.<name>` (as `kafka-storage.sh format
// --feature <name>=<level>` sets it for Kafka) and changed at run time with UpdateFeatures.
// Levels changed at run time are stored in <log dir>/features.properties with the epoch of the
// last change; at start-up a level the configuration names wins over the stored one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errors.h"

namespace runnel::server {

class Config;

struct FeatureRange {
  std::string_view name;
  int16_t min_version;
  int16_t max_version;
  int16_t default_level;
};

inline constexpr std::string_view kGroupVersion = "group.version";
inline constexpr std::string_view kMetadataVersion = "metadata.version";
inline constexpr std::string_view kTransactionVersion = "transaction.version";

// Every feature Runnel supports, sorted by name.
const std::vector<FeatureRange>& supported_features();

class Features {
 public:
  // The default levels, then those the configuration sets.
  explicit Features(const Config& config);
  Features();  // the default levels (tests)

  // Reads <dir>/features.properties when present; a level the configuration set stays. False
  // with `error` when the file cannot be read or is malformed.
  bool load(const std::string& dir, std::string* error);

  // The level in force; 0 for a feature that is not finalized.
  int16_t level(std::string_view name) const;
  // Every finalized feature (level above 0) and its level, sorted by name.
  const std::map<std::string, int16_t, std::less<>>& finalized() const { return levels_; }
  // Kafka's FinalizedFeaturesEpoch: grows with every change.
  int64_t epoch() const { return epoch_; }

  enum class UpgradeType : int8_t { kUpgrade = 1, kSafeDowngrade = 2, kUnsafeDowngrade = 3 };
  struct Update {
    std::string name;
    int16_t level = 0;  // 0: remove the feature
    UpgradeType type = UpgradeType::kUpgrade;
  };
  struct UpdateResult {
    protocol::ErrorCode error = protocol::ErrorCode::NONE;
    std::string message;  // Kafka's text, when refused
  };
  // Kafka's UpdateFeatures on the controller: all updates are checked first and either every
  // one is applied (stored, then in force) or none is. `validate_only`: checked only.
  // INVALID_UPDATE_VERSION for an unknown feature, a level outside the supported range, a
  // lowering without a downgrade type, a "downgrade" to a higher level, or metadata.version
  // lowered; KAFKA_STORAGE_ERROR when the levels cannot be stored.
  UpdateResult update(const std::vector<Update>& updates, bool validate_only, int32_t node_id);

  // Called after a change is in force, with the feature and its new level.
  void on_change(std::function<void(std::string_view, int16_t)> f) {
    listeners_.push_back(std::move(f));
  }

 private:
  struct Refusal {
    std::string reason;
    bool names_update = true;  // Kafka's message starts "Invalid update version <l> for ..."
  };
  std::optional<Refusal> refusal(const Update& u, int32_t node_id) const;
  bool store(const std::map<std::string, int16_t, std::less<>>& levels, int64_t epoch,
             std::string* error) const;

  std::map<std::string, int16_t, std::less<>> levels_;  // level > 0 only
  std::map<std::string, int16_t, std::less<>> configured_;
  int64_t epoch_ = 0;
  std::string dir_;  // empty: nothing is stored (tests)
  std::vector<std::function<void(std::string_view, int16_t)>> listeners_;
};

}  // namespace runnel::server
