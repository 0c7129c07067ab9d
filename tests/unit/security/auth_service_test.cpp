// security::AuthService over a real, migrated index database with an injected clock:
// API tokens (expiry, revocation, last_used), sessions (idle and absolute expiry, sign-out,
// disabled accounts), the lock-out, the first-run set-up token and the audit events.
#include "security/auth_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../test_data.h"
#include "storage/index.h"

namespace radflow::security {
namespace {

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kStart = 1'800'000'000'000;  // 2027-01-15
const std::string kPassword = "a long enough password";

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.str() + "/index.db";
    auto index = storage::Index::Open(db_);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    auth_ = OpenService();
    ASSERT_NE(auth_, nullptr);
  }

  std::unique_ptr<AuthService> OpenService(int failures = 5, int minutes = 15) {
    AuthOptions o;
    o.db_path = db_;
    o.lockout_failures = failures;
    o.lockout_minutes = minutes;
    o.clock = [this] { return now_.load(); };
    o.audit = [this](const audit::AuditEvent& e) { events_.push_back(e); };
    auto a = AuthService::Open(std::move(o));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(a.value()) : nullptr;
  }

  void AddUser(const std::string& name, const std::string& role, const std::string& referring = "") {
    NewUser n;
    n.name = name;
    n.role = role;
    n.password = kPassword;
    n.display_name = "Dr " + name;
    n.referring_name = referring;
    auto added = auth_->AddUser(n, cli_);
    ASSERT_TRUE(added.ok()) << added.status().ToString();
  }

  static http::Request Bearer(const std::string& token) {
    http::Request r;
    r.method = "GET";
    r.path = "/api/v1/studies";
    r.headers["authorization"] = "Bearer " + token;
    return r;
  }
  static http::Request Cookie(const std::string& value) {
    http::Request r;
    r.method = "GET";
    r.path = "/api/v1/studies";
    r.headers["cookie"] = "theme=dark; radflow_session=" + value + "; other=1";
    return r;
  }
  void ExpectUnauthenticated(const http::Request& r, const std::string& reason) {
    auto id = auth_->Authenticate(r);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), ErrorCode::kUnauthenticated);
    EXPECT_EQ(id.status().message(), reason);
  }
  int Count(const std::string& event) const {
    return static_cast<int>(std::count_if(events_.begin(), events_.end(),
                                          [&](const audit::AuditEvent& e) { return e.event == event; }));
  }

  radflow::testing::ScratchDir dir_;
  std::string db_;
  std::atomic<int64_t> now_{kStart};
  std::vector<audit::AuditEvent> events_;
  std::unique_ptr<AuthService> auth_;
  Actor cli_ = [] {
    Actor a;
    a.user = "os:tester";
    a.source = "localhost";
    a.interface = "cli";
    return a;
  }();
};

TEST_F(AuthServiceTest, NoCredentialAndUnknownSchemes) {
  ExpectUnauthenticated(http::Request{}, "authentication required");
  http::Request basic;
  basic.headers["authorization"] = "Basic YWxhZGRpbjpvcGVuc2VzYW1l";
  ExpectUnauthenticated(basic, "unsupported Authorization scheme (use Bearer)");
  ExpectUnauthenticated(Bearer("rf_doesnotexist"), "unknown token");
  ExpectUnauthenticated(Bearer("garbage"), "malformed bearer token (neither an rf_ API token nor a JWT)");
  ExpectUnauthenticated(Bearer("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"), "bearer JWTs need --oidc-issuer");
  ExpectUnauthenticated(Cookie("nosuchsession"), "unknown session (signed out or expired)");
}

