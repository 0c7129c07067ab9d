// radflow_fuzzy_pn, the PostgreSQL function of migration 001, against
// storage::FuzzyPersonNameMatch (SQLite's application-defined function): one table of pairs.
#include <gtest/gtest.h>

#include "pg_env.h"
#include "storage/db.h"
#include "storage/fuzzy.h"
#include "storage/index.h"

namespace radflow::storage {

namespace {

// UTF-8 of one code point below U+0800.
std::string Utf8(unsigned cp) {
  if (cp < 0x80) return std::string(1, static_cast<char>(cp));
  return {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
}

struct Pair {
  const char* name;
  const char* query;
};

// fuzzy_test.cpp's cases, accents of Latin-1 and Latin Extended-A, the separators of both
// sides, stars, empty and multi-word queries, and letters outside the folding table.
const Pair kPairs[] = {
    {"Doe^John", "jo"}, {"Doe^John", "DOE"}, {"Doe^John", "doe jo"},
    {"Buc^J\xC3\xA9r\xC3\xB4me", "jero"}, {"Doe^John", "*oh*"}, {"Doe^John", "*jo*"},
    {"Doe^John", "smith"}, {"Doe^John", "doe smith"},
    {"\xC3\x84neas^R\xC3\xBC" "diger", "aneas rud"}, {"\xC3\x84neas^R\xC3\xBC" "diger", "\xC3\xA4n"},
    {"M\xC3\xBCller^J\xC3\xBCrgen", "MULLER"}, {"M\xC3\xBCller^J\xC3\xBCrgen", "m\xC3\xBCl,j\xC3\xBC"},
    {"Stra\xC3\x9F" "e^Hans", "stras"}, {"Stra\xC3\x9F" "e^Hans", "strass"},
    {"\xC5\x81ukasz^W\xC3\xB3jcik", "lukasz wojc"}, {"\xC5\x81ukasz^W\xC3\xB3jcik", "wojcikz"},
    {"Dvo\xC5\x99\xC3\xA1k^Anton\xC3\xADn", "dvorak"}, {"\xC3\x98ster^\xC3\x85se", "oster^ase"},
    {"Smith-Jones^Mary Ann", "jones"}, {"Smith-Jones^Mary Ann", "ann"},
    {"Smith-Jones^Mary Ann", "smith-jones"}, {"Yamada^Tarou=\xE5\xB1\xB1\xE7\x94\xB0^\xE5\xA4\xAA\xE9\x83\x8E", "\xE5\xB1\xB1"},
    {"Yamada^Tarou=\xE5\xB1\xB1\xE7\x94\xB0", "tar"}, {"\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD", "\xD0\xB8\xD0\xB2"},
    {"\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD", "\xD0\x98\xD0\xB2"}, {"A\xC3\x97" "B", "a\xC3\x97"},
    {"Doe^John", ""}, {"", ""}, {"", "a"}, {"Doe^John", "*"}, {"Doe^John", "  ^^ ,"},
    {"Doe^^John", "john doe"}, {"O'Brien^Sean", "o'b"}, {"Doe^John", "john%"},
    {"Doe^John", "jo_n"}, {"Dupont^Ren\xC3\xA9\x65", "rene"}, {"\xC3\x89lise", "ELISE"},
    {"\xC4\xB0stanbul^\xC4\xB1", "istanbul"}, {"\xC5\xBF" "chl", "schl"}, {"Doe^John", "doe^john"},
};

}  // namespace

class PgFuzzyTest : public PgTest {};

TEST_F(PgFuzzyTest, SameAnswersAsFuzzyPersonNameMatch) {
  const std::string uri = NewDbUri();
  ASSERT_FALSE(uri.empty());
  // The function comes with the migrations: open the index first.
  auto index = Index::Open(uri);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  auto db = OpenDb(uri);
  ASSERT_TRUE(db.ok());
  auto match = db.value()->Prepare("SELECT radflow_fuzzy_pn(?, ?)");
  ASSERT_TRUE(match.ok()) << match.status().ToString();
  int trues = 0;
  for (const auto& p : kPairs) {
    Statement st(match.value());
    st.Bind(1, p.name).Bind(2, p.query);
    Status s;
    ASSERT_TRUE(st.Step(&s)) << s.ToString();
    const bool expected = FuzzyPersonNameMatch(p.name, p.query);
    trues += expected;
    EXPECT_EQ(st.Int(0) == 1, expected) << "name '" << p.name << "' query '" << p.query << "'";
  }
  EXPECT_GT(trues, 10);  // the table has both answers
  EXPECT_LT(trues, static_cast<int>(std::size(kPairs)) - 5);

  // Folding, letter by letter, over the whole table's range and a little beyond.
  auto fold = db.value()->Prepare("SELECT radflow_fold(?)");
  ASSERT_TRUE(fold.ok()) << fold.status().ToString();
  for (unsigned cp = 0x20; cp < 0x200; ++cp) {
    if (cp >= 0x7F && cp < 0xA0) continue;  // controls
    const std::string letter = Utf8(cp);
    Statement st(fold.value());
    st.Bind(1, letter);
    Status s;
    ASSERT_TRUE(st.Step(&s)) << s.ToString();
    EXPECT_EQ(st.Text(0), FoldForMatching(letter)) << "U+" << std::hex << cp;
  }
  // NULL counts as '' (SQLite's function reads NULL as an empty text).
  Statement st(match.value());
  st.BindNull(1).Bind(2, "");
  Status s;
  ASSERT_TRUE(st.Step(&s));
  EXPECT_EQ(st.Int(0), 1);
}

}  // namespace radflow::storage
