// The browser sign-in end to end at the module level: GET /auth/oidc/login and
// /auth/oidc/callback through HttpServer::Dispatch, with the real OpenID provider in between
// (npm oidc-provider's login and consent forms driven by libcurl with a cookie jar), ending
// in a radflow session that AuthService::Authenticate accepts with the account's role.
#include "oidc/login_flow.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "api/oidc_api.h"
#include "security/auth_service.h"
#include "storage/index.h"
#include "test_provider.h"

namespace radflow::oidc {
namespace {

namespace fs = std::filesystem;

size_t Append(char* d, size_t s, size_t n, void* u) {
  static_cast<std::string*>(u)->append(d, s * n);
  return s * n;
}

// A browser at the provider: GETs and form POSTs with cookies, redirects followed by hand
// until one points at `stop_prefix` (radflow's callback), which is returned.
class Browser {
 public:
  Browser() : h_(curl_easy_init()) { curl_easy_setopt(h_, CURLOPT_COOKIEFILE, ""); }
  ~Browser() { curl_easy_cleanup(h_); }

  // login "": press the login page's "[ Cancel ]" link instead of signing in.
  std::string RunUntil(std::string url, const std::string& stop_prefix, const std::string& login) {
    std::string post;
    for (int hops = 0; hops < 20; ++hops) {
      if (url.rfind(stop_prefix, 0) == 0) return url;
      std::string body;
      long status = 0;
      char* location = nullptr;
      curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
      curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, Append);
      curl_easy_setopt(h_, CURLOPT_WRITEDATA, &body);
      if (post.empty()) {
        curl_easy_setopt(h_, CURLOPT_HTTPGET, 1L);
      } else {
        curl_easy_setopt(h_, CURLOPT_COPYPOSTFIELDS, post.c_str());
      }
      post.clear();
      if (curl_easy_perform(h_) != CURLE_OK) return "";
      curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_getinfo(h_, CURLINFO_REDIRECT_URL, &location);
      if (status >= 300 && status < 400 && location) {
        url = location;
        continue;
      }
      if (status != 200) return "HTTP " + std::to_string(status) + ": " + body;
      std::smatch cancel;
      if (login.empty() && std::regex_search(body, cancel, std::regex("<a href=\"([^\"]+)\">\\[ Cancel \\]"))) {
        std::string href = cancel[1];
        url = href.rfind("http", 0) == 0 ? href : Origin(url) + href;
        continue;
      }
      // The dev login or consent form: action + hidden fields.
      std::smatch m;
      if (!std::regex_search(body, m, std::regex("<form[^>]*action=\"([^\"]+)\""))) return "no form: " + body;
      std::string action = m[1];
      url = action.rfind("http", 0) == 0 ? action : Origin(url) + action;
      std::vector<std::pair<std::string, std::string>> fields;
      static const std::regex kHidden("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"");
      for (std::sregex_iterator it(body.begin(), body.end(), kHidden), end; it != end; ++it) {
        fields.push_back({(*it)[1], (*it)[2]});
      }
      if (body.find("name=\"login\"") != std::string::npos) {
        fields.push_back({"login", login});
        fields.push_back({"password", "any password"});
      }
      post = FormEncode(fields);
    }
    return "too many redirects";
  }

