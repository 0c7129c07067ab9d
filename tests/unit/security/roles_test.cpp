// security/roles.h: the six role names of the contract, both ways.
#include "security/roles.h"

#include <gtest/gtest.h>

namespace radflow::security {
namespace {

TEST(Roles, NamesRoundTrip) {
  const char* names[] = {"administrator", "radiologist", "technologist", "referring", "researcher", "ai-service"};
  for (size_t i = 0; i < kAllRoles.size(); ++i) {
    EXPECT_EQ(RoleName(kAllRoles[i]), names[i]);
    EXPECT_EQ(ParseRole(names[i]), kAllRoles[i]);
  }
  EXPECT_FALSE(ParseRole("Administrator"));
  EXPECT_FALSE(ParseRole("admin"));
  EXPECT_FALSE(ParseRole(""));
}

}  // namespace
}  // namespace radflow::security
