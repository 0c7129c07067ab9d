#include "base/status.h"

#include <gtest/gtest.h>

namespace radflow {

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "Ok");
}

TEST(Status, ErrorTableMapsToHttpAndDimse) {
  Status s(ErrorCode::kInvalidDicom, "truncated");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.http_status(), 400);
  EXPECT_EQ(s.dimse_status(), 0xC000);
  EXPECT_EQ(s.ToString(), "InvalidDicom: truncated");
  EXPECT_EQ(Status(ErrorCode::kConflict, "x").http_status(), 409);
  EXPECT_EQ(Status(ErrorCode::kIoError, "x").dimse_status(), 0xA700);
  EXPECT_EQ(Status(ErrorCode::kNotFound, "x").http_status(), 404);
}

TEST(Result, HoldsValueOrStatus) {
  Result<int> good(42);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), 42);
  EXPECT_TRUE(good.status().ok());
  Result<int> bad(ErrorCode::kNotFound, "nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(bad.status().message(), "nope");
}

}  // namespace radflow
