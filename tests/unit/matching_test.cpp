#include "query/matching.h"

#include <gtest/gtest.h>

namespace radflow::query {

namespace t = dicom::tags;
using storage::Constraint;

TEST(Matching, UniversalMatchingHasNoConstraint) {
  for (const char* v : {"", "*", "  "}) {
    auto c = ParseMatchingKey(t::kPatientName, v);
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(c.value().has_value()) << "'" << v << "'";
  }
}

TEST(Matching, SingleValueAndWildcard) {
  auto single = ParseMatchingKey(t::kPatientID, "ABC123 ");
  ASSERT_TRUE(single.ok() && single.value());
  EXPECT_EQ(single.value()->type, Constraint::Type::kSingleValue);
  EXPECT_EQ(single.value()->value, "ABC123");  // trailing padding is not significant

  auto wild = ParseMatchingKey(t::kPatientName, "Doe^J*");
  ASSERT_TRUE(wild.ok() && wild.value());
  EXPECT_EQ(wild.value()->type, Constraint::Type::kWildcard);
  auto q = ParseMatchingKey(t::kModality, "C?");
  EXPECT_EQ(q.value()->type, Constraint::Type::kWildcard);
}

TEST(Matching, UidsAreNeverWildcards) {
  auto c = ParseMatchingKey(t::kStudyInstanceUID, "1.2.3*");
  ASSERT_TRUE(c.ok() && c.value());
  EXPECT_EQ(c.value()->type, Constraint::Type::kSingleValue);
}

TEST(Matching, ListOfUids) {
  auto c = ParseMatchingKey(t::kSeriesInstanceUID, "1.2.3\\1.2.4\\1.2.5");
  ASSERT_TRUE(c.ok() && c.value());
  EXPECT_EQ(c.value()->type, Constraint::Type::kUidList);
  EXPECT_EQ(c.value()->uids, (std::vector<std::string>{"1.2.3", "1.2.4", "1.2.5"}));
}

TEST(Matching, DateRanges) {
  auto closed = ParseMatchingKey(t::kStudyDate, "20200101-20201231");
  ASSERT_TRUE(closed.ok() && closed.value());
  EXPECT_EQ(closed.value()->type, Constraint::Type::kRange);
  EXPECT_EQ(closed.value()->range_lower, "20200101");
  EXPECT_EQ(closed.value()->range_upper.substr(0, 8), "20201231");

  auto open_low = ParseMatchingKey(t::kStudyDate, "-20201231");
  EXPECT_EQ(open_low.value()->range_lower, "");
  auto open_high = ParseMatchingKey(t::kStudyDate, "20200101-");
  EXPECT_EQ(open_high.value()->range_upper, "");
  // A time upper bound includes the whole minute it names.
  auto time = ParseMatchingKey(t::kStudyTime, "1000-1200");
  EXPECT_GT(std::string("120059"), time.value()->range_lower);
  EXPECT_LT(std::string("120059"), time.value()->range_upper);
  EXPECT_GT(std::string("120100"), time.value()->range_upper);
}

TEST(Matching, MalformedRangeIsAnError) {
  for (const char* v : {"-", "2020-2021-2022", "20201231-20200101", "2020x-2021"}) {
    auto c = ParseMatchingKey(t::kStudyDate, v);
    EXPECT_FALSE(c.ok()) << v;
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), ErrorCode::kInvalidArgument);
    }
  }
}

TEST(Matching, BuildQueryIgnoresKeysTheIndexLacks) {
  auto q = BuildQuery(storage::ResourceLevel::kStudy,
                      {{t::kPatientID, "X"}, {dicom::MakeTag(0x0018, 0x1030), "PROTO"},
                       {t::kStudyDate, ""}});
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->constraints.size(), 1u);
  EXPECT_EQ(q->constraints[0].tag, t::kPatientID);
}

}  // namespace radflow::query
