// OidcProvider (discovery, JWKS, bearer JWTs) against a real OpenID provider: npm
// oidc-provider started by tests/oidc/provider.mjs (test_provider.h). Tokens come from the
// provider's client_credentials grant.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "oidc/oidc.h"
#include "test_provider.h"

namespace radflow::oidc {
namespace {

namespace fs = std::filesystem;
using testing::GenerateKey;
using testing::TestProvider;

class OidcProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::ProviderInstalled()) << "run `npm ci` in tests/oidc (scripts/setup_web.sh)";
    dir_ = fs::temp_directory_path() / ("radflow-oidc-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    k1_ = GenerateKey(dir_, "k1");
    ASSERT_TRUE(fs::exists(k1_));
  }
  void TearDown() override {
    idp_.Stop();
    fs::remove_all(dir_);
  }
  OidcConfig Config() const {
    OidcConfig c;
    c.issuer = idp_.issuer();
    c.client_id = "radflow";
    c.audience = "radflow";
    c.clock_skew_s = 0;
    return c;
  }
  static std::string Reason(const Result<http::Identity>& r) { return r.ok() ? "ok" : r.status().message(); }

  fs::path dir_;
  std::string k1_;
  TestProvider idp_;
};

TEST_F(OidcProviderTest, ClientCredentialsTokenMapsToItsRole) {
  ASSERT_TRUE(idp_.Start(k1_, "http://127.0.0.1:1/cb"));
  OidcProvider p(Config());
  ASSERT_TRUE(p.Discover().ok());
  std::string token = idp_.ClientToken();
  ASSERT_FALSE(token.empty());
  auto id = p.VerifyBearer(token);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->user, "ai-worker");
  EXPECT_EQ(id->role, "ai-service");
  EXPECT_EQ(id->method, "oidc-bearer");
}

TEST_F(OidcProviderTest, RefusesOtherAudienceExpiredFlippedAndRoleless) {
  ASSERT_TRUE(idp_.Start(k1_, "http://127.0.0.1:1/cb"));
  OidcProvider p(Config());
  auto other = p.VerifyBearer(idp_.ClientToken("ai-worker", "urn:other"));
  EXPECT_EQ(Reason(other), "token audience mismatch");
  EXPECT_EQ(other.status().code(), ErrorCode::kUnauthenticated);

  std::string good = idp_.ClientToken();
  std::string flipped = good;
  size_t at = flipped.rfind('.') + 20;
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Reason(p.VerifyBearer(flipped)), "invalid token signature");
  // A flipped payload byte breaks the signature too.
  std::string payload = good;
  at = payload.find('.') + 5;
  payload[at] = payload[at] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Reason(p.VerifyBearer(payload)), "invalid token signature");

  auto none = p.VerifyBearer(idp_.ClientToken("norole-worker"));
  EXPECT_EQ(Reason(none), "no radflow role in claim roles");
  EXPECT_EQ(none.status().code(), ErrorCode::kPermissionDenied);

  std::string shortlived = idp_.ClientToken("ai-worker", "urn:radflow:short");
  ASSERT_TRUE(p.VerifyBearer(shortlived).ok());  // TTL 1 s, skew 0
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(Reason(p.VerifyBearer(shortlived)), "token expired");
  // The skew lets it through again (60 s): the skew is applied, not ignored.
  OidcConfig lenient = Config();
  lenient.clock_skew_s = 60;
  EXPECT_TRUE(OidcProvider(lenient).VerifyBearer(shortlived).ok());
}

TEST_F(OidcProviderTest, WrongAudienceConfigAndIssuerMismatch) {
  ASSERT_TRUE(idp_.Start(k1_, "http://127.0.0.1:1/cb"));
  OidcConfig c = Config();
  c.audience = "someone-else";
  EXPECT_EQ(Reason(OidcProvider(c).VerifyBearer(idp_.ClientToken())), "token audience mismatch");
  c.audience = "";
  EXPECT_EQ(Reason(OidcProvider(c).VerifyBearer(idp_.ClientToken())),
            "bearer JWTs are not accepted: no --oidc-audience configured");
  // The discovery document's issuer must equal the configured one exactly.
  c = Config();
  c.issuer = "http://localhost:" + std::to_string(idp_.port());
  OidcProvider wrong(c);
  Status st = wrong.Discover();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("does not equal the configured"), std::string::npos) << st.message();
}

TEST_F(OidcProviderTest, KeyRotationWithoutRestart) {
  ASSERT_TRUE(idp_.Start(k1_, "http://127.0.0.1:1/cb"));
  OidcConfig c = Config();
  c.jwks_refetch_interval_s = 0.5;
  OidcProvider p(c);
  std::string old_token = idp_.ClientToken();
  ASSERT_TRUE(p.VerifyBearer(old_token).ok());
  // The provider restarts with a new signing key first; the old key is still published.
  std::string k2 = GenerateKey(dir_, "k2");
  int port = idp_.port();
  idp_.Stop();
  ASSERT_TRUE(idp_.Start(k2 + "," + k1_, "http://127.0.0.1:1/cb", port));
  std::string new_token = idp_.ClientToken();
  ASSERT_NE(new_token.find("eyJ"), std::string::npos);
  // Refetches are rate-limited to one per interval (0.5 s here), counted from the first
  // fetch: wait past it, or a fast provider restart leaves k2 unknown (a race, seen in CI).
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  auto id = p.VerifyBearer(new_token);  // unknown kid k2: one JWKS refetch
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_TRUE(p.VerifyBearer(old_token).ok());
  // A kid the provider never published: refused, and the refetch is rate-limited.
  std::string k3 = GenerateKey(dir_, "k3");
  TestProvider stranger;
  ASSERT_TRUE(stranger.Start(k3, "http://127.0.0.1:1/cb"));
  std::string foreign = stranger.ClientToken();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past the refetch interval
  int fetches = p.jwks_fetches();
  EXPECT_EQ(Reason(p.VerifyBearer(foreign)), "unknown signing key");
  EXPECT_EQ(p.jwks_fetches(), fetches + 1);
  // Within the interval, more unknown kids cause no further fetch.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Reason(p.VerifyBearer(foreign)), "unknown signing key");
  EXPECT_EQ(p.jwks_fetches(), fetches + 1);
}

TEST_F(OidcProviderTest, EcKeysAndProviderDownAtStart) {
  std::string ec = GenerateKey(dir_, "e1", "ES256");
  int port = testing::FreePort();
  OidcConfig c = Config();
  c.issuer = "http://127.0.0.1:" + std::to_string(port);
  c.jwks_refetch_interval_s = 0.2;
  c.http_timeout_ms = 1000;
  OidcProvider p(c);
  // Down: discovery fails, verification answers "unavailable" rather than crashing.
  Status st = p.Discover();
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable) << st.ToString();
  auto r = p.VerifyBearer("eyJhbGciOiJFUzI1NiJ9.e30.AAAA");
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  // Up: the next use discovers lazily.
  ASSERT_TRUE(idp_.Start(ec, "http://127.0.0.1:1/cb", port));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string token = idp_.ClientToken();
  ASSERT_FALSE(token.empty());
  auto id = p.VerifyBearer(token);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->role, "ai-service");
}

}  // namespace
}  // namespace radflow::oidc
