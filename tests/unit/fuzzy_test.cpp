#include "storage/fuzzy.h"

#include <gtest/gtest.h>

namespace radflow::storage {

TEST(Fuzzy, FoldsCaseAndAccents) {
  EXPECT_EQ(FoldForMatching("Buc^J\xC3\xA9r\xC3\xB4me"), "buc^jerome");
  EXPECT_EQ(FoldForMatching("\xC3\x84neas^R\xC3\xBC" "diger"), "aneas^rudiger");
}

TEST(Fuzzy, PrefixOfAnyComponent) {
  EXPECT_TRUE(FuzzyPersonNameMatch("Doe^John", "jo"));
  EXPECT_TRUE(FuzzyPersonNameMatch("Doe^John", "DOE"));
  EXPECT_TRUE(FuzzyPersonNameMatch("Doe^John", "doe jo"));
  EXPECT_TRUE(FuzzyPersonNameMatch("Buc^J\xC3\xA9r\xC3\xB4me", "jero"));
  EXPECT_TRUE(FuzzyPersonNameMatch("Doe^John", "*oh*") == false);  // prefix, not infix
  EXPECT_TRUE(FuzzyPersonNameMatch("Doe^John", "*jo*"));           // OHIF's wrapping stars
  EXPECT_FALSE(FuzzyPersonNameMatch("Doe^John", "smith"));
  EXPECT_FALSE(FuzzyPersonNameMatch("Doe^John", "doe smith"));
}

}  // namespace radflow::storage
