// security/password.h: Argon2id hashes with OWASP's parameters, random tokens, base64url
// (RFC 4648 §10 test vectors) and SHA-256 (FIPS 180-2 appendix B.1).
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

TEST(Password, Base64UrlRfc4648Vectors) {
  EXPECT_EQ(Base64Url(""), "");
  EXPECT_EQ(Base64Url("f"), "Zg");
  EXPECT_EQ(Base64Url("fo"), "Zm8");
  EXPECT_EQ(Base64Url("foo"), "Zm9v");
  EXPECT_EQ(Base64Url("foob"), "Zm9vYg");
  EXPECT_EQ(Base64Url("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64Url("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Url("\xfb\xff\xbf"), "-_-_");  // the URL-safe alphabet (§5)
}

TEST(Password, Sha256Fips180Vector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
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