 private:
  static std::string Origin(const std::string& url) {
    size_t slash = url.find('/', url.find("://") + 3);
    return url.substr(0, slash);
  }
  CURL* h_;
};

std::string Header(const http::Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

std::string Param(const std::string& url, const std::string& name) {
  std::smatch m;
  if (std::regex_search(url, m, std::regex("[?&]" + name + "=([^&]*)"))) {
    return http::UrlDecode(m[1].str(), true);
  }
  return "";
}

class OidcLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::ProviderInstalled()) << "run `npm ci` in tests/oidc (scripts/setup_web.sh)";
    dir_ = fs::temp_directory_path() / ("radflow-oidc-login-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    host_ = "127.0.0.1:" + std::to_string(testing::FreePort());
    callback_ = "http://" + host_ + "/auth/oidc/callback";
    std::string db = (dir_ / "index.db").string();
    auto index = storage::Index::Open(db);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index.value().reset();
    security::AuthOptions options;
    options.db_path = db;
    auto auth = security::AuthService::Open(options);
    ASSERT_TRUE(auth.ok()) << auth.status().ToString();
    auth_ = std::move(auth).value();
  }
  void TearDown() override {
    idp_.Stop();
    fs::remove_all(dir_);
  }
  void StartAll(const std::vector<std::string>& extra = {}) {
    ASSERT_TRUE(idp_.Start(testing::GenerateKey(dir_, "k1"), callback_, 0, extra));
    OidcConfig c;
    c.issuer = idp_.issuer();
    c.client_id = "radflow";
    c.client_secret = "radflow-test-secret";
    c.audience = "radflow";
    provider_ = std::make_unique<OidcProvider>(c);
    api::RegisterOidcApi(http_, *provider_, *auth_);
  }
  http::Request Get(const std::string& path, const std::string& query, const std::string& cookie = "") {
    http::Request req;
    req.method = "GET";
    req.path = path;
    req.target = path + (query.empty() ? "" : "?" + query);
    static const std::regex kPair("([^&=]+)=([^&]*)");
    for (std::sregex_iterator it(query.begin(), query.end(), kPair), end; it != end; ++it) {
      req.query.insert({http::UrlDecode((*it)[1].str(), true), http::UrlDecode((*it)[2].str(), true)});
    }
    req.headers["host"] = host_;
    if (!cookie.empty()) req.headers["cookie"] = cookie;
    req.remote_address = "127.0.0.1";
    return req;
  }
  // /auth/oidc/login → the provider's forms → the callback URL the provider sends back.
  struct Started {
    std::string state_cookie, callback_url;
  };
  Started SignInAtProvider(const std::string& account, const std::string& next = "/worklist") {
    http::Response login = http_.Dispatch(Get("/auth/oidc/login", "next=" + UrlEncode(next)));
    EXPECT_EQ(login.status, 302);
    std::string cookie = Header(login, "Set-Cookie");
    cookie = cookie.substr(0, cookie.find(';'));
    Browser browser;
    return {cookie, browser.RunUntil(Header(login, "Location"), callback_, account)};
  }
  http::Response Callback(const Started& s, const std::string& cookie_override = "\x01") {
    std::string query = s.callback_url.substr(s.callback_url.find('?') + 1);
    return http_.Dispatch(
        Get("/auth/oidc/callback", query, cookie_override == "\x01" ? s.state_cookie : cookie_override));
  }

