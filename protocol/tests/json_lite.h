// A small JSON reader for tests: enough for the golden vector files.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::protocol::testing {

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> items;
  std::map<std::string, Json> fields;

  const Json* get(const std::string& key) const {
    auto it = fields.find(key);
    return it == fields.end() ? nullptr : &it->second;
  }
  bool operator==(const Json&) const = default;
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : s_(text) {}

  // False on malformed input.
  bool parse(Json& out) {
    if (!value(out, 0)) return false;
    ws();
    return pos_ == s_.size();
  }

 private:
  void ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
      ++pos_;
  }
  bool lit(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  static void utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  bool hex4(uint32_t& v) {
    if (s_.size() - pos_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    return true;
  }
  bool string(std::string& out) {
    if (!lit("\"")) return false;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00 && lit("\\u")) {
            uint32_t lo;
            if (!hex4(lo)) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          utf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }
  bool value(Json& out, int depth) {
    if (depth > 64) return false;
    ws();
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (c == '{') {
      ++pos_;
      out.kind = Json::Object;
      ws();
      if (lit("}")) return true;
      for (;;) {
        ws();
        std::string key;
        if (!string(key)) return false;
        ws();
        if (!lit(":")) return false;
        if (!value(out.fields[key], depth + 1)) return false;
        ws();
        if (lit("}")) return true;
        if (!lit(",")) return false;
      }
    }
    if (c == '[') {
      ++pos_;
      out.kind = Json::Array;
      ws();
      if (lit("]")) return true;
      for (;;) {
        if (!value(out.items.emplace_back(), depth + 1)) return false;
        ws();
        if (lit("]")) return true;
        if (!lit(",")) return false;
      }
    }
    if (c == '"') {
      out.kind = Json::String;
      return string(out.str);
    }
    if (lit("null")) return true;
    if (lit("true")) {
      out.kind = Json::Bool;
      out.b = true;
      return true;
    }
    if (lit("false")) {
      out.kind = Json::Bool;
      return true;
    }
    std::string num;
    while (pos_ < s_.size() &&
           std::string_view("+-0123456789.eE").find(s_[pos_]) != std::string_view::npos)
      num += s_[pos_++];
    if (num.empty()) return false;
    char* end = nullptr;
    out.kind = Json::Number;
    out.num = std::strtod(num.c_str(), &end);
    return end == num.c_str() + num.size();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

inline bool parse_json(std::string_view text, Json& out) { return JsonParser(text).parse(out); }

// A readable path to the first difference, or "" when equal.
inline std::string json_diff(const Json& a, const Json& b, const std::string& path = "$") {
  if (a.kind != b.kind) return path + ": kinds differ";
  switch (a.kind) {
    case Json::Null:
      return "";
    case Json::Bool:
      return a.b == b.b ? "" : path + ": bool differs";
    case Json::Number:
      return a.num == b.num ? ""
                            : path + ": " + std::to_string(a.num) + " vs " + std::to_string(b.num);
    case Json::String:
      return a.str == b.str ? "" : path + ": \"" + a.str + "\" vs \"" + b.str + "\"";
    case Json::Array:
      if (a.items.size() != b.items.size()) return path + ": array sizes differ";
      for (size_t i = 0; i < a.items.size(); ++i) {
        auto d = json_diff(a.items[i], b.items[i], path + "[" + std::to_string(i) + "]");
        if (!d.empty()) return d;
      }
      return "";
    case Json::Object:
      for (const auto& [k, v] : a.fields) {
        auto* o = b.get(k);
        if (!o) return path + "." + k + ": missing on the right";
        auto d = json_diff(v, *o, path + "." + k);
        if (!d.empty()) return d;
      }
      for (const auto& [k, v] : b.fields)
        if (!a.get(k)) return path + "." + k + ": missing on the left";
      return "";
  }
  return "";
}

}  // namespace runnel::protocol::testing
