// The sign-in REST routes (api/auth_api.h) through HttpServer::Dispatch, with the identity
// set by hand as the guard would: response shapes, cookies, status codes and the checks the
// route table cannot express (loopback set-up, token owners).
#include "api/auth_api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../test_data.h"
#include "storage/index.h"

namespace radflow::api {
namespace {

using nlohmann::json;
const std::string kPassword = "a long enough password";

class AuthApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string db = dir_.str() + "/index.db";
    ASSERT_TRUE(storage::Index::Open(db).ok());
    security::AuthOptions o;
    o.db_path = db;
    o.clock = [this] { return now_.load(); };
    auto a = security::AuthService::Open(std::move(o));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    auth_ = std::move(a.value());
    app_dir_ = dir_.str() + "/app";
    RegisterAuthApi(http_, *auth_, app_dir_, {true, "/auth/oidc/login"});
  }

  http::Response Call(const std::string& method, const std::string& path, const std::string& body = "",
                      const http::Identity& who = {}, const std::string& remote = "10.0.0.7") {
    http::Request r;
    r.method = method;
    r.path = r.target = path;
    r.body = body;
    r.remote_address = remote;
    r.identity = who;
    r.headers["host"] = "radflow.example:8042";
    for (const auto& [k, v] : extra_headers_) r.headers[k] = v;
    return http_.Dispatch(r);
  }
  static json Body(const http::Response& r) { return json::parse(r.body); }
  static std::string Header(const http::Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  void AddUser(const std::string& name, const std::string& role) {
    security::NewUser n;
    n.name = name;
    n.role = role;
    n.password = kPassword;
    ASSERT_TRUE(auth_->AddUser(n, {}).ok());
  }

  radflow::testing::ScratchDir dir_;
  std::atomic<int64_t> now_{1'800'000'000'000};
  std::unique_ptr<security::AuthService> auth_;
  http::HttpServer http_;
  std::string app_dir_;
  std::map<std::string, std::string> extra_headers_;
  const http::Identity admin_{"admin", "administrator", "session", ""};
  const http::Identity rad_{"rad", "radiologist", "token", ""};
};

TEST_F(AuthApiTest, ConfigReportsSetupAndOidc) {
  auto r = Call("GET", "/api/v1/auth/config");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), json::parse(R"({"local":true,"oidc":{"enabled":true,"login_url":"/auth/oidc/login"},"setup_required":true})"));
  AddUser("admin", "administrator");
  EXPECT_EQ(Body(Call("GET", "/api/v1/auth/config"))["setup_required"], false);
}

TEST_F(AuthApiTest, LoginPageNeedsTheBuiltApp) {
  auto missing = Call("GET", "/login");
  EXPECT_EQ(missing.status, 503);
  EXPECT_NE(missing.body.find("not built"), std::string::npos);
  std::filesystem::create_directories(app_dir_);
  std::ofstream(app_dir_ + "/login.html") << "<html>sign in</html>";
  for (const char* page : {"/login", "/setup"}) {
    auto r = Call("GET", page);
    EXPECT_EQ(r.status, 200) << page;
    EXPECT_EQ(r.body, "<html>sign in</html>");
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  }
}

