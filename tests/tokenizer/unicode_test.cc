// UTF-8 helpers, Unicode properties (utf8proc) and the GPT-2 byte-level alphabet.
#include "tokenizer/unicode.h"

#include <gtest/gtest.h>

namespace slm::tok {
namespace {

TEST(Utf8, DecodeRejectsIllFormed) {
  char32_t cp = 0;
  EXPECT_EQ(utf8_decode("\xE2\x82\xAC", 0, &cp), 3);
  EXPECT_EQ(cp, 0x20ACu);
  EXPECT_EQ(utf8_decode("\xF0\x9F\x99\x82", 0, &cp), 4);
  EXPECT_EQ(cp, 0x1F642u);
  EXPECT_EQ(utf8_decode("\xC0\xAF", 0, &cp), 0);          // overlong
  EXPECT_EQ(utf8_decode("\xED\xA0\x80", 0, &cp), 0);      // surrogate
  EXPECT_EQ(utf8_decode("\xE2\x82", 0, &cp), 0);          // truncated
  EXPECT_EQ(utf8_decode("\xF4\x90\x80\x80", 0, &cp), 0);  // > U+10FFFF
  EXPECT_EQ(utf8_decode("\x80", 0, &cp), 0);
}

TEST(Utf8, SanitizeReplacesEachBadByte) {
  EXPECT_TRUE(utf8_valid("héllo 🙂"));
  EXPECT_FALSE(utf8_valid("a\xFF" "b"));
  EXPECT_EQ(utf8_sanitize("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(utf8_sanitize("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Utf8, CompletePrefixHoldsBackUnfinishedCharacters) {
  const std::string euro = "\xE2\x82\xAC";
  EXPECT_EQ(utf8_complete_prefix("ab"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab" + euro.substr(0, 1)), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab" + euro.substr(0, 2)), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab" + euro), 5u);
  EXPECT_EQ(utf8_complete_prefix("\xF0\x9F\x99"), 0u);
  EXPECT_EQ(utf8_complete_prefix("a\xFF"), 2u);        // invalid: nothing to wait for
  EXPECT_EQ(utf8_complete_prefix("a\xE0\x80"), 3u);    // E0 80 can never become well-formed
  EXPECT_EQ(utf8_complete_prefix("a\xED\x9F"), 1u);    // ED 9F.. is a valid start (U+D7C0..)
}

TEST(Unicode, CategoriesComeFromUtf8proc) {
  EXPECT_TRUE(is_letter(U'a'));
  EXPECT_TRUE(is_letter(U'ж'));
  EXPECT_TRUE(is_letter(U'日'));
  EXPECT_FALSE(is_letter(U'1'));
  EXPECT_TRUE(is_number(U'٣'));  // ARABIC-INDIC DIGIT THREE
  EXPECT_TRUE(is_punctuation(U'、'));
  EXPECT_TRUE(is_symbol(U'$'));
  EXPECT_TRUE(is_whitespace(U'\u3000'));
  EXPECT_TRUE(is_whitespace(U'\n'));
  EXPECT_FALSE(is_whitespace(U'\u200B'));  // zero width space is Cf, not White_Space
  EXPECT_TRUE(is_control(U'\u200B'));
  EXPECT_TRUE(is_cjk_ideograph(U'模'));
  EXPECT_FALSE(is_cjk_ideograph(U'の'));
}

TEST(Unicode, NormalFormsAndCase) {
  EXPECT_EQ(normalize("e\xCC\x81", NormalForm::nfc), "\xC3\xA9");
  EXPECT_EQ(normalize("\xC3\xA9", NormalForm::nfd), "e\xCC\x81");
  EXPECT_EQ(normalize("\xEF\xAC\x81", NormalForm::nfkc), "fi");  // U+FB01 ligature
  EXPECT_EQ(to_lower("ÀÉÎ Straße"), "àéî straße");
  EXPECT_EQ(strip_accents("Führer café"), "Fuhrer cafe");
  EXPECT_EQ(fold_to_base("Cửa"), "Cua");
  EXPECT_EQ(fold_to_base("한국"), "한국");  // Hangul syllables are kept whole
}

TEST(ByteLevel, AlphabetIsABijectionOverBytes) {
  const auto& t = byte_to_unicode();
  EXPECT_EQ(t[' '], "\xC4\xA0");  // 'Ġ'
  EXPECT_EQ(t['\n'], "\xC4\x8A");  // 'Ċ'
  EXPECT_EQ(t['a'], "a");
  std::string all;
  for (int b = 0; b < 256; ++b) all += char(b);
  EXPECT_EQ(byte_level_to_bytes(bytes_to_byte_level(all)), all);
}

}  // namespace
}  // namespace slm::tok
