// The vectors the Java client writes at test time (test_golden.py runs GoldenVectors and gives
// the directory in RUNNEL_GOLDEN_JAVA_DIR): every line is checked as the vectors of ../shared
// are (protocol/tests/golden_check.h), prefixes of a sample must be rejected, and every version
// of every API Runnel's handlers declare must be among the lines, unless the client no longer
// knows that version (../shared has those).
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "protocol/tests/golden_check.h"
// The definitions of to_json() that golden_check.h uses (protocol_tests has them from
// messages_support_test.cc).
#include "protocol/messages/testing.inc"
#include "server/handler.h"

namespace runnel {
namespace {

using protocol::golden::GoldenLine;

const std::vector<GoldenLine>& vectors() {
  static const std::vector<GoldenLine> lines = [] {
    const char* dir = std::getenv("RUNNEL_GOLDEN_JAVA_DIR");
    return dir ? protocol::golden::load_lines(dir) : std::vector<GoldenLine>{};
  }();
  return lines;
}

// (api key, kind, version) → the variants seen.
using Seen = std::map<std::tuple<int16_t, std::string, int16_t>, std::set<std::string>>;

TEST(GoldenJava, EveryLineDecodesAndReencodesByteForByte) {
  ASSERT_FALSE(vectors().empty())
      << "no vectors in RUNNEL_GOLDEN_JAVA_DIR (test_golden.py sets it)";
  // message → version → lines checked
  std::map<std::string, std::map<int16_t, size_t>> checked;
  for (const auto& g : vectors()) {
    const auto* msg = g.j.get("message");
    const auto* ver = g.j.get("version");
    ASSERT_TRUE(msg && ver && g.j.get("hex") && g.j.get("json")) << g.file << ":" << g.line;
    if (protocol::golden::check_line(g, msg->str, g.j.get("json")))
      ++checked[msg->str][static_cast<int16_t>(ver->num)];
  }
  size_t total = 0;
  for (const auto& [message, versions] : checked) {
    std::cout << message << ":";
    for (const auto& [version, n] : versions) {
      std::cout << " v" << version << "×" << n;
      total += n;
    }
    std::cout << "\n";
  }
  std::cout << total << " lines checked\n";
  EXPECT_EQ(total, vectors().size());
}

TEST(GoldenJava, EveryVersionOfEveryHandlerIsThere) {
  ASSERT_FALSE(vectors().empty())
      << "no vectors in RUNNEL_GOLDEN_JAVA_DIR (test_golden.py sets it)";
  Seen seen;
  std::map<int16_t, std::pair<int16_t, int16_t>> client_range;  // api key → lowest, highest
  for (const auto& g : vectors()) {
    const auto key = static_cast<int16_t>(g.j.get("api_key")->num);
    const auto version = static_cast<int16_t>(g.j.get("version")->num);
    seen[{key, g.j.get("kind")->str, version}].insert(g.j.get("variant")->str);
    auto [it, fresh] = client_range.try_emplace(key, version, version);
    it->second.first = std::min(it->second.first, version);
    it->second.second = std::max(it->second.second, version);
  }
  const std::set<std::string> variants = {"primary", "flipped_nulls", "defaults"};
  const auto handlers = server::HandlerRegistry::with_all_handlers().all();
  EXPECT_GT(handlers.size(), 30u);
  for (const auto& h : handlers) {
    auto range = client_range.find(h.api_key);
    ASSERT_NE(range, client_range.end()) << h.name << ": the client does not know this API";
    EXPECT_LE(h.max_version, range->second.second)
        << h.name << ": a version newer than the client's (v" << range->second.second << ")";
    for (int16_t v = std::max(h.min_version, range->second.first); v <= h.max_version; ++v) {
      for (const char* kind : {"request", "response"}) {
        const auto& got = seen[std::make_tuple(h.api_key, std::string(kind), v)];
        EXPECT_EQ(got, variants) << h.name << " " << kind << " v" << v;
      }
    }
  }
}

TEST(GoldenJava, EveryPrefixOfASampleIsRejected) {
  ASSERT_FALSE(vectors().empty())
      << "no vectors in RUNNEL_GOLDEN_JAVA_DIR (test_golden.py sets it)";
  size_t sampled = 0;
  for (size_t i = 0; i < vectors().size(); i += 7) {
    const auto& g = vectors()[i];
    const auto it = protocol::golden::registry().find(g.j.get("message")->str);
    ASSERT_NE(it, protocol::golden::registry().end()) << g.file << ":" << g.line;
    const auto version = static_cast<int16_t>(g.j.get("version")->num);
    const auto bytes = protocol::golden::from_hex(g.j.get("hex")->str);
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_FALSE(it->second.decode_done(std::span<const uint8_t>(bytes.data(), n), version))
          << g.file << ":" << g.line << " prefix of " << n << " bytes";
    }
    ++sampled;
  }
  EXPECT_GT(sampled, 200u);
}

}  // namespace
}  // namespace runnel
