#include "coordinator/regular_expression.h"

#include <cstring>

namespace runnel::coordinator {

namespace {

// The characters ECMAScript gives a meaning outside a character class.
bool is_special(char c) { return c != '\0' && std::strchr("^$\\.*+?()[]{}|/", c) != nullptr; }

// `pattern` with every \Q...\E section (to the end when \E is missing) written as escaped
// characters; the rest as it is.
std::string unquote(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size());
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '\\' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    if (pattern[i + 1] != 'Q') {
      out += pattern[i];
      out += pattern[++i];
      continue;
    }
    i += 2;
    const size_t end = pattern.find("\\E", i);
    const size_t stop = end == std::string_view::npos ? pattern.size() : end;
    for (; i < stop; ++i) {
      if (is_special(pattern[i])) out += '\\';
      out += pattern[i];
    }
    if (end != std::string_view::npos)
      ++i;  // past the 'E'; the loop steps past the '\'
    else
      --i;
  }
  return out;
}

}  // namespace

std::optional<RegularExpression> RegularExpression::compile(std::string_view pattern) {
  if (pattern.size() > kMaxBytes) return std::nullopt;
  const std::string ecma = unquote(pattern);
  int depth = 0;
  for (size_t i = 0; i < ecma.size(); ++i) {
    if (ecma[i] == '\\') {
      ++i;
    } else if (ecma[i] == '(') {
      if (++depth > kMaxNesting) return std::nullopt;
    } else if (ecma[i] == ')') {
      --depth;
    }
  }
  try {
    return RegularExpression(std::regex(ecma, std::regex::ECMAScript));
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
}

bool RegularExpression::matches(std::string_view text) const {
  return std::regex_match(text.begin(), text.end(), re_);
}

}  // namespace runnel::coordinator
