// Golden vectors made by the Java client (../shared/golden/): every line is
// decoded at its version, must consume all bytes, must re-encode to the same
// bytes, and its decoded values must match the line's JSON. Prefixes of a
// sample of lines must be rejected cleanly.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "protocol/tests/golden_check.h"

namespace runnel::protocol {
namespace {

namespace fs = std::filesystem;
using golden::GoldenLine;
using golden::registry;
using testing::Json;

// Kafka 4.x renamed these after the vectors were made (they carry the 4.0.0-SNAPSHOT names):
// the same bytes, decoded by the codec of the current name, with the JSON keys renamed.
const std::map<std::string, std::string> kRenamedMessages = {
    {"ListClientMetricsResourcesRequest", "ListConfigResourcesRequest"},
    {"ListClientMetricsResourcesResponse", "ListConfigResourcesResponse"},
};
const std::map<std::string, std::map<std::string, std::string>> kRenamedKeys = {
    {"ListConfigResourcesResponse",
     {{"clientMetricsResources", "configResources"}, {"name", "resourceName"}}},
    {"TxnOffsetCommitRequest", {{"generationId", "generationIdOrMemberEpoch"}}},
    {"VoteRequest",
     {{"candidateEpoch", "replicaEpoch"},
      {"candidateId", "replicaId"},
      {"candidateDirectoryId", "replicaDirectoryId"}}},
};

// Versions the vectors have as unstable that Kafka shipped later with another layout (4.4's
// ReadShareGroupStateSummaryResponse v0 has a leader epoch per partition). Runnel speaks the
// shipped layout, so these lines are not checked.
const std::set<std::pair<std::string, int16_t>> kRedefinedUnstable = {
    {"ReadShareGroupStateSummaryResponse", 0},
};

bool redefined_since(const Json& line) {
  const auto* unstable = line.get("unstable");
  return unstable && unstable->b &&
         kRedefinedUnstable.count(
             {line.get("message")->str, static_cast<int16_t>(line.get("version")->num)}) > 0;
}

std::string current_name(const std::string& message) {
  auto it = kRenamedMessages.find(message);
  return it == kRenamedMessages.end() ? message : it->second;
}

Json with_current_keys(const Json& j, const std::map<std::string, std::string>& renames) {
  Json out = j;
  out.items.clear();
  for (const auto& item : j.items) out.items.push_back(with_current_keys(item, renames));
  out.fields.clear();
  for (const auto& [key, value] : j.fields) {
    auto it = renames.find(key);
    out.fields[it == renames.end() ? key : it->second] = with_current_keys(value, renames);
  }
  return out;
}

std::vector<GoldenLine> load_golden() {
  std::vector<GoldenLine> out;
  fs::path root = fs::path(RUNNEL_SHARED_DIR) / "golden";
  for (const char* sub : {"messages", "headers"}) {
    auto lines = golden::load_lines(root / sub);
    out.insert(out.end(), std::make_move_iterator(lines.begin()),
               std::make_move_iterator(lines.end()));
  }
  return out;
}

const std::vector<GoldenLine>& golden() {
  static const std::vector<GoldenLine> lines = load_golden();
  return lines;
}

TEST(Golden, EveryLineDecodesAndReencodesByteForByte) {
  if (golden().empty()) GTEST_FAIL() << "no golden vectors under " << RUNNEL_SHARED_DIR;
  size_t checked = 0, values_checked = 0, redefined = 0;
  for (const auto& g : golden()) {
    const auto* msg = g.j.get("message");
    const auto* ver = g.j.get("version");
    const auto* hex = g.j.get("hex");
    ASSERT_TRUE(msg && ver && hex) << g.file << ":" << g.line;
    if (redefined_since(g.j)) {
      ++redefined;
      continue;
    }
    const std::string name = current_name(msg->str);
    const auto* want = g.j.get("json");
    auto renames = kRenamedKeys.find(name);
    Json renamed;
    if (want && renames != kRenamedKeys.end()) {
      renamed = with_current_keys(*want, renames->second);
      want = &renamed;
    }
    ASSERT_TRUE(golden::check_line(g, name, want));
    ++checked;
    if (want) ++values_checked;
  }
  EXPECT_EQ(redefined, 3u);  // the three variants of one version
  EXPECT_GE(checked + redefined, 1977u);
  EXPECT_EQ(values_checked, checked);
}

TEST(Golden, EveryPrefixOfASampleIsRejected) {
  if (golden().empty()) GTEST_FAIL() << "no golden vectors under " << RUNNEL_SHARED_DIR;
  size_t sampled = 0;
  for (size_t i = 0; i < golden().size(); i += 7) {
    const auto& g = golden()[i];
    if (redefined_since(g.j)) continue;
    const auto& ops = registry().at(current_name(g.j.get("message")->str));
    const auto version = static_cast<int16_t>(g.j.get("version")->num);
    const Bytes bytes = golden::from_hex(g.j.get("hex")->str);
    for (size_t n = 0; n < bytes.size(); ++n) {
      std::span<const uint8_t> prefix(bytes.data(), n);
      EXPECT_FALSE(ops.decode_done(prefix, version))
          << g.file << ":" << g.line << " prefix of " << n << " bytes";
    }
    ++sampled;
  }
  EXPECT_GT(sampled, 200u);
}

}  // namespace
}  // namespace runnel::protocol
