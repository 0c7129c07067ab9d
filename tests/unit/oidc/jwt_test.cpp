// JWS/JWT checks without a provider: keys made and tokens signed here with libcjose, so that
// every refusal (alg none, HS256 with the public key as secret, an algorithm that does not fit
// the key, a flipped signature, each registered claim) is exercised on its own.
#include "oidc/jwt.h"

#include <cjose/cjose.h>
#include <gtest/gtest.h>

#include <string>

#include "oidc/jwks.h"

namespace radflow::oidc {
namespace {

struct Key {
  cjose_jwk_t* jwk = nullptr;
  ~Key() {
    if (jwk) cjose_jwk_release(jwk);
  }
  std::string PublicJson() const {
    cjose_err err;
    char* s = cjose_jwk_to_json(jwk, false, &err);
    std::string out(s);
    free(s);
    return out;
  }
};

void MakeRsa(Key& k, const std::string& kid) {
  cjose_err err;
  static const uint8_t e[] = {0x01, 0x00, 0x01};
  k.jwk = cjose_jwk_create_RSA_random(2048, e, sizeof e, &err);
  ASSERT_NE(k.jwk, nullptr);
  ASSERT_TRUE(cjose_jwk_set_kid(k.jwk, kid.c_str(), kid.size(), &err));
}

void MakeEc(Key& k, const std::string& kid) {
  cjose_err err;
  k.jwk = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
  ASSERT_NE(k.jwk, nullptr);
  ASSERT_TRUE(cjose_jwk_set_kid(k.jwk, kid.c_str(), kid.size(), &err));
}

std::string Sign(const cjose_jwk_t* jwk, const std::string& alg, const std::string& kid, const nlohmann::json& claims) {
  cjose_err err;
  cjose_header_t* h = cjose_header_new(&err);
  cjose_header_set(h, CJOSE_HDR_ALG, alg.c_str(), &err);
  if (!kid.empty()) cjose_header_set(h, CJOSE_HDR_KID, kid.c_str(), &err);
  std::string payload = claims.dump();
  cjose_jws_t* jws = cjose_jws_sign(jwk, h, reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), &err);
  cjose_header_release(h);
  if (!jws) return "";
  const char* compact = nullptr;
  cjose_jws_export(jws, &compact, &err);
  std::string out(compact);
  cjose_jws_release(jws);
  return out;
}

std::string B64(const std::string& s) {
  char* out = nullptr;
  size_t n = 0;
  cjose_err err;
  cjose_base64url_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size(), &out, &n, &err);
  std::string r(out, n);
  cjose_get_dealloc()(out);
  return r;
}

nlohmann::json Claims(double now) {
  return {{"iss", "https://idp.example"},
          {"aud", "radflow"},
          {"sub", "s1"},
          {"exp", now + 300},
          {"iat", now},
          {"nbf", now}};
}

const double kNow = 1.8e9;
const ClaimRules kRules{"https://idp.example", "radflow", 60, kNow};

Jwks SetOf(std::initializer_list<const Key*> keys) {
  nlohmann::json set = {{"keys", nlohmann::json::array()}};
  for (const Key* k : keys) set["keys"].push_back(nlohmann::json::parse(k->PublicJson()));
  auto parsed = Jwks::Parse(set.dump());
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? parsed.value() : Jwks();
}

TEST(OidcJwt, VerifiesRs256Ps256Es256WithTheirKeys) {
  Key rsa, ec;
  MakeRsa(rsa, "r1");
  MakeEc(ec, "e1");
  Jwks set = SetOf({&rsa, &ec});
  for (const auto& [alg, key, kid] :
       {std::tuple{"RS256", &rsa, "r1"}, std::tuple{"PS256", &rsa, "r1"}, std::tuple{"ES256", &ec, "e1"}}) {
    std::string token = Sign(key->jwk, alg, kid, Claims(kNow));
    ASSERT_FALSE(token.empty()) << alg;
    auto jws = Jws::Parse(token);
    ASSERT_TRUE(jws.ok()) << jws.status().ToString();
    EXPECT_EQ(jws->alg(), alg);
    const Jwk* k = set.Find(jws->kid(), jws->alg());
    ASSERT_NE(k, nullptr);
    EXPECT_TRUE(jws->Verify(*k)) << alg;
    auto claims = jws->Claims();
    ASSERT_TRUE(claims.ok());
    EXPECT_EQ((*claims)["sub"], "s1");
    EXPECT_TRUE(CheckClaims(*claims, kRules).ok());
  }
}

