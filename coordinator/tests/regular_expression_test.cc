#include "coordinator/regular_expression.h"

#include <gtest/gtest.h>

#include <string>

namespace runnel::coordinator {
namespace {

// Every expectation here is what RE2/J 1.8 (Kafka's) answers for the same pattern and text.

bool matches(const std::string& pattern, const std::string& text) {
  auto re = RegularExpression::compile(pattern);
  EXPECT_TRUE(re.has_value()) << pattern;
  return re && re->matches(text);
}

bool refused(const std::string& pattern) { return !RegularExpression::compile(pattern); }

TEST(RegularExpression, MatchesTheWholeText) {
  EXPECT_TRUE(matches("pay.*", "payments"));
  EXPECT_FALSE(matches("pay", "payments"));  // RE2/J's matches(), not find()
  EXPECT_FALSE(matches("ments", "payments"));
  EXPECT_FALSE(matches("foo", "foobar"));
  EXPECT_TRUE(matches("a|b", "b"));
  EXPECT_TRUE(matches("", ""));
  EXPECT_FALSE(matches("", "x"));
  EXPECT_TRUE(matches(".*", "anything at all"));
  EXPECT_TRUE(matches(".*", ""));
}

TEST(RegularExpression, DotMatchesNewlineOnlyWithS) {
  EXPECT_FALSE(matches(".*", "a\nb"));
  EXPECT_FALSE(matches("a.b", "a\nb"));
  EXPECT_TRUE(matches("(?s).*", "a\nb"));
  EXPECT_TRUE(matches("(?s:a.b)", "a\nb"));
  EXPECT_TRUE(matches("[^x]", "\n"));  // a negated class does match \n
}

// Java's Pattern.quote() writes \Q...\E, which RE2 reads as literal text.
TEST(RegularExpression, QuotedSectionsAreLiteral) {
  EXPECT_TRUE(matches("\\Qa.b*(c)\\E-.*", "a.b*(c)-1"));
  EXPECT_FALSE(matches("\\Qa.b\\E", "axb"));
  EXPECT_TRUE(matches("x\\Q[y]", "x[y]"));  // no \E: quoted to the end
  EXPECT_TRUE(matches("\\Q\\E", ""));
  EXPECT_TRUE(matches("\\Q\\\\E", "\\"));              // the quoted text is one backslash
  EXPECT_TRUE(matches("\\\\Q", "\\Q"));                // an escaped backslash, then a plain Q
  EXPECT_TRUE(matches("\\Q(?<n>\\C\\E", "(?<n>\\C"));  // no group, no \C: text
  EXPECT_TRUE(RegularExpression::compile("\\Q" + std::string(100, '(') + "\\E"));
}

TEST(RegularExpression, InlineFlags) {
  EXPECT_TRUE(matches("(?i)abc", "ABC"));
  EXPECT_TRUE(matches("(?i:a)b", "Ab"));
  EXPECT_FALSE(matches("(?i:a)b", "AB"));  // the flag ends with its group
  EXPECT_FALSE(matches("(?i)(?-i)a", "A"));
  EXPECT_TRUE(matches("(?i-s)a.", "Ab"));
  EXPECT_TRUE(matches("(?i)σ", "Σ"));  // Unicode case folding
  EXPECT_TRUE(matches("(?m)^a$", "a"));
  EXPECT_TRUE(matches("(?U)(a+)(a*)", "aaa"));
  EXPECT_TRUE(matches("(?)", ""));
  EXPECT_TRUE(refused("(?-)a"));
  EXPECT_TRUE(refused("(?i-)a"));
  EXPECT_TRUE(refused("(?x)a"));  // not a flag RE2 has
}

TEST(RegularExpression, NamedGroups) {
  EXPECT_TRUE(matches("(?P<n>x.*)", "xyz"));
  EXPECT_TRUE(matches("(?<n>x)", "x"));  // RE2/J since 1.8, RE2 since 2023
  EXPECT_TRUE(matches("(?<first>a)-(?P<second_2>b)", "a-b"));
  EXPECT_TRUE(matches("[(?<n>)]+", "(?<n>)"));  // inside a class: characters
  EXPECT_TRUE(matches("\\(?<n>", "(<n>"));      // an escaped paren: no group
  EXPECT_TRUE(refused("(?<n>x"));
  EXPECT_TRUE(refused("(?<n"));
  EXPECT_TRUE(refused("(?<>x)"));
  EXPECT_TRUE(refused("(?P<é>x)"));  // names are [A-Za-z0-9_]+
  EXPECT_TRUE(refused("(?<a-b>x)"));
  EXPECT_TRUE(refused("(?P<n>a)(?<n>b)"));  // one name, one group
  EXPECT_TRUE(refused("(?P=n)"));
  EXPECT_TRUE(refused("(?'n'x)"));
}

TEST(RegularExpression, RefusesWhatRe2DoesNotHave) {
  EXPECT_TRUE(refused("(?=a)a"));   // lookahead
  EXPECT_TRUE(refused("(?!a)b"));   // negative lookahead
  EXPECT_TRUE(refused("(?<=a)b"));  // lookbehind
  EXPECT_TRUE(refused("(?<!a)b"));  // negative lookbehind
  EXPECT_TRUE(refused("(a)\\1"));   // backreference
  EXPECT_TRUE(refused("(?<n>a)\\k<n>"));
  EXPECT_TRUE(refused("(?>a)"));  // atomic group
  EXPECT_TRUE(refused("a++"));    // possessive
  EXPECT_TRUE(refused("a**"));
  EXPECT_TRUE(refused("(?#comment)a"));
  EXPECT_TRUE(refused("\\C"));  // one byte: RE2 has it, RE2/J does not
  EXPECT_TRUE(refused("[\\C]"));
  EXPECT_TRUE(refused("\\Z"));
  EXPECT_TRUE(refused("\\G"));
  EXPECT_TRUE(refused("\\cA"));
  EXPECT_TRUE(refused("\\8"));
}

TEST(RegularExpression, RefusesWhatDoesNotCompile) {
  EXPECT_TRUE(refused("["));
  EXPECT_TRUE(refused("[a-"));
  EXPECT_TRUE(refused("(unclosed"));
  EXPECT_TRUE(refused("a)"));
  EXPECT_TRUE(refused("*"));
  EXPECT_TRUE(refused("a\\"));
  EXPECT_TRUE(refused("a{2,1}"));
  EXPECT_TRUE(refused("a{1001}"));
  EXPECT_TRUE(refused("[[:foo:]]"));
  EXPECT_TRUE(refused("\\p{Foo}"));
  EXPECT_TRUE(refused("\\E"));
  EXPECT_TRUE(matches("a{1000}", std::string(1000, 'a')));
  EXPECT_TRUE(matches("x{,3}", "x{,3}"));  // not a repetition: text
}

// Where this RE2 and RE2/J 1.8 read a pattern differently, RE2/J's reading wins.
TEST(RegularExpression, ReadsAsRe2jWhereRe2Differs) {
  EXPECT_TRUE(matches("\\é+", "éé"));  // an escaped character outside ASCII is itself
  EXPECT_TRUE(matches("[\\中a]+", "a中"));
  EXPECT_TRUE(matches("x{", "x{"));  // a '{' that starts no repetition is text
  EXPECT_TRUE(matches("{,2}", "{,2}"));
  EXPECT_TRUE(matches("{x}+", "{x}}"));
  EXPECT_TRUE(refused("{*"));  // ... but RE2/J refuses to repeat it
  EXPECT_TRUE(refused("x{?"));
  EXPECT_TRUE(refused("x{{2}"));
  EXPECT_TRUE(matches("[[:alpha:]:]+", "a:"));
  EXPECT_TRUE(refused("[:[:]"));  // "[:]" in a class: a class name to RE2/J
}

TEST(RegularExpression, Classes) {
  EXPECT_TRUE(matches("\\pL+", "abcé"));
  EXPECT_FALSE(matches("\\pL", "1"));
  EXPECT_TRUE(matches("\\PL", "1"));
  EXPECT_TRUE(matches("\\p{Greek}+", "αβγ"));
  EXPECT_FALSE(matches("\\p{Greek}+", "abc"));
  EXPECT_TRUE(matches("\\p{^Greek}", "a"));
  EXPECT_TRUE(matches("[\\p{Greek}a]+", "aα"));
  EXPECT_TRUE(matches("\\p{Lu}\\pN", "A1"));
  EXPECT_TRUE(matches("[[:alpha:]]+", "abc"));
  EXPECT_FALSE(matches("[[:alpha:]]", "1"));
  EXPECT_TRUE(matches("[[:^alpha:]]", "1"));
  EXPECT_TRUE(matches("[[:word:]]+", "a_1"));
  EXPECT_TRUE(matches("[]a]+", "]a"));  // ']' first is a member
  EXPECT_TRUE(matches("[^]a]", "b"));
  EXPECT_FALSE(matches("\\d", "٣"));  // \d, \w and \s are ASCII
  EXPECT_TRUE(matches("\\x{41}\\101", "AA"));
}

TEST(RegularExpression, Anchors) {
  EXPECT_TRUE(matches("\\Aabc\\z", "abc"));
  EXPECT_TRUE(matches("^abc$", "abc"));
  EXPECT_FALSE(matches("a$", "a\n"));  // $ is \z without (?m)
  EXPECT_TRUE(matches("a\\b-\\bb", "a-b"));
}

TEST(RegularExpression, NonGreedy) {
  EXPECT_TRUE(matches("a*?b", "aab"));
  EXPECT_TRUE(matches("(a+?)(a*)", "aaa"));
  EXPECT_TRUE(matches("x.{2,}?y", "x12y"));
}

TEST(RegularExpression, BigPatterns) {
  // Nesting needs no stack: far deeper than any real pattern.
  const int n = 10000;
  EXPECT_TRUE(matches(std::string(n, '(') + "a" + std::string(n, ')'), "a"));
  EXPECT_TRUE(matches(std::string(4096, 'a'), std::string(4096, 'a')));
  // A program above RE2's memory budget is refused rather than built.
  EXPECT_TRUE(refused(std::string(1 << 20, 'a')));
  EXPECT_TRUE(refused("\\pL{1000}"));
}

TEST(RegularExpression, MovesAndMatchesAfter) {
  auto re = RegularExpression::compile("t-.*");
  ASSERT_TRUE(re);
  RegularExpression moved = std::move(*re);
  EXPECT_TRUE(moved.matches("t-1"));
  EXPECT_FALSE(moved.matches("u-1"));
}

}  // namespace
}  // namespace runnel::coordinator
