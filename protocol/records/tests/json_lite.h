// A minimal JSON reader for test vectors (objects, arrays, strings with
// \uXXXX escapes, numbers as int64/double, true/false/null).
#pragma once

#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::testing {

struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool b = false;
  int64_t i = 0;
  std::string s;
  std::vector<Json> arr;
  std::map<std::string, Json> obj;

  bool is_null() const { return kind == kNull; }
  const Json& operator[](const std::string& k) const {
    static const Json null;
    auto it = obj.find(k);
    return it == obj.end() ? null : it->second;
  }
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view t) : t_(t) {}
  bool parse(Json& out) {
    bool ok = value(out);
    ws();
    return ok && p_ == t_.size();
  }

 private:
  void ws() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\n' || t_[p_] == '\r' || t_[p_] == '\t'))
      ++p_;
  }
  bool lit(std::string_view w) {
    if (t_.substr(p_, w.size()) != w) return false;
    p_ += w.size();
    return true;
  }
  static void utf8(std::string& s, uint32_t c) {
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else if (c < 0x800) {
      s += static_cast<char>(0xC0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      s += static_cast<char>(0xE0 | (c >> 12));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (c >> 18));
      s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  bool hex4(uint32_t& c) {
    if (p_ + 4 > t_.size()) return false;
    c = static_cast<uint32_t>(std::stoul(std::string(t_.substr(p_, 4)), nullptr, 16));
    p_ += 4;
    return true;
  }
  bool str(std::string& s) {
    if (p_ >= t_.size() || t_[p_] != '"') return false;
    ++p_;
    while (p_ < t_.size() && t_[p_] != '"') {
      char c = t_[p_++];
      if (c != '\\') {
        s += c;
        continue;
      }
      if (p_ >= t_.size()) return false;
      char e = t_[p_++];
      switch (e) {
        case 'n':
          s += '\n';
          break;
        case 't':
          s += '\t';
          break;
        case 'r':
          s += '\r';
          break;
        case 'b':
          s += '\b';
          break;
        case 'f':
          s += '\f';
          break;
        case 'u': {
          uint32_t c1;
          if (!hex4(c1)) return false;
          if (c1 >= 0xD800 && c1 < 0xDC00 && lit("\\u")) {
            uint32_t c2;
            if (!hex4(c2)) return false;
            c1 = 0x10000 + ((c1 - 0xD800) << 10) + (c2 - 0xDC00);
          }
          utf8(s, c1);
          break;
        }
        default:
          s += e;
      }
    }
    if (p_ >= t_.size()) return false;
    ++p_;
    return true;
  }
  bool value(Json& v) {
    ws();
    if (p_ >= t_.size()) return false;
    char c = t_[p_];
    if (c == '{') {
      v.kind = Json::kObject;
      ++p_;
      ws();
      if (lit("}")) return true;
      while (true) {
        ws();
        std::string k;
        if (!str(k)) return false;
        ws();
        if (!lit(":")) return false;
        if (!value(v.obj[k])) return false;
        ws();
        if (lit("}")) return true;
        if (!lit(",")) return false;
      }
    }
    if (c == '[') {
      v.kind = Json::kArray;
      ++p_;
      ws();
      if (lit("]")) return true;
      while (true) {
        v.arr.emplace_back();
        if (!value(v.arr.back())) return false;
        ws();
        if (lit("]")) return true;
        if (!lit(",")) return false;
      }
    }
    if (c == '"') {
      v.kind = Json::kString;
      return str(v.s);
    }
    if (lit("true")) {
      v.kind = Json::kBool;
      v.b = true;
      return true;
    }
    if (lit("false")) {
      v.kind = Json::kBool;
      return true;
    }
    if (lit("null")) return true;
    size_t start = p_;
    while (p_ < t_.size() && (std::isdigit(static_cast<unsigned char>(t_[p_])) || t_[p_] == '-' ||
                              t_[p_] == '+' || t_[p_] == '.' || t_[p_] == 'e' || t_[p_] == 'E'))
      ++p_;
    if (start == p_) return false;
    v.kind = Json::kNumber;
    v.i = std::stoll(std::string(t_.substr(start, p_ - start)));
    return true;
  }

  std::string_view t_;
  size_t p_ = 0;
};

}  // namespace runnel::testing
