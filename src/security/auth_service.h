// AuthService: local accounts (Argon2id), sessions, API tokens, lock-out and the first-run
// set-up token (docs/authentication.md). Owner: H1.
//
// Credentials are checked in one order (Authenticate): an `Authorization: Bearer rf_…` API
// token, then a bearer JWT (the OIDC verifier), then the `radflow_session` cookie. Secrets
// are never stored: tokens and session ids as SHA-256, passwords as Argon2id. State lives
// in the index database (storage::SecurityStore), so `radflow user …` and `radflow token …`
// change it while a server runs; only the set-up token is kept in memory. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_event.h"
#include "base/status.h"
#include "http/http_server.h"

namespace radflow::storage {
class SecurityStore;
}

namespace radflow::security {

inline constexpr const char* kSessionCookie = "radflow_session";
inline constexpr const char* kTokenPrefix = "rf_";
inline constexpr size_t kMinPasswordLength = 12;  // characters (UTF-8 code points)

struct AuthOptions {
  std::string db_path;  // DATA/index.db, migrated by storage::Index
  int lockout_failures = 5;
  int lockout_minutes = 15;        // both the failure window and the lock's length
  int session_idle_minutes = 480;  // 8 h
  int session_max_hours = 24;      // absolute
  int setup_token_minutes = 15;
  // Verifies a bearer JWT (OIDC, H2); null: JWTs are refused.
  std::function<Result<http::Identity>(const std::string& jwt)> bearer_verifier;
  audit::AuditSink audit;  // security events; may be null
  std::function<int64_t()> clock;  // unix ms; null: the system clock (tests inject one)
};

// Who performs a management operation, for the audit trail.
struct Actor {
  std::string user, role, source;
  std::string interface = "http";  // http | cli
};

struct UserInfo {
  std::string name, role, display_name, referring_name;
  bool disabled = false;
  bool has_password = false;
  int64_t locked_until = 0;  // unix ms; 0 or past: not locked
  int64_t created_at = 0, last_login = 0;
};

struct NewUser {
  std::string name, role, password, display_name, referring_name;
  bool no_password = false;  // an account that signs in with tokens only (scripts, AI workers)
};

struct UserChange {
  std::optional<std::string> role, password, display_name, referring_name;
  std::optional<bool> disabled;
};

struct TokenInfo {
  int64_t id = 0;
  std::string user, label;
  int64_t created_at = 0, expires_at = 0, last_used = 0, revoked_at = 0;  // 0: never / not yet
};

struct NewToken {
  int64_t id = 0;
  std::string token;       // shown once
  int64_t expires_at = 0;  // 0: never
};

// A signed-in browser: the cookie value and who it is.
struct Session {
  std::string cookie_value;
  http::Identity identity;
  std::string display_name;
  int64_t expires_at = 0;  // absolute
};

class AuthService {
 public:
  // Opens the security tables of options.db_path (migrated by storage::Index first).
  static Result<std::unique_ptr<AuthService>> Open(AuthOptions options);
  ~AuthService();

  // kUnauthenticated (with the reason: "authentication required", "token expired",
  // "token revoked", "unknown token", "session expired", …) when the request carries no
  // valid credential. Updates a token's last_used and a session's last_seen (at most once
  // a minute each).
  Result<http::Identity> Authenticate(const http::Request& request);

  // Password sign-in. kUnauthenticated "invalid user name or password" (an unknown user
  // costs the same Argon2 time as a known one; a disabled account or one without password
  // answers the same). A locked account, or the failure that locks it:
  // kPermissionDenied "account locked until <ISO time>" with *locked_until set (unix ms).
  Result<Session> LoginLocal(const std::string& name, const std::string& password, const std::string& source,
                             int64_t* locked_until = nullptr);
  // Deletes the session of `cookie_value` (no error when it does not exist).
  Status Logout(const std::string& cookie_value, const Actor& actor);
  // A session for an identity that has no local password (OIDC browser sign-in, H2); method
  // becomes "oidc-session".
  Result<Session> CreateExternalSession(const http::Identity& identity, const std::string& source,
                                        const std::string& display_name = "");

  // --- accounts. InvalidArgument for a bad name, role or a password under 12 characters.
  Result<UserInfo> AddUser(const NewUser& user, const Actor& actor);
  Result<std::vector<UserInfo>> ListUsers();
  Result<UserInfo> GetUser(const std::string& name);  // NotFound
  // A password change or disabling ends the user's sessions.
  Result<UserInfo> UpdateUser(const std::string& name, const UserChange& change, const Actor& actor);
  Status Unlock(const std::string& name, const Actor& actor);
  Result<bool> HasUsers();
  // The display name of a local user ("" when unknown).
  std::string DisplayName(const std::string& name);
  // The display name a session was created with (an OpenID Connect session's name claim);
  // "" when unknown.
  std::string SessionDisplayName(const std::string& cookie_value);

  // --- API tokens. days 0: no expiry. NotFound for an unknown user.
  Result<NewToken> CreateToken(const std::string& user, int days, const std::string& label, const Actor& actor);
  // user "" : every token.
  Result<std::vector<TokenInfo>> ListTokens(const std::string& user);
  Result<TokenInfo> GetToken(int64_t id);  // NotFound
  Status RevokeToken(int64_t id, const Actor& actor);

  // --- first run. A new set-up token (32 random bytes, base64url) valid once for
  // setup_token_minutes; replaces an earlier one. Conflict when an account exists.
  Result<std::string> CreateSetupToken();
  // Creates the first administrator and signs them in. kPermissionDenied "set-up token is
  // wrong" | "set-up token was used already" | "set-up token expired" | "an account exists
  // already"; InvalidArgument for a bad name or password (the token stays usable).
  Result<Session> CompleteSetup(const std::string& token, const std::string& name, const std::string& password,
                                const std::string& display_name, const std::string& source);

  // The Set-Cookie value for a session: HttpOnly; SameSite=Strict; Path=/; Max-Age; Secure
  // when `secure` (a TLS request: browsers drop Secure cookies over plain http).
  std::string SessionCookieHeader(const Session& session, bool secure) const;
  // The Set-Cookie value that removes the cookie.
  static std::string ClearCookieHeader(bool secure);
  // The radflow_session cookie of a request, "" when absent.
  static std::string SessionCookieValue(const http::Request& request);

  const AuthOptions& options() const { return options_; }
  // Unix ms from options.clock (or the system clock).
  int64_t Now() const;

 private:
  explicit AuthService(AuthOptions options);
  void Audit(const std::string& event, const Actor& who, const std::string& detail,
             const std::string& failure = "") const;
  Result<http::Identity> AuthenticateToken(const std::string& token);
  Result<http::Identity> AuthenticateSession(const std::string& cookie_value);
  Result<Session> StartSession(const http::Identity& identity, const std::string& display_name,
                               const std::string& source);

  AuthOptions options_;
  std::unique_ptr<storage::SecurityStore> store_;
  std::string dummy_hash_;  // verified for unknown users (equal time)
  struct Setup;
  std::unique_ptr<Setup> setup_;
};

// Checks a sign-in name: 1–64 characters of letters, digits and . _ @ -.
Status ValidateUserName(const std::string& name);
// At least kMinPasswordLength characters, at most 1024 bytes.
Status ValidatePassword(const std::string& password);
// "2026-12-07T01:23:45Z" (UTC) for unix ms.
std::string IsoTime(int64_t unix_ms);

}  // namespace radflow::security
