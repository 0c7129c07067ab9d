// crypto/crypto.h: base64 and base64url (RFC 4648 §10 test vectors), SHA-256 (FIPS 180-2
// appendix B.1), HMAC-SHA256 (RFC 4231 test case 2) and random bytes.
#include "crypto/crypto.h"

#include <gtest/gtest.h>

namespace radflow::crypto {
namespace {

TEST(Crypto, Base64UrlRfc4648Vectors) {
  EXPECT_EQ(Base64Url(""), "");
  EXPECT_EQ(Base64Url("f"), "Zg");
  EXPECT_EQ(Base64Url("fo"), "Zm8");
  EXPECT_EQ(Base64Url("foo"), "Zm9v");
  EXPECT_EQ(Base64Url("foob"), "Zm9vYg");
  EXPECT_EQ(Base64Url("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64Url("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Url("\xfb\xff\xbf"), "-_-_");  // the URL-safe alphabet (§5)
}

TEST(Crypto, Base64Rfc4648Vectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64("\xfb\xff\xbf"), "+/+/");
}

TEST(Crypto, Sha256Fips180Vector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256("abc")), Sha256Hex("abc"));
}

TEST(Crypto, Sha256HasherMatchesOneShot) {
  Sha256Hasher h;
  h.Update("a");
  h.Update("");
  h.Update("bc");
  EXPECT_EQ(Hex(h.Final()), Sha256Hex("abc"));
}

TEST(Crypto, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, RandomBytes) {
  auto a = RandomBytes(32);
  auto b = RandomBytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(a.value(), b.value());
}

}  // namespace
}  // namespace radflow::crypto
