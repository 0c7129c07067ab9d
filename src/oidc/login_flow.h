// The browser sign-in: OpenID Connect authorization code flow (OIDC Core 3.1) with PKCE
// (RFC 7636, S256). Begin() builds the authentication request and keeps its state, nonce and
// code verifier in memory; Complete() redeems the code once, verifies the ID token and reads
// the role claim from it or from the userinfo endpoint (OIDC Core 5.3). docs/oidc.md.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "base/status.h"
#include "http/http_server.h"
#include "oidc/oidc.h"

namespace radflow::oidc {

struct LoginStart {
  std::string authorization_url;  // where the browser goes (302)
  std::string state;              // also bound to the browser in a cookie by the caller
};

struct LoginResult {
  http::Identity identity;   // method "oidc-session"
  std::string next;          // the same-site path to return to
  std::string display_name;  // the "name" claim, when given
};

class LoginFlow {
 public:
  // A pending sign-in is kept for state_ttl_s and used once; at most max_pending at a time
  // (the oldest is dropped first).
  explicit LoginFlow(OidcProvider& provider, double state_ttl_s = 600, size_t max_pending = 10000);

  // OIDC Core 3.1.2.1: response_type=code, client_id, redirect_uri, scope, state, nonce,
  // code_challenge (S256 of a random verifier). `next` must already be a safe relative path.
  Result<LoginStart> Begin(const std::string& redirect_uri, const std::string& next);

  // Redeems `code` for the pending sign-in `state` (single use). kUnauthenticated naming the
  // reason: unknown or expired state, token endpoint error, ID token checks;
  // kPermissionDenied when no radflow role is found.
  Result<LoginResult> Complete(const std::string& state, const std::string& code);

  // Drops a pending sign-in (the provider reported an error for it); false when unknown.
  bool Abandon(const std::string& state);

  // The scope sent: "openid profile" plus the role claim's scope when the provider offers a
  // scope of that name (the test provider's "roles").
  std::string ScopeFor(const ProviderMetadata& m) const;

 private:
  struct Pending {
    std::string nonce, verifier, next, redirect_uri;
    double created = 0;
  };
  void ExpireLocked(double now);

  OidcProvider& provider_;
  double ttl_s_;
  size_t max_pending_;
  std::mutex mu_;
  std::map<std::string, Pending> pending_;  // by state
};

// A `next` parameter reduced to a same-site path: it must start with one "/" (no "//", no
// "/\", no scheme, no control characters); anything else becomes "/".
std::string SafeNextPath(const std::string& next);

// 32 random bytes (crypto::RandomBytes), base64url without padding.
std::string RandomToken();
// BASE64URL(SHA256(verifier)) (RFC 7636 4.2).
std::string S256Challenge(const std::string& verifier);

}  // namespace radflow::oidc
