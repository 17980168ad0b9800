// Data layer: mail parsing (MIME, transfer encodings, charsets), CSV/JSONL, dedup, split, decontamination.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/testdata.h"
#include "core/error.h"
#include "data/dedup.h"
#include "data/mail.h"
#include "data/records.h"
#include "data/split.h"

namespace slm::data {
namespace {

TEST(Mail, DecodesTransferEncodingsAndCharsets) {
  EXPECT_EQ(decode_quoted_printable("caf=C3=A9 soft=\nbreak ="), "caf\xC3\xA9 softbreak =");
  EXPECT_EQ(decode_base64("aGVs\nbG8="), "hello");
  EXPECT_EQ(to_utf8("caf\xE9", "ISO-8859-1"), "caf\xC3\xA9");
  EXPECT_EQ(to_utf8("\x80", "windows-1252"), "\xE2\x82\xAC");
  size_t replaced = 0;
  EXPECT_EQ(to_utf8("a\xFF", "utf-8", &replaced), "a\xEF\xBF\xBD");
  EXPECT_EQ(to_utf8("b\xC4", "koi8-r", &replaced), "b\xEF\xBF\xBD");  // unknown charset: clearly replaced
  EXPECT_EQ(replaced, 2u);
}

TEST(Mail, ParsesMultipartWithEncodedHeaders) {
  const std::string raw =
      "From someone Mon Jan 1\n"
      "From: Ann <a@x.org>\n"
      "Subject: =?iso-8859-1?Q?Caf=E9?=\n  tonight\n"
      "Content-Type: multipart/alternative; boundary=\"XX\"\n\n"
      "preamble\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
      "SGVsbG8gd29ybGQ=\n--XX\nContent-Type: text/html\n\n<p>Hello <b>html</b></p>\n--XX--\n";
  const Mail m = parse_mail(raw);
  EXPECT_EQ(m.from, "Ann <a@x.org>");
  EXPECT_EQ(m.subject, "Caf\xC3\xA9 tonight");
  EXPECT_EQ(m.body, "Hello world");
  const Mail html = parse_mail("Content-Type: text/html\n\n<p>only <i>html</i></p>");
  EXPECT_EQ(html.body, " only  html  ");
  EXPECT_NO_THROW(parse_mail(""));
  EXPECT_NO_THROW(parse_mail("Content-Type: multipart/mixed; boundary=b\n\n--b"));
}

TEST(Records, CsvAndJsonl) {
  testing::TempDir dir;
  std::ofstream(dir.file("a.csv")) << "text,label\n\"hello, \"\"you\"\"\nthere\",ham\nbuy,spam\n";
  const auto rows = read_csv(dir.file("a.csv"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["text"], "hello, \"you\"\nthere");
  EXPECT_EQ(rows[1]["label"], "spam");
  write_jsonl(dir.file("a.jsonl"), rows);
  EXPECT_EQ(read_rows(dir.file("a.jsonl")), rows);
  std::ofstream(dir.file("bad.jsonl")) << "{\"a\":1}\n{oops\n";
  try {
    read_jsonl(dir.file("bad.jsonl"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos);
  }
  std::ofstream(dir.file("ragged.csv")) << "a,b\n1\n";
  EXPECT_THROW(read_csv(dir.file("ragged.csv")), Error);
  // A CSV that is not UTF-8 (a Latin-1 export) is refused by line instead of reaching JSON as U+FFFD, and a
  // header naming a column twice is refused instead of the second column silently replacing the first.
  std::ofstream(dir.file("latin1.csv"), std::ios::binary) << "text,label\nok,ham\ncaf\xe9,spam\n";
  try {
    read_csv(dir.file("latin1.csv"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("latin1.csv:3: not valid UTF-8"), std::string::npos) << e.what();
  }
  std::ofstream(dir.file("twice.csv")) << "text,label,text\na,b,c\n";
  try {
    read_csv(dir.file("twice.csv"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("column 'text' appears twice"), std::string::npos) << e.what();
  }
  EXPECT_EQ(field_text(rows[0], "body", {{"body", "label"}}), "ham");
  EXPECT_THROW(field_text(rows[0], "missing", {}), Error);
}

std::string long_text(int variant) {
  std::string s;
  for (int i = 0; i < 60; ++i) s += "word" + std::to_string(i * 7 % 23 + variant * 100) + " filler" + std::to_string(i) + " ";
  return s;
}

TEST(Dedup, ExactAndNearDuplicates) {
  std::string near = long_text(0);
  near.replace(near.find("filler10"), 8, "changed!");  // one word in 120
  const std::vector<std::string> texts = {long_text(0), "  " + long_text(0) + "\n", near, long_text(1), long_text(2)};
  EXPECT_GT(jaccard(texts[0], near), 0.9);
  EXPECT_LT(jaccard(texts[0], texts[3]), 0.2);
  const DedupResult r = dedup(texts);
  EXPECT_EQ(r.keep, (std::vector<size_t>{0, 3, 4}));
  EXPECT_EQ(r.exact_duplicates, 1u);
  EXPECT_EQ(r.near_duplicates, 1u);
  EXPECT_EQ(contaminated({texts[0], texts[3]}, {near, long_text(5), texts[3]}), (std::vector<size_t>{0, 2}));
  EXPECT_THROW(dedup(texts, {.n_perm = 10, .bands = 3}), Error);
}

TEST(Split, StratifiedSeededDisjoint) {
  std::vector<std::string> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i % 4 == 0 ? "spam" : "ham");
  const Split a = split_indices(labels, 100, 0.2, 7), b = split_indices(labels, 100, 0.2, 7), c = split_indices(labels, 100, 0.2, 8);
  EXPECT_EQ(a.eval, b.eval);
  EXPECT_NE(a.eval, c.eval);
  EXPECT_EQ(a.eval.size(), 20u);
  size_t spam = 0;
  for (size_t i : a.eval) spam += labels[i] == "spam";
  EXPECT_EQ(spam, 5u);  // 25 spam * 0.2
  std::set<size_t> all(a.train.begin(), a.train.end());
  for (size_t i : a.eval) EXPECT_TRUE(all.insert(i).second);
  EXPECT_EQ(all.size(), 100u);
  EXPECT_THROW(split_indices(labels, 100, 1.0, 1), Error);
  EXPECT_THROW(split_indices(labels, 99, 0.2, 1), Error);
}

}  // namespace
}  // namespace slm::data
