#include "coordinator/regular_expression.h"

#include <gtest/gtest.h>

#include <string>

namespace runnel::coordinator {
namespace {

bool matches(const std::string& pattern, const std::string& text) {
  auto re = RegularExpression::compile(pattern);
  EXPECT_TRUE(re.has_value()) << pattern;
  return re && re->matches(text);
}

TEST(RegularExpression, MatchesTheWholeText) {
  EXPECT_TRUE(matches("pay.*", "payments"));
  EXPECT_FALSE(matches("pay", "payments"));  // RE2/J's matches(), not find()
  EXPECT_FALSE(matches("ments", "payments"));
  EXPECT_TRUE(matches("a|b", "b"));
  EXPECT_TRUE(matches("", ""));
  EXPECT_FALSE(matches("", "x"));
}

// Java's Pattern.quote() writes \Q...\E, which RE2 reads as literal text.
TEST(RegularExpression, QuotedSectionsAreLiteral) {
  EXPECT_TRUE(matches("\\Qa.b*(c)\\E-.*", "a.b*(c)-1"));
  EXPECT_FALSE(matches("\\Qa.b\\E", "axb"));
  EXPECT_TRUE(matches("x\\Q[y]", "x[y]"));  // no \E: quoted to the end
  EXPECT_TRUE(matches("\\Q\\E", ""));
  EXPECT_TRUE(matches("\\Q\\\\E", "\\"));  // the quoted text is one backslash
  EXPECT_TRUE(matches("\\\\Q", "\\Q"));    // an escaped backslash, then a plain Q
}

TEST(RegularExpression, RefusesWhatDoesNotCompileOrIsTooBig) {
  EXPECT_FALSE(RegularExpression::compile("(unclosed"));
  EXPECT_FALSE(RegularExpression::compile("[a-"));
  EXPECT_FALSE(RegularExpression::compile("*"));
  EXPECT_FALSE(RegularExpression::compile(std::string(RegularExpression::kMaxBytes + 1, 'a')));
  EXPECT_TRUE(RegularExpression::compile(std::string(RegularExpression::kMaxBytes, 'a')));
  const int n = RegularExpression::kMaxNesting;
  EXPECT_FALSE(RegularExpression::compile(std::string(n + 1, '(') + "a" + std::string(n + 1, ')')));
  EXPECT_TRUE(RegularExpression::compile(std::string(n, '(') + "a" + std::string(n, ')')));
  // Parentheses inside a quoted section are text, not groups.
  EXPECT_TRUE(RegularExpression::compile("\\Q" + std::string(100, '(') + "\\E"));
}

}  // namespace
}  // namespace runnel::coordinator