TEST_F(AuthServiceTest, TokenLifecycle) {
  AddUser("ai", "ai-service");
  auto token = auth_->CreateToken("ai", 30, "worker", cli_);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->token.rfind("rf_", 0), 0u);
  EXPECT_EQ(token->expires_at, kStart + 30 * 24 * 60 * kMinute);

  auto id = auth_->Authenticate(Bearer(token->token));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->user, "ai");
  EXPECT_EQ(id->role, "ai-service");
  EXPECT_EQ(id->method, "token");
  // The scheme name is case-insensitive (RFC 7235 §2.1).
  http::Request lower;
  lower.headers["authorization"] = "bearer " + token->token;
  EXPECT_TRUE(auth_->Authenticate(lower).ok());

  // last_used: written on first use, then at most once a minute.
  auto listed = auth_->ListTokens("ai");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().last_used, kStart);
  EXPECT_EQ(listed->front().label, "worker");
  now_ += 30 * 1000;
  ASSERT_TRUE(auth_->Authenticate(Bearer(token->token)).ok());
  EXPECT_EQ(auth_->GetToken(token->id)->last_used, kStart);
  now_ += 31 * 1000;
  ASSERT_TRUE(auth_->Authenticate(Bearer(token->token)).ok());
  EXPECT_EQ(auth_->GetToken(token->id)->last_used, kStart + 61 * 1000);

  // The token is stored hashed: nothing in the listing carries its value.
  EXPECT_EQ(auth_->GetToken(token->id)->user, "ai");

  ASSERT_TRUE(auth_->RevokeToken(token->id, cli_).ok());
  ExpectUnauthenticated(Bearer(token->token), "token revoked");
  EXPECT_NE(auth_->GetToken(token->id)->revoked_at, 0);
  EXPECT_EQ(auth_->RevokeToken(999, cli_).code(), ErrorCode::kNotFound);
  EXPECT_EQ(Count("token-changed"), 2);
}

TEST_F(AuthServiceTest, TokenExpiry) {
  AddUser("script", "radiologist");
  auto token = auth_->CreateToken("script", 1, "", cli_);
  ASSERT_TRUE(token.ok());
  now_ = token->expires_at - 1;
  EXPECT_TRUE(auth_->Authenticate(Bearer(token->token)).ok());
  now_ = token->expires_at;
  ExpectUnauthenticated(Bearer(token->token), "token expired");

  auto forever = auth_->CreateToken("script", 0, "", cli_);
  ASSERT_TRUE(forever.ok());
  EXPECT_EQ(forever->expires_at, 0);
  now_ += 20LL * 365 * 24 * 60 * kMinute;
  EXPECT_TRUE(auth_->Authenticate(Bearer(forever->token)).ok());

  EXPECT_EQ(auth_->CreateToken("script", -1, "", cli_).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(auth_->CreateToken("script", 3651, "", cli_).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(auth_->CreateToken("nobody", 1, "", cli_).status().code(), ErrorCode::kNotFound);
}

// Another process (`radflow token revoke`, `radflow user set` while the server runs; here a
// second service on the same index.db) changes what the next request gets: every request
// reads the token or session with its account, nothing is cached.
TEST_F(AuthServiceTest, ChangesFromAnotherProcessApplyToTheNextRequest) {
  AddUser("rad", "radiologist", "DOE^JOHN");
  auto token = auth_->CreateToken("rad", 1, "", cli_);
  auto session = auth_->LoginLocal("rad", kPassword, "10.0.0.5");
  ASSERT_TRUE(token.ok() && session.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(auth_->Authenticate(Bearer(token->token)).ok());
  auto cli = OpenService();
  ASSERT_NE(cli, nullptr);

  UserChange role;
  role.role = "referring";
  role.referring_name = "ROE^JANE";
  ASSERT_TRUE(cli->UpdateUser("rad", role, cli_).ok());
  for (const auto& r : {Bearer(token->token), Cookie(session->cookie_value)}) {
    auto id = auth_->Authenticate(r);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_EQ(id->role, "referring");
    EXPECT_EQ(id->referring_name, "ROE^JANE");
  }

  ASSERT_TRUE(cli->RevokeToken(token->id, cli_).ok());
  ExpectUnauthenticated(Bearer(token->token), "token revoked");
  EXPECT_TRUE(auth_->Authenticate(Cookie(session->cookie_value)).ok());

  auto other = auth_->CreateToken("rad", 1, "", cli_);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(auth_->Authenticate(Bearer(other->token)).ok());
  UserChange off;
  off.disabled = true;
  ASSERT_TRUE(cli->UpdateUser("rad", off, cli_).ok());
  ExpectUnauthenticated(Bearer(other->token), "account disabled");
  ExpectUnauthenticated(Cookie(session->cookie_value), "unknown session (signed out or expired)");
}

TEST_F(AuthServiceTest, DisabledAccountLosesTokensAndSessions) {
  AddUser("admin", "administrator");
  AddUser("rad", "radiologist");
  auto token = auth_->CreateToken("rad", 1, "", cli_);
  auto session = auth_->LoginLocal("rad", kPassword, "10.0.0.5");
  ASSERT_TRUE(token.ok() && session.ok());
  UserChange off;
  off.disabled = true;
  ASSERT_TRUE(auth_->UpdateUser("rad", off, cli_).ok());
  ExpectUnauthenticated(Bearer(token->token), "account disabled");
  ExpectUnauthenticated(Cookie(session->cookie_value), "unknown session (signed out or expired)");
  auto again = auth_->LoginLocal("rad", kPassword, "10.0.0.5");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), "invalid user name or password");
  UserChange on;
  on.disabled = false;
  ASSERT_TRUE(auth_->UpdateUser("rad", on, cli_).ok());
  EXPECT_TRUE(auth_->Authenticate(Bearer(token->token)).ok());
}

TEST_F(AuthServiceTest, RoleChangeAppliesToOpenSessions) {
  AddUser("admin", "administrator");
  AddUser("tech", "technologist");
  auto session = auth_->LoginLocal("tech", kPassword, "10.0.0.5");
  ASSERT_TRUE(session.ok());
  UserChange promote;
  promote.role = "radiologist";
  ASSERT_TRUE(auth_->UpdateUser("tech", promote, cli_).ok());
  auto id = auth_->Authenticate(Cookie(session->cookie_value));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->role, "radiologist");
}