  fs::path dir_;
  std::string host_, callback_;
  testing::TestProvider idp_;
  std::unique_ptr<security::AuthService> auth_;
  std::unique_ptr<OidcProvider> provider_;
  http::HttpServer http_;
};

TEST_F(OidcLoginTest, AuthorizationRequestCarriesPkceStateNonce) {
  StartAll();
  http::Response r = http_.Dispatch(Get("/auth/oidc/login", "next=%2Fworklist"));
  ASSERT_EQ(r.status, 302);
  std::string url = Header(r, "Location");
  EXPECT_EQ(url.rfind(idp_.issuer() + "/auth?", 0), 0u) << url;
  EXPECT_EQ(Param(url, "response_type"), "code");
  EXPECT_EQ(Param(url, "client_id"), "radflow");
  EXPECT_EQ(Param(url, "redirect_uri"), callback_);
  EXPECT_EQ(Param(url, "scope"), "openid profile roles");
  EXPECT_EQ(Param(url, "code_challenge_method"), "S256");
  EXPECT_EQ(Param(url, "code_challenge").size(), 43u);
  EXPECT_EQ(Param(url, "state").size(), 43u);
  EXPECT_EQ(Param(url, "nonce").size(), 43u);
  EXPECT_NE(Param(url, "state"), Param(url, "nonce"));
  std::string cookie = Header(r, "Set-Cookie");
  EXPECT_EQ(cookie.rfind(std::string(api::kOidcStateCookie) + "=" + Param(url, "state") + ";", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Lax"), std::string::npos);
  // A second sign-in gets fresh values.
  http::Response again = http_.Dispatch(Get("/auth/oidc/login", ""));
  EXPECT_NE(Param(Header(again, "Location"), "state"), Param(url, "state"));
  EXPECT_NE(Param(Header(again, "Location"), "code_challenge"), Param(url, "code_challenge"));
}

TEST_F(OidcLoginTest, CodeFlowCreatesASessionWithTheAccountsRole) {
  StartAll();
  Started s = SignInAtProvider("rad1");
  ASSERT_EQ(s.callback_url.rfind(callback_, 0), 0u) << s.callback_url;
  ASSERT_FALSE(Param(s.callback_url, "code").empty());
  http::Response done = Callback(s);
  ASSERT_EQ(done.status, 200) << Header(done, "Location") << done.body;
  EXPECT_NE(done.body.find("url=/worklist"), std::string::npos) << done.body;
  std::string set_cookie = Header(done, "Set-Cookie");
  ASSERT_EQ(set_cookie.rfind(std::string(security::kSessionCookie) + "=", 0), 0u) << set_cookie;
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  http::Request me;
  me.method = "GET";
  me.path = "/api/v1/auth/me";
  me.headers["cookie"] = set_cookie.substr(0, set_cookie.find(';'));
  auto id = auth_->Authenticate(me);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->user, "rad1");
  EXPECT_EQ(id->role, "radiologist");
  EXPECT_EQ(id->method, "oidc-session");
  // The state is single use: the same callback again is refused.
  http::Response replay = Callback(s);
  EXPECT_EQ(replay.status, 302);
  EXPECT_EQ(Header(replay, "Location"), "/login?error=unknown%20or%20expired%20sign-in%20state");
}

TEST_F(OidcLoginTest, WrongStateAndForeignBrowserAreRefused) {
  StartAll();
  Started s = SignInAtProvider("rad1");
  ASSERT_EQ(s.callback_url.rfind(callback_, 0), 0u) << s.callback_url;
  // The callback reached by a browser that did not start this sign-in (login CSRF).
  http::Response foreign = Callback(s, std::string(api::kOidcStateCookie) + "=someone-elses");
  EXPECT_EQ(Header(foreign, "Location"), "/login?error=sign-in%20state%20does%20not%20match%20this%20browser");
  // A wrong state, consistently in both the query and the cookie: unknown.
  Started forged = s;
  std::string state = Param(s.callback_url, "state");
  forged.callback_url = std::regex_replace(s.callback_url, std::regex("state=[^&]*"), "state=forged");
  forged.state_cookie = std::string(api::kOidcStateCookie) + "=forged";
  http::Response wrong = Callback(forged);
  EXPECT_EQ(wrong.status, 302);
  EXPECT_EQ(Header(wrong, "Location"), "/login?error=unknown%20or%20expired%20sign-in%20state");
  EXPECT_EQ(Header(Callback(s, std::string(api::kOidcStateCookie) + "="), "Location"),
            "/login?error=sign-in%20state%20does%20not%20match%20this%20browser");
  // The real one still works afterwards (refusals did not consume it).
  EXPECT_EQ(Callback(s).status, 200);
  // No parameters at all; a provider "error" without this browser's state shows no text of
  // the link's making.
  EXPECT_EQ(Header(http_.Dispatch(Get("/auth/oidc/callback", "")), "Location"),
            "/login?error=sign-in%20state%20missing");
  EXPECT_EQ(
      Header(http_.Dispatch(Get("/auth/oidc/callback", "error=access_denied&error_description=call%20us")), "Location"),
      "/login?error=sign-in%20state%20missing");
  (void)state;
}

TEST_F(OidcLoginTest, CancelAtTheProviderShowsItsReason) {
  StartAll();
  Started s = SignInAtProvider("");  // "[ Cancel ]" on the provider's login page
  ASSERT_EQ(s.callback_url.rfind(callback_, 0), 0u) << s.callback_url;
  EXPECT_EQ(Param(s.callback_url, "error"), "access_denied");
  http::Response r = Callback(s);
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(Header(r, "Location"), "/login?error=identity%20provider%3A%20End-User%20aborted%20interaction");
  // The abandoned state cannot be used afterwards.
  EXPECT_EQ(Header(Callback(s), "Location"), "/login?error=unknown%20or%20expired%20sign-in%20state");
}

TEST_F(OidcLoginTest, ResponseFromAnotherIssuerIsRefused) {
  StartAll();
  Started s = SignInAtProvider("rad1");
  ASSERT_EQ(Param(s.callback_url, "iss"), idp_.issuer());  // RFC 9207, sent by this provider
  s.callback_url = std::regex_replace(s.callback_url, std::regex("iss=[^&]*"), "iss=https%3A%2F%2Fevil.example");
  EXPECT_EQ(Header(Callback(s), "Location"), "/login?error=authorization%20response%20from%20another%20issuer");
}

TEST_F(OidcLoginTest, AccountWithoutRoleIsRefused) {
  StartAll();
  Started s = SignInAtProvider("norole");
  http::Response r = Callback(s);
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(Header(r, "Location"), "/login?error=no%20radflow%20role%20in%20claim%20roles");
}

TEST_F(OidcLoginTest, RoleFromTheIdTokenAndFirstKnownRoleWins) {
  StartAll({"--id-token-claims"});
  Started s = SignInAtProvider("multi1", "//evil.example/x");
  http::Response r = Callback(s);
  ASSERT_EQ(r.status, 200) << Header(r, "Location");
  EXPECT_NE(r.body.find("url=/\""), std::string::npos) << r.body;  // next reduced to "/"
  std::string set_cookie = Header(r, "Set-Cookie");
  http::Request me;
  me.headers["cookie"] = set_cookie.substr(0, set_cookie.find(';'));
  auto id = auth_->Authenticate(me);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->user, "multi1");
  EXPECT_EQ(id->role, "technologist");
}

TEST(OidcNext, OnlySameSiteRelativePaths) {
  EXPECT_EQ(SafeNextPath("/worklist?x=1"), "/worklist?x=1");
  EXPECT_EQ(SafeNextPath(""), "/");
  EXPECT_EQ(SafeNextPath("https://evil.example/"), "/");
  EXPECT_EQ(SafeNextPath("//evil.example/"), "/");
  EXPECT_EQ(SafeNextPath("/\\evil.example/"), "/");
  EXPECT_EQ(SafeNextPath("/a\\b"), "/");
  EXPECT_EQ(SafeNextPath("/a\r\nSet-Cookie: x"), "/");
  EXPECT_EQ(SafeNextPath("worklist"), "/");
}

TEST(OidcPkce, S256OfRfc7636AppendixB) {
  // RFC 7636 Appendix B's example verifier and challenge.
  EXPECT_EQ(S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  EXPECT_EQ(RandomToken().size(), 43u);
  EXPECT_NE(RandomToken(), RandomToken());
}

TEST(OidcOff, RoutesRedirectWhenNotConfigured) {
  OidcProvider off(OidcConfig{});
  http::HttpServer http;
  auto dir = fs::temp_directory_path() / ("radflow-oidc-off-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string db = (dir / "index.db").string();
  ASSERT_TRUE(storage::Index::Open(db).ok());
  security::AuthOptions options;
  options.db_path = db;
  auto auth = security::AuthService::Open(options);
  ASSERT_TRUE(auth.ok());
  api::RegisterOidcApi(http, off, **auth);
  http::Request req;
  req.method = "GET";
  req.path = "/auth/oidc/login";
  http::Response r = http.Dispatch(req);
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(Header(r, "Location"), "/login?error=single%20sign-on%20is%20not%20configured");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace radflow::oidc
