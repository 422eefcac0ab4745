#include "server/features.h"

#include <charconv>
#include <sstream>

#include "server/config.h"
#include "server/log.h"
#include "storage/io_util.h"

namespace runnel::server {

namespace {

using protocol::ErrorCode;

constexpr std::string_view kFileName = "features.properties";
constexpr size_t kMaxFileBytes = 64 * 1024;

const FeatureRange* find_feature(std::string_view name) {
  for (const auto& f : supported_features())
    if (f.name == name) return &f;
  return nullptr;
}

std::string config_key(std::string_view feature) { return "feature." + std::string(feature); }

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

const std::vector<FeatureRange>& supported_features() {
  static const std::vector<FeatureRange> features = {
      {kGroupVersion, 0, 1, 1},
      {kMetadataVersion, 7, 33, 33},
      {kTransactionVersion, 0, 2, 2},
  };
  return features;
}

Features::Features() {
  for (const auto& f : supported_features())
    if (f.default_level > 0) levels_[std::string(f.name)] = f.default_level;
}

Features::Features(const Config& config) : Features() {
  for (const auto& f : supported_features()) {
    auto v = config.value(config_key(f.name));
    if (!v) continue;
    auto level = parse_int(*v);
    if (!level || *level < f.min_version || *level > f.max_version)
      throw ConfigError(config_key(f.name) + "=" + *v + ": Runnel supports levels " +
                        std::to_string(f.min_version) + "-" + std::to_string(f.max_version));
    configured_[std::string(f.name)] = static_cast<int16_t>(*level);
    if (*level > 0)
      levels_[std::string(f.name)] = static_cast<int16_t>(*level);
    else
      levels_.erase(std::string(f.name));
  }
}

bool Features::load(const std::string& dir, std::string* error) {
  dir_ = dir;
  const std::string path = dir + "/" + std::string(kFileName);
  std::string text;
  bool present = false;
  if (!storage::io::read_file_if_present(path, &text, &present, kMaxFileBytes, error)) return false;
  if (!present) return true;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    auto bad = [&](const std::string& why) {
      *error = path + " line " + std::to_string(line_no) + ": " + why;
      return false;
    };
    if (eq == std::string::npos) return bad("no '='");
    const std::string name = line.substr(0, eq);
    const auto value = parse_int(std::string_view(line).substr(eq + 1));
    if (!value) return bad("not a number");
    if (name == "epoch") {
      if (*value < 0) return bad("a negative epoch");
      epoch_ = *value;
      continue;
    }
    const FeatureRange* f = find_feature(name);
    if (!f) return bad("unknown feature " + name);
    if (*value < f->min_version || *value > f->max_version)
      return bad(name + " level " + std::to_string(*value) + " is outside " +
                 std::to_string(f->min_version) + "-" + std::to_string(f->max_version));
    if (auto c = configured_.find(name); c != configured_.end()) {
      if (c->second != *value)
        log_info("feature ", name, " is at level ", c->second, " as the configuration sets (",
                 config_key(name), "), not the stored level ", *value);
      continue;
    }
    if (*value > 0)
      levels_[name] = static_cast<int16_t>(*value);
    else
      levels_.erase(name);
  }
  return true;
}

int16_t Features::level(std::string_view name) const {
  auto it = levels_.find(name);
  return it == levels_.end() ? 0 : it->second;
}

std::optional<Features::Refusal> Features::refusal(const Update& u, int32_t node_id) const {
  const FeatureRange* f = find_feature(u.name);
  const std::string controller = "Local controller " + std::to_string(node_id);
  if (!f) {
    if (u.level == 0) return Refusal{"Feature " + u.name + " not found."};
    return Refusal{controller + " does not support this feature."};
  }
  if (u.level != 0 && (u.level < f->min_version || u.level > f->max_version))
    return Refusal{controller + " only supports versions " + std::to_string(f->min_version) + "-" +
                   std::to_string(f->max_version)};
  const int16_t current = level(u.name);
  if (u.level < current && u.type == UpgradeType::kUpgrade)
    return Refusal{
        "Can't downgrade the version of this feature without setting the upgrade type to either "
        "safe or unsafe downgrade."};
  if (u.level > current && u.type != UpgradeType::kUpgrade)
    return Refusal{"Can't downgrade to a newer version."};
  if (u.name == kMetadataVersion && u.level < current) {
    // Kafka's whole message for it, without the "Invalid update version" part.
    return Refusal{
        "Unsupported metadata.version downgrade from " + std::to_string(current) + " to " +
            std::to_string(u.level) +
            (u.type == UpgradeType::kUnsafeDowngrade
                 ? ". Unsafe metadata downgrade is not supported in this version."
                 : ". Refusing to perform the requested downgrade because it might delete metadata "
                   "information."),
        false};
  }
  return std::nullopt;
}

Features::UpdateResult Features::update(const std::vector<Update>& updates, bool validate_only,
                                        int32_t node_id) {
  for (const auto& u : updates) {
    if (auto why = refusal(u, node_id)) {
      const std::string prefix =
          "The update failed for all features since the following feature had an error: ";
      if (!why->names_update) return {ErrorCode::INVALID_UPDATE_VERSION, prefix + why->reason};
      return {ErrorCode::INVALID_UPDATE_VERSION, prefix + "Invalid update version " +
                                                     std::to_string(u.level) + " for feature " +
                                                     u.name + ". " + why->reason};
    }
  }
  if (validate_only || updates.empty()) return {};
  auto next = levels_;
  for (const auto& u : updates) {
    if (u.level > 0)
      next[u.name] = u.level;
    else
      next.erase(u.name);
  }
  std::string error;
  if (!store(next, epoch_ + 1, &error)) {
    log_error("cannot store the feature levels: ", error);
    return {ErrorCode::KAFKA_STORAGE_ERROR, "The feature levels could not be stored: " + error};
  }
  levels_ = std::move(next);
  ++epoch_;
  for (const auto& u : updates) {
    log_info("feature ", u.name, " is now at level ", u.level);
    for (const auto& l : listeners_) l(u.name, u.level);
  }
  return {};
}

bool Features::store(const std::map<std::string, int16_t, std::less<>>& levels, int64_t epoch,
                     std::string* error) const {
  if (dir_.empty()) return true;
  std::string text = "# Feature levels set with UpdateFeatures (see docs/configuration.md)\n";
  text += "epoch=" + std::to_string(epoch) + "\n";
  for (const auto& f : supported_features()) {
    auto it = levels.find(f.name);
    text += std::string(f.name) + "=" + std::to_string(it == levels.end() ? 0 : it->second) + "\n";
  }
  return storage::io::write_file_atomic(dir_ + "/" + std::string(kFileName), text, error);
}

}  // namespace runnel::server