TEST_F(AuthServiceTest, SessionSignInAndSignOut) {
  AddUser("rad", "radiologist");
  auto session = auth_->LoginLocal("rad", kPassword, "10.0.0.5");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_EQ(session->display_name, "Dr rad");
  EXPECT_EQ(session->expires_at, kStart + 24 * 60 * kMinute);
  auto id = auth_->Authenticate(Cookie(session->cookie_value));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->user, "rad");
  EXPECT_EQ(id->method, "session");
  EXPECT_EQ(auth_->GetUser("rad")->last_login, kStart);
  ASSERT_EQ(Count("login"), 1);
  EXPECT_EQ(events_.back().source, "10.0.0.5");

  Actor who;
  who.user = "rad";
  who.role = "radiologist";
  ASSERT_TRUE(auth_->Logout(session->cookie_value, who).ok());
  ExpectUnauthenticated(Cookie(session->cookie_value), "unknown session (signed out or expired)");
  EXPECT_EQ(Count("logout"), 1);
}

TEST_F(AuthServiceTest, SessionIdleExpiry) {
  AddUser("rad", "radiologist");
  auto session = auth_->LoginLocal("rad", kPassword, "10.0.0.5");
  ASSERT_TRUE(session.ok());
  now_ += 8 * 60 * kMinute - 1;  // idle 8 h less 1 ms: still valid, and touched
  ASSERT_TRUE(auth_->Authenticate(Cookie(session->cookie_value)).ok());
  now_ += 8 * 60 * kMinute;  // idle exactly 8 h since that use
  ExpectUnauthenticated(Cookie(session->cookie_value), "session expired");
  // An expired session is deleted.
  ExpectUnauthenticated(Cookie(session->cookie_value), "unknown session (signed out or expired)");
}

TEST_F(AuthServiceTest, SessionAbsoluteExpiry) {
  AddUser("rad", "radiologist");
  auto session = auth_->LoginLocal("rad", kPassword, "10.0.0.5");
  ASSERT_TRUE(session.ok());
  for (int hour = 1; hour < 24; ++hour) {  // in use every hour
    now_ = kStart + hour * 60 * kMinute;
    ASSERT_TRUE(auth_->Authenticate(Cookie(session->cookie_value)).ok()) << hour;
  }
  now_ = kStart + 24 * 60 * kMinute;
  ExpectUnauthenticated(Cookie(session->cookie_value), "session expired");
}