TEST_F(AuthApiTest, LoginSetsTheSessionCookie) {
  AddUser("rad", "radiologist");
  auto r = Call("POST", "/api/v1/auth/login", R"({"username":"rad","password":")" + kPassword + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::parse(R"({"user":"rad","role":"radiologist","display_name":""})"));
  const std::string cookie = Header(r, "Set-Cookie");
  EXPECT_EQ(cookie.rfind("radflow_session=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("; Path=/"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);  // plain http

  http::Request tls;
  tls.method = "POST";
  tls.path = "/api/v1/auth/login";
  tls.secure = true;
  tls.body = R"({"username":"rad","password":")" + kPassword + R"("})";
  auto secure = http_.Dispatch(tls);
  ASSERT_EQ(secure.status, 200);
  EXPECT_NE(Header(secure, "Set-Cookie").find("; Secure"), std::string::npos);

  // The cookie authenticates.
  const std::string value = cookie.substr(16, cookie.find(';') - 16);
  http::Request next;
  next.headers["cookie"] = "radflow_session=" + value;
  auto id = auth_->Authenticate(next);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->user, "rad");
}

TEST_F(AuthApiTest, LoginErrors) {
  AddUser("rad", "radiologist");
  auto wrong = Call("POST", "/api/v1/auth/login", R"({"username":"rad","password":"nope nope nope"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Body(wrong)["error"], "invalid user name or password");
  EXPECT_EQ(Header(wrong, "Set-Cookie"), "");
  EXPECT_EQ(Call("POST", "/api/v1/auth/login", "not json").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/auth/login", "[1]").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/auth/login", R"({"username":"rad"})").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/auth/login", R"({"username":1,"password":"x"})").status, 400);
}

TEST_F(AuthApiTest, LockedAccountAnswers429WithRetryAfter) {
  AddUser("rad", "radiologist");
  const std::string bad = R"({"username":"rad","password":"nope nope nope"})";
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Call("POST", "/api/v1/auth/login", bad).status, 401) << i;
  auto locked = Call("POST", "/api/v1/auth/login", bad);
  ASSERT_EQ(locked.status, 429);
  EXPECT_EQ(Header(locked, "Retry-After"), "900");
  EXPECT_EQ(Body(locked)["code"], "locked");
  EXPECT_EQ(Body(locked)["error"], "account locked until " + security::IsoTime(now_ + 15 * 60 * 1000));
  now_ += 60 * 1000;
  auto still = Call("POST", "/api/v1/auth/login", R"({"username":"rad","password":")" + kPassword + R"("})");
  EXPECT_EQ(still.status, 429);
  EXPECT_EQ(Header(still, "Retry-After"), "840");
  auto unlock = Call("POST", "/api/v1/users/rad/unlock", "", admin_);
  ASSERT_EQ(unlock.status, 200) << unlock.body;
  EXPECT_TRUE(Body(unlock)["locked_until"].is_null());
  EXPECT_EQ(Call("POST", "/api/v1/auth/login", R"({"username":"rad","password":")" + kPassword + R"("})").status, 200);
}

TEST_F(AuthApiTest, LogoutDeletesTheSession) {
  AddUser("rad", "radiologist");
  auto session = auth_->LoginLocal("rad", kPassword, "x");
  ASSERT_TRUE(session.ok());
  extra_headers_["cookie"] = "radflow_session=" + session->cookie_value;
  auto r = Call("POST", "/api/v1/auth/logout", "", {"rad", "radiologist", "session", ""});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(Header(r, "Set-Cookie"), "radflow_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  http::Request next;
  next.headers["cookie"] = "radflow_session=" + session->cookie_value;
  EXPECT_FALSE(auth_->Authenticate(next).ok());
}

TEST_F(AuthApiTest, MeReadsTheIdentity) {
  security::NewUser n;
  n.name = "ref";
  n.role = "referring";
  n.password = kPassword;
  n.display_name = "Dr Smith";
  n.referring_name = "Smith^John";
  ASSERT_TRUE(auth_->AddUser(n, {}).ok());
  auto r = Call("GET", "/api/v1/auth/me", "", {"ref", "referring", "token", "Smith^John"});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), json::parse(
                         R"({"user":"ref","role":"referring","display_name":"Dr Smith","method":"token","referring_name":"Smith^John"})"));
  EXPECT_EQ(Call("GET", "/api/v1/auth/me").status, 401);
  // An OpenID Connect session: the name it was created with.
  auto oidc = auth_->CreateExternalSession({"alice@idp", "radiologist", "", ""}, "10.1.1.1", "Alice A");
  ASSERT_TRUE(oidc.ok());
  extra_headers_["cookie"] = "radflow_session=" + oidc->cookie_value;
  auto me = Call("GET", "/api/v1/auth/me", "", {"alice@idp", "radiologist", "oidc-session", ""});
  EXPECT_EQ(Body(me)["display_name"], "Alice A");
}

TEST_F(AuthApiTest, SetupFromLoopbackOnly) {
  auto token = auth_->CreateSetupToken();
  ASSERT_TRUE(token.ok());
  const std::string body =
      R"({"token":")" + token.value() + R"(","username":"admin","password":")" + kPassword + R"(","display_name":"Admin"})";
  auto remote = Call("POST", "/api/v1/auth/setup", body, {}, "192.168.1.20");
  EXPECT_EQ(remote.status, 403);
  EXPECT_NE(Body(remote)["error"].get<std::string>().find("loopback"), std::string::npos);
  auto wrong = Call("POST", "/api/v1/auth/setup", R"({"token":"x","username":"admin","password":")" + kPassword + R"("})",
                    {}, "127.0.0.1");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(Body(wrong)["error"], "set-up token is wrong");
  auto ok = Call("POST", "/api/v1/auth/setup", body, {}, "::1");
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(Body(ok), json::parse(R"({"user":"admin","role":"administrator"})"));
  EXPECT_EQ(Header(ok, "Set-Cookie").rfind("radflow_session=", 0), 0u);
  auto used = Call("POST", "/api/v1/auth/setup", body, {}, "127.0.0.1");
  EXPECT_EQ(used.status, 403);
  EXPECT_EQ(Body(used)["error"], "set-up token was used already");
}

TEST_F(AuthApiTest, Loopback) {
  EXPECT_TRUE(IsLoopback("127.0.0.1"));
  EXPECT_TRUE(IsLoopback("127.8.9.10"));
  EXPECT_TRUE(IsLoopback("::1"));
  EXPECT_TRUE(IsLoopback("::ffff:127.0.0.1"));
  EXPECT_FALSE(IsLoopback("10.0.0.1"));
  EXPECT_FALSE(IsLoopback("::ffff:10.0.0.1"));
  EXPECT_FALSE(IsLoopback("1270.0.0.1"));
  EXPECT_FALSE(IsLoopback(""));
}

