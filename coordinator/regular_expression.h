// The regular expressions clients send Kafka: a consumer group's SubscribedTopicRegex (KIP-848)
// and ListTransactions' TransactionalIdPattern (KIP-1152). Kafka compiles them with RE2/J and
// matches a whole name (Matcher.matches()); Runnel compiles them with std::regex (ECMAScript)
// and matches a whole name too.
//
// Where the dialects differ: RE2's \Q...\E quoting is rewritten into escaped characters (it is
// what Java's Pattern.quote() writes, so clients send it); RE2's inline flags ((?i)) and named
// groups ((?P<n>...)) do not compile here, and ECMAScript's lookaheads and backreferences,
// which RE2 refuses, are accepted. std::regex compiles and matches by recursion, so a pattern
// over 1024 bytes or nested deeper than 32 groups is refused rather than risking the stack
// (RE2 has neither limit; no real pattern comes near them). A refused pattern is answered
// INVALID_REGULAR_EXPRESSION, as Kafka answers one RE2/J refuses.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>

namespace runnel::coordinator {

class RegularExpression {
 public:
  static constexpr size_t kMaxBytes = 1024;
  static constexpr int kMaxNesting = 32;

  // std::nullopt when the pattern does not compile or is over the limits above.
  static std::optional<RegularExpression> compile(std::string_view pattern);

  // True when the whole of `text` matches.
  bool matches(std::string_view text) const;

 private:
  explicit RegularExpression(std::regex re) : re_(std::move(re)) {}
  std::regex re_;
};

}  // namespace runnel::coordinator