TEST_F(AuthServiceTest, BearerComesBeforeTheCookie) {
  AddUser("rad", "radiologist");
  auto session = auth_->LoginLocal("rad", kPassword, "10.0.0.5");
  ASSERT_TRUE(session.ok());
  http::Request both = Cookie(session->cookie_value);
  both.headers["authorization"] = "Bearer rf_revokedorunknown";
  ExpectUnauthenticated(both, "unknown token");
}

TEST_F(AuthServiceTest, JwtGoesToTheVerifier) {
  AuthOptions o;
  o.db_path = db_;
  std::string seen;
  o.bearer_verifier = [&](const std::string& jwt) -> Result<http::Identity> {
    seen = jwt;
    if (jwt == "a.b.bad") return Status(ErrorCode::kUnauthenticated, "invalid token signature");
    return http::Identity{"svc", "ai-service", "", ""};
  };
  auto a = AuthService::Open(std::move(o));
  ASSERT_TRUE(a.ok());
  auto id = a.value()->Authenticate(Bearer("a.b.c"));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(seen, "a.b.c");
  EXPECT_EQ(id->user, "svc");
  EXPECT_EQ(id->method, "oidc-bearer");
  auto bad = a.value()->Authenticate(Bearer("a.b.bad"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "invalid token signature");
}

TEST_F(AuthServiceTest, ExternalSessionForOidcIdentity) {
  auto session = auth_->CreateExternalSession({"alice@idp", "radiologist", "oidc", ""}, "10.1.1.1", "Alice");
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto id = auth_->Authenticate(Cookie(session->cookie_value));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->user, "alice@idp");
  EXPECT_EQ(id->role, "radiologist");
  EXPECT_EQ(id->method, "oidc-session");
  EXPECT_EQ(auth_->CreateExternalSession({"bob", "superuser", "", ""}, "x").status().code(),
            ErrorCode::kPermissionDenied);
}

TEST_F(AuthServiceTest, LockOutAfterFiveFailuresForFifteenMinutes) {
  AddUser("rad", "radiologist");
  for (int i = 1; i <= 4; ++i) {
    now_ += kMinute;
    auto r = auth_->LoginLocal("rad", "wrong password!", "10.0.0.9");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated) << i;
  }
  now_ += kMinute;  // 5th failure, 4 minutes after the first
  int64_t until = 0;
  auto fifth = auth_->LoginLocal("rad", "wrong password!", "10.0.0.9", &until);
  ASSERT_FALSE(fifth.ok());
  EXPECT_EQ(fifth.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(until, now_ + 15 * kMinute);
  EXPECT_EQ(fifth.status().message(), "account locked until " + IsoTime(until));
  EXPECT_EQ(Count("locked-out"), 1);
  EXPECT_EQ(Count("login-failed"), 5);

  // Locked: even the right password is refused, without extending the lock.
  now_ = until - 1;
  int64_t still = 0;
  auto right = auth_->LoginLocal("rad", kPassword, "10.0.0.9", &still);
  ASSERT_FALSE(right.ok());
  EXPECT_EQ(right.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(still, until);
  now_ = until;
  EXPECT_TRUE(auth_->LoginLocal("rad", kPassword, "10.0.0.9").ok());
  EXPECT_EQ(auth_->GetUser("rad")->locked_until, until);  // past: not locked
}

TEST_F(AuthServiceTest, FailuresOutsideTheWindowDoNotLock) {
  AddUser("rad", "radiologist");
  for (int i = 0; i < 12; ++i) {
    now_ += 4 * kMinute;  // 4 failures per 16 minutes: never 5 within 15
    auto r = auth_->LoginLocal("rad", "wrong password!", "10.0.0.9");
    ASSERT_EQ(r.status().code(), ErrorCode::kUnauthenticated) << i;
  }
  EXPECT_EQ(Count("locked-out"), 0);
}

TEST_F(AuthServiceTest, SuccessResetsTheCountAndUnlockLiftsTheLock) {
  AddUser("rad", "radiologist");
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(auth_->LoginLocal("rad", "wrong password!", "x").ok());
  ASSERT_TRUE(auth_->LoginLocal("rad", kPassword, "x").ok());
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(auth_->LoginLocal("rad", "wrong password!", "x").status().code(), ErrorCode::kUnauthenticated);
  }
  ASSERT_EQ(auth_->LoginLocal("rad", "wrong password!", "x").status().code(), ErrorCode::kPermissionDenied);
  ASSERT_TRUE(auth_->Unlock("rad", cli_).ok());
  EXPECT_TRUE(auth_->LoginLocal("rad", kPassword, "x").ok());
  EXPECT_EQ(auth_->Unlock("nobody", cli_).code(), ErrorCode::kNotFound);
}

