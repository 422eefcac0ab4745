#include "coordinator/regular_expression.h"

#include <re2/re2.h>

#include <algorithm>
#include <string>
#include <vector>

namespace runnel::coordinator {

namespace {

constexpr size_t npos = std::string_view::npos;

// Reads a pattern as RE2/J does and writes it as this RE2 reads the same thing (see the header);
// only escapes, character classes, \Q...\E, '{' and group openings are looked at, and the rest
// is copied for RE2 to judge. refused_ is set where RE2/J refuses what this RE2 would accept.
class Translator {
 public:
  explicit Translator(std::string_view p) : p_(p) { out_.reserve(p.size() + 8); }

  std::optional<std::string> run() {
    size_t i = 0;
    while (i < p_.size() && !refused_) i = outside_class(i);
    if (refused_) return std::nullopt;
    return std::move(out_);
  }

 private:
  bool at(size_t i, std::string_view s) const {
    return i <= p_.size() && p_.substr(i, s.size()) == s;
  }

  // One element outside a character class, from p_[i]; returns where the next one starts.
  size_t outside_class(size_t i) {
    if (at(i, "\\Q")) {  // literal up to \E, or to the end
      const size_t end = p_.find("\\E", i + 2);
      return copy(i, end == npos ? p_.size() : end + 2);
    }
    if (at(i, "\\C")) {  // one byte: RE2/J has no such thing
      refused_ = true;
      return i;
    }
    if (p_[i] == '\\') return escape(i);
    if (p_[i] == '[') return char_class(i);
    if (p_[i] == '{' && repeat_end(i) == npos) {
      // RE2/J takes a '{' that starts no repetition as text, but then refuses a repetition of
      // it (its parser counts the '{' as a repetition already); RE2 repeats the '{'.
      const size_t next = i + 1;
      if (next < p_.size() &&
          (std::string_view("*+?").find(p_[next]) != npos || repeat_end(next) != npos))
        refused_ = true;
      return copy(i, next);
    }
    if (at(i, "(?P<") || at(i, "(?<")) return named_group(i);
    return copy(i, i + 1);
  }

  // An escape from p_[i] ('\\'): the escaped character, and for \p{...}, \P{...} and \x{...}
  // the braces too, as RE2 reads them. RE2/J takes a backslash before any character outside
  // ASCII as that character, which RE2 refuses: the backslash is left out.
  size_t escape(size_t i) {
    if (i + 1 >= p_.size()) return copy(i, p_.size());
    const char e = p_[i + 1];
    if (static_cast<unsigned char>(e) >= 0x80) return i + 1;
    size_t end = i + 2;
    if ((e == 'p' || e == 'P' || e == 'x') && at(end, "{")) {
      const size_t close = p_.find('}', end);
      end = close == npos ? p_.size() : close + 1;
    }
    return copy(i, end);
  }

  // A character class from p_[i] ('['), as RE2 reads it: a ']' first (after an optional '^')
  // is a member, [:name:] is one member, escapes are read whole, and the class ends at the
  // next ']' (or at the end of the pattern, which RE2 refuses). RE2/J looks for the ":]" that
  // ends a [:name:] from the ':' of "[:", RE2 after it: they differ only on "[:]".
  size_t char_class(size_t i) {
    size_t j = copy(i, i + 1);
    if (at(j, "^")) j = copy(j, j + 1);
    for (bool first = true; j < p_.size() && (p_[j] != ']' || first); first = false) {
      if (at(j, "[:]")) {  // RE2/J reads a class named "[:]" here (and refuses it), RE2 text
        refused_ = true;
        return j;
      }
      if (const size_t close = at(j, "[:") ? p_.find(":]", j + 2) : npos; close != npos) {
        j = copy(j, close + 2);
        continue;
      }
      j = member(j);
      if (j + 1 < p_.size() && p_[j] == '-' && p_[j + 1] != ']') j = member(copy(j, j + 1));
    }
    return j < p_.size() ? copy(j, j + 1) : j;
  }
  size_t member(size_t j) { return p_[j] == '\\' ? escape(j) : copy(j, j + 1); }

  // Where the counted repetition {n}, {n,} or {n,m} that starts at p_[i] ends; npos when none
  // starts there (RE2 and RE2/J then read the '{' as text). Numbers have no leading zero.
  size_t repeat_end(size_t i) const {
    auto number = [&](size_t j) {
      size_t k = j;
      while (k < p_.size() && p_[k] >= '0' && p_[k] <= '9') ++k;
      return k == j || (k - j > 1 && p_[j] == '0') ? npos : k;
    };
    if (!at(i, "{")) return npos;
    size_t j = number(i + 1);
    if (j != npos && at(j, ",")) j = at(j + 1, "}") ? j + 1 : number(j + 1);
    return j != npos && at(j, "}") ? j + 1 : npos;
  }

  // (?P<name> or (?<name>, from p_[i]: RE2/J takes both, with a name of [A-Za-z0-9_]+ used
  // once; this RE2 takes only the first form (and other names), so it is given the first.
  size_t named_group(size_t i) {
    const size_t begin = i + (p_[i + 2] == 'P' ? 4 : 3);
    const size_t close = p_.find('>', begin);
    const std::string_view name =
        close == npos ? std::string_view() : p_.substr(begin, close - begin);
    const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return c == '_' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    });
    if (!valid || std::find(names_.begin(), names_.end(), name) != names_.end()) {
      refused_ = true;
      return i;
    }
    names_.push_back(name);
    out_.append("(?P<").append(name).append(">");
    return close + 1;
  }

  size_t copy(size_t from, size_t to) {
    out_.append(p_.substr(from, to - from));
    return to;
  }

  std::string_view p_;
  std::string out_;
  std::vector<std::string_view> names_;
  bool refused_ = false;
};

}  // namespace

std::optional<RegularExpression> RegularExpression::compile(std::string_view pattern) {
  const auto translated = Translator(pattern).run();
  if (!translated) return std::nullopt;
  RE2::Options options;  // UTF-8, max_mem 8 MiB
  options.set_longest_match(false);
  options.set_log_errors(false);
  auto re = std::make_unique<const RE2>(*translated, options);
  if (!re->ok()) return std::nullopt;
  return RegularExpression(std::move(re));
}

bool RegularExpression::matches(std::string_view text) const {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

RegularExpression::RegularExpression(std::unique_ptr<const RE2> re) : re_(std::move(re)) {}
RegularExpression::RegularExpression(RegularExpression&&) noexcept = default;
RegularExpression& RegularExpression::operator=(RegularExpression&&) noexcept = default;
RegularExpression::~RegularExpression() = default;

}  // namespace runnel::coordinator
