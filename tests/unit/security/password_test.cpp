// security/password.h: Argon2id hashes with OWASP's parameters and random tokens (the
// base64url and SHA-256 vectors are in tests/unit/crypto/crypto_test.cpp).
#include "security/password.h"

#include <gtest/gtest.h>

#include <set>

namespace radflow::security {
namespace {

TEST(Password, HashVerifiesOnlyTheSamePassword) {
  auto hash = HashPassword("correct horse battery");
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << hash.value();
  EXPECT_TRUE(VerifyPassword("correct horse battery", hash.value()));
  EXPECT_FALSE(VerifyPassword("correct horse batterY", hash.value()));
  EXPECT_FALSE(VerifyPassword("", hash.value()));
}

TEST(Password, SaltMakesEveryHashDifferent) {
  auto a = HashPassword("same password here");
  auto b = HashPassword("same password here");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a.value(), b.value());
  EXPECT_TRUE(VerifyPassword("same password here", b.value()));
}

TEST(Password, MalformedEncodingNeverMatches) {
  EXPECT_FALSE(VerifyPassword("x", ""));
  EXPECT_FALSE(VerifyPassword("x", "$argon2id$garbage"));
  EXPECT_FALSE(VerifyPassword("x", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"));
  EXPECT_FALSE(VerifyPassword("x", "plaintext"));
}

TEST(Password, RandomTokensAreLongAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto t = RandomToken("rf_");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->size(), 3u + 43u);  // 32 bytes → 43 base64url characters
    EXPECT_EQ(t->rfind("rf_", 0), 0u);
    EXPECT_EQ(t->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 3),
              std::string::npos);
    seen.insert(t.value());
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(Password, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace radflow::security