TEST_F(AuthServiceTest, ConfigurableLockOut) {
  auth_ = OpenService(2, 1);
  AddUser("rad", "radiologist");
  ASSERT_EQ(auth_->LoginLocal("rad", "wrong password!", "x").status().code(), ErrorCode::kUnauthenticated);
  int64_t until = 0;
  ASSERT_EQ(auth_->LoginLocal("rad", "wrong password!", "x", &until).status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(until, kStart + kMinute);
  AuthOptions zero;
  zero.db_path = db_;
  zero.lockout_failures = 0;
  EXPECT_FALSE(AuthService::Open(zero).ok());
}

TEST_F(AuthServiceTest, UnknownUserCostsTheSameArgon2Time) {
  AddUser("rad", "radiologist");
  auto time = [&](const std::string& name) {
    std::vector<double> runs;
    for (int i = 0; i < 3; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      (void)auth_->LoginLocal(name, "wrong password!", "x");
      runs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(runs.begin(), runs.end());
    return runs[1];
  };
  const double known = time("rad");
  const double unknown = time("nobody");
  // Both verify one Argon2id hash of the same parameters (~tens of ms); a missing verify
  // would make the unknown case take well under a millisecond (docs/authentication.md; these
  // bounds check that the verify happens, they are not a speed claim).
  EXPECT_GT(unknown, known * 0.5) << "known " << known << " s, unknown " << unknown << " s";
  EXPECT_GT(unknown, 0.002);
  auto r = auth_->LoginLocal("nobody", "whatever", "x");
  EXPECT_EQ(r.status().message(), "invalid user name or password");
}

TEST_F(AuthServiceTest, AccountValidation) {
  NewUser n;
  n.name = "rad";
  n.role = "radiologist";
  n.password = "short";
  auto s = auth_->AddUser(n, cli_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("at least 12 characters"), std::string::npos);
  n.password = "ünïcödé-pw1";  // 11 characters, 15 bytes
  EXPECT_EQ(auth_->AddUser(n, cli_).status().code(), ErrorCode::kInvalidArgument);
  n.password = kPassword;
  n.role = "superuser";
  EXPECT_EQ(auth_->AddUser(n, cli_).status().code(), ErrorCode::kInvalidArgument);
  n.role = "radiologist";
  n.name = "bad name";
  EXPECT_EQ(auth_->AddUser(n, cli_).status().code(), ErrorCode::kInvalidArgument);
  n.name = "rad";
  ASSERT_TRUE(auth_->AddUser(n, cli_).ok());
  auto dup = auth_->AddUser(n, cli_);
  EXPECT_EQ(dup.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(dup.status().message(), "user rad exists");
  n.name = "ref";
  n.role = "referring";
  EXPECT_EQ(auth_->AddUser(n, cli_).status().code(), ErrorCode::kInvalidArgument);
  n.referring_name = "Smith^John";
  EXPECT_TRUE(auth_->AddUser(n, cli_).ok());
  // A token-only account: no password, never signs in with one.
  NewUser svc;
  svc.name = "worker";
  svc.role = "ai-service";
  svc.no_password = true;
  ASSERT_TRUE(auth_->AddUser(svc, cli_).ok());
  EXPECT_EQ(auth_->LoginLocal("worker", "", "x").status().code(), ErrorCode::kUnauthenticated);
  EXPECT_FALSE(auth_->GetUser("worker")->has_password);
  EXPECT_EQ(Count("user-changed"), 3);
  for (const auto& e : events_) {
    if (e.event == "user-changed") {
      EXPECT_EQ(e.interface, "cli") << e.detail;
    } else if (e.event == "login-failed") {
      EXPECT_EQ(e.interface, "http") << e.detail;
    }
  }
}

TEST_F(AuthServiceTest, PasswordChangeEndsSessions) {
  AddUser("rad", "radiologist");
  auto session = auth_->LoginLocal("rad", kPassword, "x");
  ASSERT_TRUE(session.ok());
  UserChange c;
  c.password = "another long password";
  ASSERT_TRUE(auth_->UpdateUser("rad", c, cli_).ok());
  EXPECT_FALSE(auth_->Authenticate(Cookie(session->cookie_value)).ok());
  EXPECT_FALSE(auth_->LoginLocal("rad", kPassword, "x").ok());
  EXPECT_TRUE(auth_->LoginLocal("rad", "another long password", "x").ok());
  c.password = "tooshort";
  EXPECT_EQ(auth_->UpdateUser("rad", c, cli_).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(AuthServiceTest, TheLastAdministratorStays) {
  AddUser("admin", "administrator");
  UserChange off;
  off.disabled = true;
  auto r = auth_->UpdateUser("admin", off, cli_);
  EXPECT_EQ(r.status().code(), ErrorCode::kConflict);
  UserChange demote;
  demote.role = "radiologist";
  EXPECT_EQ(auth_->UpdateUser("admin", demote, cli_).status().code(), ErrorCode::kConflict);
  AddUser("admin2", "administrator");
  EXPECT_TRUE(auth_->UpdateUser("admin", off, cli_).ok());
}

TEST_F(AuthServiceTest, SetupTokenWorksOnce) {
  ASSERT_FALSE(auth_->HasUsers().value());
  auto token = auth_->CreateSetupToken();
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->size(), 43u);
  auto wrong = auth_->CompleteSetup("not-the-token", "admin", kPassword, "", "127.0.0.1");
  EXPECT_EQ(wrong.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(wrong.status().message(), "set-up token is wrong");
  // A bad password leaves the token usable.
  auto weak = auth_->CompleteSetup(token.value(), "admin", "short", "", "127.0.0.1");
  EXPECT_EQ(weak.status().code(), ErrorCode::kInvalidArgument);
  auto done = auth_->CompleteSetup(token.value(), "admin", kPassword, "The Admin", "127.0.0.1");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->identity.role, "administrator");
  EXPECT_TRUE(auth_->Authenticate(Cookie(done->cookie_value)).ok());
  EXPECT_TRUE(auth_->HasUsers().value());
  auto again = auth_->CompleteSetup(token.value(), "admin2", kPassword, "", "127.0.0.1");
  EXPECT_EQ(again.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(again.status().message(), "set-up token was used already");
  EXPECT_EQ(auth_->CreateSetupToken().status().code(), ErrorCode::kConflict);
  EXPECT_EQ(auth_->GetUser("admin")->display_name, "The Admin");
}

TEST_F(AuthServiceTest, SetupTokenExpiresAfterFifteenMinutes) {
  auto token = auth_->CreateSetupToken();
  ASSERT_TRUE(token.ok());
  now_ += 15 * kMinute;
  auto late = auth_->CompleteSetup(token.value(), "admin", kPassword, "", "127.0.0.1");
  EXPECT_EQ(late.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(late.status().message(), "set-up token expired");
  // A new token replaces the old one.
  auto fresh = auth_->CreateSetupToken();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(auth_->CompleteSetup(token.value(), "admin", kPassword, "", "127.0.0.1").status().message(),
            "set-up token is wrong");
  EXPECT_TRUE(auth_->CompleteSetup(fresh.value(), "admin", kPassword, "", "127.0.0.1").ok());
}

TEST_F(AuthServiceTest, SetupRefusedWhenAnAccountAppearedMeanwhile) {
  auto token = auth_->CreateSetupToken();
  ASSERT_TRUE(token.ok());
  AddUser("cliadmin", "administrator");  // `radflow user add` while the link was open
  auto r = auth_->CompleteSetup(token.value(), "admin", kPassword, "", "127.0.0.1");
  EXPECT_EQ(r.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), "an account exists already");
  EXPECT_FALSE(auth_->GetUser("admin").ok());
}

TEST_F(AuthServiceTest, TwoServicesShareTheDatabase) {
  // The CLI's AuthService and the server's: a token made by one works in the other.
  AddUser("rad", "radiologist");
  auto other = OpenService();
  ASSERT_NE(other, nullptr);
  auto token = other->CreateToken("rad", 1, "", cli_);
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(auth_->Authenticate(Bearer(token->token)).ok());
  ASSERT_TRUE(other->RevokeToken(token->id, cli_).ok());
  ExpectUnauthenticated(Bearer(token->token), "token revoked");
}

TEST_F(AuthServiceTest, ConcurrentFailuresAreAllCounted) {
  // Two services (the server's and another process's connections) failing at once: each
  // failure is one transaction, so exactly the tenth locks the account.
  AddUser("rad", "radiologist");
  std::atomic<int> locked_out{0};
  auto open = [&] {
    AuthOptions o;
    o.db_path = db_;
    o.lockout_failures = 10;
    o.clock = [this] { return now_.load(); };
    o.audit = [&](const audit::AuditEvent& e) { locked_out += e.event == "locked-out" ? 1 : 0; };
    auto a = AuthService::Open(std::move(o));
    EXPECT_TRUE(a.ok());
    return std::move(a.value());
  };
  auto first = open();
  auto second = open();
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    AuthService* service = i % 2 ? first.get() : second.get();
    threads.emplace_back([service] { (void)service->LoginLocal("rad", "wrong password!", "x"); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(locked_out.load(), 1);
  EXPECT_EQ(auth_->GetUser("rad")->locked_until, kStart + 15 * kMinute);
}

TEST_F(AuthServiceTest, ConcurrentAddsOfOneNameMakeOneAccount) {
  std::atomic<int> ok{0}, conflict{0};
  auto other = OpenService();
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    AuthService* service = i % 2 ? other.get() : auth_.get();
    threads.emplace_back([&, service, i] {
      NewUser n;
      n.name = "same";
      n.role = "radiologist";
      n.no_password = true;
      n.display_name = std::to_string(i);
      auto r = service->AddUser(n, Actor{});
      (r.ok() ? ok : conflict) += 1;
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), ErrorCode::kConflict) << r.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflict.load(), 5);
  EXPECT_EQ(auth_->ListUsers()->size(), 1u);
}

TEST_F(AuthServiceTest, CookieHeaders) {
  AddUser("rad", "radiologist");
  auto session = auth_->LoginLocal("rad", kPassword, "x");
  ASSERT_TRUE(session.ok());
  const std::string plain = auth_->SessionCookieHeader(session.value(), false);
  EXPECT_EQ(plain, "radflow_session=" + session->cookie_value + "; Path=/; Max-Age=86400; HttpOnly; SameSite=Strict");
  EXPECT_EQ(auth_->SessionCookieHeader(session.value(), true), plain + "; Secure");
  EXPECT_EQ(AuthService::ClearCookieHeader(false), "radflow_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
  http::Request r;
  r.headers["cookie"] = "a=1;radflow_session=abc;b=2";
  EXPECT_EQ(AuthService::SessionCookieValue(r), "abc");
  r.headers["cookie"] = "xradflow_session=abc";
  EXPECT_EQ(AuthService::SessionCookieValue(r), "");
}

}  // namespace
}  // namespace radflow::security