TEST(OidcJwt, FlippedSignatureByteFails) {
  Key rsa;
  MakeRsa(rsa, "r1");
  Jwks set = SetOf({&rsa});
  std::string token = Sign(rsa.jwk, "RS256", "r1", Claims(kNow));
  size_t sig = token.rfind('.') + 10;
  token[sig] = token[sig] == 'A' ? 'B' : 'A';
  auto jws = Jws::Parse(token);
  ASSERT_TRUE(jws.ok());
  EXPECT_FALSE(jws->Verify(*set.Find("r1", "RS256")));
}

TEST(OidcJwt, AlgorithmsNoneAndSymmetricAreNotAccepted) {
  EXPECT_FALSE(IsAcceptedAlgorithm("none"));
  EXPECT_FALSE(IsAcceptedAlgorithm("HS256"));
  EXPECT_FALSE(IsAcceptedAlgorithm("RS384"));
  Key rsa;
  MakeRsa(rsa, "r1");
  Jwks set = SetOf({&rsa});
  const Jwk* k = set.Find("r1", "RS256");
  ASSERT_NE(k, nullptr);
  // HS256 keyed with the RSA public key's JSON: the key-confusion attack (RFC 8725 2.1).
  std::string secret = rsa.PublicJson();
  cjose_err err;
  cjose_jwk_t* oct = cjose_jwk_create_oct_spec(reinterpret_cast<const uint8_t*>(secret.data()), secret.size(), &err);
  std::string hs = Sign(oct, "HS256", "r1", Claims(kNow));
  cjose_jwk_release(oct);
  auto jws = Jws::Parse(hs);
  ASSERT_TRUE(jws.ok());
  EXPECT_EQ(jws->alg(), "HS256");
  EXPECT_FALSE(k->Permits("HS256"));
  EXPECT_FALSE(jws->Verify(*k));
  // alg "none" with an empty signature.
  std::string none = B64(R"({"alg":"none","kid":"r1"})") + "." + B64(Claims(kNow).dump()) + ".";
  auto n = Jws::Parse(none);
  if (n.ok()) {
    EXPECT_EQ(n->alg(), "none");
    EXPECT_FALSE(n->Verify(*k));
  } else {
    EXPECT_EQ(n.status().message(), "malformed token");
  }
}

TEST(OidcJwt, AlgorithmMustFitTheKey) {
  Key rsa, ec;
  MakeRsa(rsa, "r1");
  MakeEc(ec, "e1");
  Jwks set = SetOf({&rsa, &ec});
  EXPECT_FALSE(set.Find("r1", "ES256")->Permits("ES256"));
  EXPECT_FALSE(set.Find("e1", "RS256")->Permits("RS256"));
  // A key that names its alg accepts only that one.
  nlohmann::json pinned = nlohmann::json::parse(rsa.PublicJson());
  pinned["alg"] = "RS256";
  auto one = Jwks::Parse(nlohmann::json({{"keys", {pinned}}}).dump());
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(one->keys()[0].Permits("RS256"));
  EXPECT_FALSE(one->keys()[0].Permits("PS256"));
  std::string ps = Sign(rsa.jwk, "PS256", "r1", Claims(kNow));
  EXPECT_FALSE(Jws::Parse(ps)->Verify(one->keys()[0]));
}

