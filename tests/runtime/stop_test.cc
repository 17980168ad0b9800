// Stop strings: matches across token boundaries, hold-back of possible prefixes, nothing of a match emitted.
#include "runtime/stop.h"

#include <gtest/gtest.h>

#include "core/rng.h"

namespace slm::runtime {
namespace {

// Pushes the pieces and returns everything emitted (plus the final flush when no stop matched).
std::string feed(StopMatcher& m, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += m.push(p);
  out += m.flush();
  return out;
}

TEST(StopMatcher, MatchSplitAcrossThreeTokens) {
  StopMatcher m({"END", "\n\n"});
  EXPECT_EQ(m.push("Hello"), "Hello");
  EXPECT_EQ(m.push(" E"), " ");  // "E" might start "END"
  EXPECT_EQ(m.push("N"), "");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.push("D and more"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), "END");
  EXPECT_EQ(m.push("later"), "");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, TextBeforeTheMatchInTheSamePieceIsEmitted) {
  StopMatcher m({"\n\n"});
  EXPECT_EQ(feed(m, {"a\n", "\nb"}), "a");
  EXPECT_EQ(m.matched(), "\n\n");
}

TEST(StopMatcher, FalseAlarmReleasesTheHeldText) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.push("E"), "");
  EXPECT_EQ(m.push("N"), "");
  EXPECT_EQ(m.push("x"), "ENx");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, FlushReturnsAPartialPrefixAtTheEnd) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.push("abc E"), "abc ");
  EXPECT_EQ(m.flush(), "E");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, OverlappingPrefixIsHeldCorrectly) {
  StopMatcher m({"abcd"});
  EXPECT_EQ(m.push("ababc"), "ab");  // "abc" may still become "abcd"
  EXPECT_EQ(m.push("d"), "");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, EarliestMatchWins) {
  StopMatcher m({"cd", "bcde"});
  EXPECT_EQ(m.push("abcdef"), "a");
  EXPECT_EQ(m.matched(), "bcde");
  StopMatcher n({"de", "bc"});
  EXPECT_EQ(n.push("abcdef"), "a");
  EXPECT_EQ(n.matched(), "bc");
}

TEST(StopMatcher, EveryTokenSplitOfTheSameTextGivesTheSameOutput) {
  const std::string text = "one <|end|> two";
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); ++b) {
      StopMatcher m({"<|end|>"});
      EXPECT_EQ(feed(m, {text.substr(0, a), text.substr(a, b - a), text.substr(b)}), "one ") << a << "," << b;
      EXPECT_TRUE(m.stopped());
    }
  }
}

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
  StopMatcher m({"", ""});
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.push("abc"), "abc");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, MultibyteStopString) {
  StopMatcher m({"\xE2\x80\xA6"});  // "…"
  EXPECT_EQ(feed(m, {"wait\xE2\x80", "\xA6 more"}), "wait");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, RandomPiecesAgreeWithSearchingTheTextSoFar) {
  // The rule: after each piece, if the text so far holds a stop string, the output is the text before the
  // earliest one (a longer stop string that started earlier but is not complete yet does not count).
  // Over a 3-letter alphabet stop strings occur often and overlap in every way.
  Rng rng(17);
  auto word = [&](size_t max) {
    std::string w;
    const size_t n = 1 + rng.below(max);
    for (size_t i = 0; i < n; ++i) w += char('a' + rng.below(3));
    return w;
  };
  for (int trial = 0; trial < 3000; ++trial) {
    const std::vector<std::string> stops = {word(4), word(4)};
    std::vector<std::string> pieces;
    for (size_t i = 0, n = rng.below(8); i < n; ++i) pieces.push_back(rng.below(4) == 0 ? std::string() : word(3));
    std::string all, want;
    bool stopped = false;
    for (const std::string& p : pieces) {
      all += p;
      size_t cut = std::string::npos;
      for (const std::string& st : stops) cut = std::min(cut, all.find(st));
      if (cut != std::string::npos) {
        want = all.substr(0, cut);
        stopped = true;
        break;
      }
    }
    if (!stopped) want = all;
    StopMatcher m(stops);
    EXPECT_EQ(feed(m, pieces), want) << "trial " << trial << " stops " << stops[0] << "|" << stops[1]
                                     << " pieces " << ::testing::PrintToString(pieces);
    EXPECT_EQ(m.stopped(), stopped) << "trial " << trial;
  }
}

}  // namespace
}  // namespace slm::runtime