TEST_F(AuthApiTest, UserAdministration) {
  AddUser("admin", "administrator");
  EXPECT_EQ(Call("GET", "/api/v1/users", "", rad_).status, 403);
  auto add = Call("POST", "/api/v1/users",
                  R"({"name":"tech","role":"technologist","password":")" + kPassword + R"(","display_name":"T"})", admin_);
  ASSERT_EQ(add.status, 201) << add.body;
  EXPECT_EQ(Body(add)["name"], "tech");
  EXPECT_EQ(Call("POST", "/api/v1/users", R"({"name":"tech","role":"technologist","password":")" + kPassword + R"("})",
                 admin_).status,
            409);
  auto short_pw = Call("POST", "/api/v1/users", R"({"name":"x","role":"technologist","password":"short"})", admin_);
  EXPECT_EQ(short_pw.status, 400);
  EXPECT_NE(Body(short_pw)["error"].get<std::string>().find("12"), std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v1/users", R"({"name":"x","role":"boss","password":")" + kPassword + R"("})", admin_).status,
            400);

  auto list = Call("GET", "/api/v1/users", "", admin_);
  ASSERT_EQ(list.status, 200);
  auto users = Body(list)["users"];
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[1]["name"], "tech");
  for (const char* key : {"name", "role", "display_name", "referring_name", "disabled", "locked_until", "created_at",
                          "last_login"}) {
    EXPECT_TRUE(users[1].contains(key)) << key;
  }
  EXPECT_EQ(users[1].dump().find("argon2"), std::string::npos);  // never the hash

  auto change = Call("POST", "/api/v1/users/tech", R"({"role":"radiologist","disabled":true})", admin_);
  ASSERT_EQ(change.status, 200) << change.body;
  EXPECT_EQ(Body(change)["role"], "radiologist");
  EXPECT_EQ(Body(change)["disabled"], true);
  EXPECT_EQ(Call("POST", "/api/v1/users/tech", R"({"disabled":"yes"})", admin_).status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/users/nobody", R"({"disabled":true})", admin_).status, 404);
  EXPECT_EQ(Call("POST", "/api/v1/users/tech/frobnicate", "", admin_).status, 404);
  EXPECT_EQ(Call("POST", "/api/v1/users/admin", R"({"disabled":true})", admin_).status, 409);
}

TEST_F(AuthApiTest, Tokens) {
  AddUser("admin", "administrator");
  AddUser("rad", "radiologist");
  auto mine = Call("POST", "/api/v1/tokens", R"({"days":7,"label":"laptop"})", rad_);
  ASSERT_EQ(mine.status, 201) << mine.body;
  auto created = Body(mine);
  EXPECT_EQ(created["token"].get<std::string>().rfind("rf_", 0), 0u);
  EXPECT_EQ(created["expires_at"], security::IsoTime(now_ + 7LL * 24 * 3600 * 1000));
  EXPECT_EQ(Call("POST", "/api/v1/tokens", R"({"user":"admin"})", rad_).status, 403);
  auto for_rad = Call("POST", "/api/v1/tokens", R"({"user":"rad","label":"pacs"})", admin_);
  ASSERT_EQ(for_rad.status, 201);
  auto admin_own = Call("POST", "/api/v1/tokens", "{}", admin_);
  ASSERT_EQ(admin_own.status, 201);
  EXPECT_EQ(Call("POST", "/api/v1/tokens", R"({"days":"x"})", rad_).status, 400);

  auto rad_list = Body(Call("GET", "/api/v1/tokens", "", rad_))["tokens"];
  EXPECT_EQ(rad_list.size(), 2u);
  for (const auto& t : rad_list) {
    EXPECT_EQ(t["user"], "rad");
    for (const char* key : {"id", "user", "label", "created_at", "expires_at", "last_used", "revoked"}) {
      EXPECT_TRUE(t.contains(key)) << key;
    }
    EXPECT_FALSE(t.contains("token"));
  }
  EXPECT_EQ(Body(Call("GET", "/api/v1/tokens", "", admin_))["tokens"].size(), 3u);

  const std::string admin_id = std::to_string(Body(admin_own)["id"].get<int64_t>());
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/" + admin_id, "", rad_).status, 404);  // not theirs
  const std::string own_id = std::to_string(created["id"].get<int64_t>());
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/" + own_id, "", rad_).status, 204);
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/" + admin_id, "", admin_).status, 204);
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/abc", "", admin_).status, 400);
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/999", "", admin_).status, 404);

  http::Request use;
  use.headers["authorization"] = "Bearer " + created["token"].get<std::string>();
  auto id = auth_->Authenticate(use);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().message(), "token revoked");
  auto after = Body(Call("GET", "/api/v1/tokens", "", rad_))["tokens"];
  int revoked = 0;
  for (const auto& t : after) revoked += t["revoked"].get<bool>() ? 1 : 0;
  EXPECT_EQ(revoked, 1);
}

}  // namespace
}  // namespace radflow::api