TEST(OidcJwks, SkipsEncryptionSymmetricAndPrivateParts) {
  Key rsa;
  MakeRsa(rsa, "r1");
  nlohmann::json sig = nlohmann::json::parse(rsa.PublicJson());
  nlohmann::json enc = sig;
  enc["kid"] = "enc1";
  enc["use"] = "enc";
  nlohmann::json oct = {{"kty", "oct"}, {"kid", "o1"}, {"k", "c2VjcmV0"}};
  auto set = Jwks::Parse(nlohmann::json({{"keys", {sig, enc, oct}}}).dump());
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->keys().size(), 1u);
  EXPECT_EQ(set->keys()[0].kid(), "r1");
  // A private JWK in the set is imported as its public part only.
  cjose_err err;
  char* priv = cjose_jwk_to_json(rsa.jwk, true, &err);
  auto withPriv = Jwks::Parse(std::string(R"({"keys":[)") + priv + "]}");
  free(priv);
  ASSERT_TRUE(withPriv.ok());
  char* back = cjose_jwk_to_json(static_cast<const cjose_jwk_t*>(withPriv->keys()[0].handle()), true, &err);
  EXPECT_EQ(std::string(back).find("\"d\""), std::string::npos) << back;
  free(back);
  EXPECT_FALSE(Jwks::Parse(R"({"keys":[{"kty":"oct","k":"eA"}]})").ok());
  EXPECT_FALSE(Jwks::Parse("not json").ok());
  EXPECT_FALSE(Jwks::Parse(R"({"nokeys":1})").ok());
}

TEST(OidcJwks, FindWithoutKidNeedsExactlyOneFittingKey) {
  Key a, b, e;
  MakeRsa(a, "a");
  MakeRsa(b, "b");
  MakeEc(e, "e");
  EXPECT_EQ(SetOf({&a, &e}).Find("", "RS256")->kid(), "a");
  EXPECT_EQ(SetOf({&a, &b}).Find("", "RS256"), nullptr);
  EXPECT_EQ(SetOf({&a}).Find("zz", "RS256"), nullptr);
}

TEST(OidcJwt, MalformedTokens) {
  for (const char* bad : {"", "abc", "a.b", "a.b.c.d", "e30.e30.%%%", "....", "eyJ.eyJ.x"}) {
    auto jws = Jws::Parse(bad);
    EXPECT_FALSE(jws.ok()) << bad;
    if (!jws.ok()) {
      EXPECT_EQ(jws.status().code(), ErrorCode::kUnauthenticated);
      EXPECT_EQ(jws.status().message().rfind("malformed token", 0), 0u) << jws.status().message();
    }
  }
}

TEST(OidcJwt, RegisteredClaims) {
  auto reason = [](nlohmann::json c, ClaimRules r = kRules) {
    Status st = CheckClaims(c, r);
    return st.ok() ? std::string("ok") : st.message();
  };
  nlohmann::json c = Claims(kNow);
  EXPECT_EQ(reason(c), "ok");
  c["iss"] = "https://idp.example/";  // exact comparison: a trailing slash differs
  EXPECT_EQ(reason(c), "token issuer mismatch");
  c = Claims(kNow);
  c.erase("iss");
  EXPECT_EQ(reason(c), "token issuer mismatch");
  c = Claims(kNow);
  c["aud"] = "other";
  EXPECT_EQ(reason(c), "token audience mismatch");
  c["aud"] = {"other", "radflow"};
  EXPECT_EQ(reason(c), "ok");
  c["aud"] = {"other"};
  EXPECT_EQ(reason(c), "token audience mismatch");
  c.erase("aud");
  EXPECT_EQ(reason(c), "token audience mismatch");
  // exp with the skew: valid until exp + skew (exclusive).
  c = Claims(kNow);
  c["exp"] = kNow - 59;
  EXPECT_EQ(reason(c), "ok");
  c["exp"] = kNow - 60;
  EXPECT_EQ(reason(c), "token expired");
  ClaimRules strict = kRules;
  strict.clock_skew_s = 0;
  c["exp"] = kNow - 1;
  EXPECT_EQ(reason(c, strict), "token expired");
  c.erase("exp");
  EXPECT_EQ(reason(c), "token has no expiry");
  c = Claims(kNow);
  c["nbf"] = kNow + 61;
  EXPECT_EQ(reason(c), "token not yet valid");
  c["nbf"] = kNow + 59;
  EXPECT_EQ(reason(c), "ok");
  c = Claims(kNow);
  c["iat"] = kNow + 61;
  EXPECT_EQ(reason(c), "token issued in the future");
  c["iat"] = "yesterday";  // not a NumericDate: ignored like an absent iat
  EXPECT_EQ(reason(c), "ok");
}

}  // namespace
}  // namespace radflow::oidc
