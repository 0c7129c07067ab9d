// AuthService: local accounts (Argon2id), sessions, API tokens, lock-out and the first-run
// set-up token (docs/authentication.md). Owner: H1. SCAFFOLD — H1 replaces/extends.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "audit/audit_event.h"
#include "base/status.h"
#include "http/http_server.h"

namespace radflow::security {

struct AuthOptions {
  std::string db_path;  // DATA/index.db
  int lockout_failures = 5;
  int lockout_minutes = 15;
  int session_idle_minutes = 480;
  int session_max_hours = 24;
  // Verifies a bearer JWT (OIDC, H2); null: JWTs are refused.
  std::function<Result<http::Identity>(const std::string& jwt)> bearer_verifier;
  audit::AuditSink audit;  // security events
};

class AuthService {
 public:
  static Result<std::unique_ptr<AuthService>> Open(AuthOptions options);
  ~AuthService();
  // kUnauthenticated (with the reason) when the request carries no valid credential.
  Result<http::Identity> Authenticate(const http::Request& request);

 private:
  AuthService() = default;
};

}  // namespace radflow::security
