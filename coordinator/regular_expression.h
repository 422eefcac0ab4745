// The regular expressions clients send Kafka: a consumer group's SubscribedTopicRegex (KIP-848)
// and ListTransactions' TransactionalIdPattern (KIP-1152). Kafka compiles them with RE2/J 1.8 and
// matches a whole name (Matcher.matches()); Runnel compiles them with RE2, the C++ library whose
// syntax RE2/J implements (Debian's libre2-dev), and matches a whole name with RE2::FullMatch.
//
// Why the library: RE2/J's dialect is RE2's own, so the syntax (inline flags (?i) (?s) (?m)
// (?U) and (?flags:...), named groups, \pL and \p{Greek}, [[:alpha:]], \A and \z, \Q...\E,
// counted repetition up to 1000) and the refusals (lookarounds, backreferences, possessive
// and atomic forms) come with it, matching is linear in the text, and the parser needs no stack
// for nesting. Translating RE2 into std::regex by hand would have to rebuild Unicode classes
// and case folding and keep std::regex's recursion off the stack; it would only approximate.
//
// The options are RE2/J's defaults: UTF-8, leftmost-first (not longest) matching, `.` not
// matching \n unless (?s); errors are not logged. RE2's max_mem (8 MiB) bounds what one pattern
// may take to compile, so a huge pattern is refused instead of taking the broker's memory.
//
// Debian 12's RE2 (2022-06) and RE2/J 1.8 read a few patterns differently; compile() evens
// that out in one pass over the pattern before RE2 sees it (escapes, classes and \Q...\E are
// skipped as RE2 reads them, so only real syntax is touched):
// - (?<name>...) is written (?P<name>...): RE2/J takes both, this RE2 only the second. A name
//   must be [A-Za-z0-9_]+ and used once, as RE2/J requires (this RE2 takes Unicode names and
//   repeated names).
// - A backslash before a character outside ASCII is left out: RE2/J reads \é as é, RE2 refuses.
// - Refused, as RE2/J refuses them where RE2 does not: \C (one byte); a '{' that starts no
//   {n,m} followed by a repetition ({*, x{?, {{2}: RE2/J counts the '{' as a repetition
//   already); "[:]" inside a class (RE2/J reads it as a class name).
// Some 300,000 random patterns built from RE2's syntax were compiled and matched by both
// compile() and RE2/J 1.8; they differed only as the first point below says.
//
// Where Runnel still differs from RE2/J:
// - Nested counted repetitions whose counts multiply past 1000 ((a{100}){100}) are refused by
//   RE2 and accepted by RE2/J; so are patterns whose program is above max_mem (\pL{1000}, or
//   a literal of about a megabyte). No real topic or transactional-id pattern comes near.
// - Text is matched as UTF-8 bytes: a name that is not valid UTF-8 is not matched by `.` where
//   Kafka, which decodes it to U+FFFD first, would match; a pattern that is not valid UTF-8 is
//   refused where Kafka would read U+FFFD. Topic names are ASCII, so only transactional ids
//   sent by a client that writes invalid UTF-8 can tell.
// - The Unicode tables behind \p{...} and (?i) are those of each library's release.
// A refused pattern is answered INVALID_REGULAR_EXPRESSION, as Kafka answers one RE2/J refuses.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

namespace re2 {
class RE2;
}

namespace runnel::coordinator {

class RegularExpression {
 public:
  // std::nullopt when RE2/J would refuse the pattern or it is too big to compile (see above).
  static std::optional<RegularExpression> compile(std::string_view pattern);

  // True when the whole of `text` matches.
  bool matches(std::string_view text) const;

  RegularExpression(RegularExpression&&) noexcept;
  RegularExpression& operator=(RegularExpression&&) noexcept;
  ~RegularExpression();

 private:
  explicit RegularExpression(std::unique_ptr<const re2::RE2> re);
  std::unique_ptr<const re2::RE2> re_;
};

}  // namespace runnel::coordinator
