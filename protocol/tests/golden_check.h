// Checking golden vector lines (the format of ../shared/golden/README.md: one JSON object per
// line with `message`, `version`, `json` and `hex`) against the generated codecs: the bytes
// decode at the line's version, every byte is consumed, the decoded message re-encodes to the
// same bytes and reads as the line's JSON. Used by messages_golden_test.cc (the vectors in
// ../shared) and compat-tests/golden (the vectors the Java client writes at test time).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "protocol/messages/testing.h"
#include "protocol/tests/json_lite.h"

namespace runnel::protocol::golden {

using testing::Json;

struct Decoded {
  bool done = false;
  std::string error;
  Bytes reencoded;
  std::string json;
};

struct MessageOps {
  std::function<Decoded(std::span<const uint8_t>, int16_t)> decode;
  std::function<bool(std::span<const uint8_t>, int16_t)> decode_done;
};

template <class T>
MessageOps ops_for() {
  MessageOps ops;
  ops.decode = [](std::span<const uint8_t> in, int16_t v) {
    Decoded d;
    T m;
    Reader r(in);
    m.decode(r, v);
    d.done = r.done();
    if (!r.ok()) d.error = r.error();
    Writer w;
    m.encode(w, v);
    d.reencoded = w.buf();
    d.json = to_json(m, v);
    return d;
  };
  ops.decode_done = [](std::span<const uint8_t> in, int16_t v) {
    T m;
    Reader r(in);
    m.decode(r, v);
    return r.done();
  };
  return ops;
}

// Every generated message by its schema name ("ProduceRequest").
inline const std::map<std::string, MessageOps>& registry() {
  static const std::map<std::string, MessageOps> m = [] {
    std::map<std::string, MessageOps> out;
#define RUNNEL_ADD(T) out[#T] = ops_for<T>();
    RUNNEL_FOR_EACH_MESSAGE(RUNNEL_ADD)
#undef RUNNEL_ADD
    return out;
  }();
  return m;
}

inline Bytes from_hex(const std::string& hex) {
  Bytes out;
  out.reserve(hex.size() / 2);
  auto nib = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(nib(hex[i]) * 16 + nib(hex[i + 1])));
  return out;
}

struct GoldenLine {
  std::string file;
  size_t line = 0;
  Json j;
};

// Every line of the *.jsonl files in `dir`, files in name order; none when `dir` is missing.
inline std::vector<GoldenLine> load_lines(const std::filesystem::path& dir) {
  std::vector<GoldenLine> out;
  if (!std::filesystem::is_directory(dir)) return out;
  std::vector<std::filesystem::path> files;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (auto& p : files) {
    std::ifstream in(p);
    std::string text;
    size_t n = 0;
    while (std::getline(in, text)) {
      ++n;
      if (text.empty()) continue;
      GoldenLine g;
      g.file = p.filename().string();
      g.line = n;
      EXPECT_TRUE(testing::parse_json(text, g.j)) << g.file << ":" << n;
      out.push_back(std::move(g));
    }
  }
  return out;
}

// Decodes the line's hex with the codec of `message` at the line's version and checks it
// (EXPECT_*): all bytes consumed, re-encoded identically, and, when `want` is given, the decoded
// values equal `want` (the line's JSON, or a renamed copy of it). False when there is no codec.
inline bool check_line(const GoldenLine& g, const std::string& message, const Json* want) {
  auto it = registry().find(message);
  EXPECT_NE(it, registry().end()) << g.file << ":" << g.line << ": no codec for " << message;
  if (it == registry().end()) return false;
  const auto version = static_cast<int16_t>(g.j.get("version")->num);
  const Bytes bytes = from_hex(g.j.get("hex")->str);
  SCOPED_TRACE(g.file + ":" + std::to_string(g.line) + " " + message + " v" +
               std::to_string(version));
  Decoded d = it->second.decode(bytes, version);
  EXPECT_TRUE(d.done) << d.error;
  EXPECT_EQ(d.reencoded, bytes);
  if (want) {
    Json got;
    EXPECT_TRUE(testing::parse_json(d.json, got)) << d.json;
    EXPECT_EQ(testing::json_diff(*want, got), "");
  }
  return true;
}

}  // namespace runnel::protocol::golden
