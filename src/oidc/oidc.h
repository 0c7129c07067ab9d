// OpenID Connect relying party: discovery (OIDC Discovery 1.0), the provider's JWKS with key
// rotation, and verification of bearer access tokens (RFC 9068) and ID tokens (OIDC Core
// 3.1.3.7). The browser sign-in (authorization code flow with PKCE) is in login_flow.h.
// docs/oidc.md.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/http_server.h"
#include "oidc/jwks.h"

namespace radflow::oidc {

struct OidcConfig {
  std::string issuer;                // --oidc-issuer; empty: OIDC off
  std::string client_id;             // --oidc-client-id (browser sign-in; the ID token's audience)
  std::string client_secret;         // --oidc-client-secret (client_secret_basic); empty: public client
  std::string audience;              // --oidc-audience: "aud" of bearer access tokens; empty: refused
  std::string role_claim = "roles";  // --oidc-role-claim; dots walk into objects (realm_access.roles)
  double clock_skew_s = 60;          // --oidc-clock-skew
  std::string public_url;            // --public-url: base of the redirect URI
  int http_timeout_ms = 5000;
  // A token with an unknown "kid" refetches the JWKS at most once per this many seconds.
  double jwks_refetch_interval_s = 5;
  // The JWKS is refetched on use once older than this (a key removed by the provider stops
  // verifying without a restart).
  double jwks_max_age_s = 600;
  // Seconds since the epoch; default: the system clock (tests inject their own).
  std::function<double()> clock;
};

// What radflow uses from the provider's metadata (OIDC Discovery 3).
struct ProviderMetadata {
  std::string issuer, authorization_endpoint, token_endpoint, userinfo_endpoint, jwks_uri;
  std::vector<std::string> scopes_supported, code_challenge_methods_supported;
};

class OidcProvider {
 public:
  explicit OidcProvider(OidcConfig config);
  ~OidcProvider();

  const OidcConfig& config() const { return config_; }
  bool enabled() const { return !config_.issuer.empty(); }
  double Now() const;

  // Fetches the discovery document and the JWKS. A failure is returned (the caller logs a
  // warning) and retried lazily by the next call that needs them, at most once per
  // jwks_refetch_interval_s. kUnavailable: the provider cannot be reached or answered badly.
  Status Discover();
  Result<ProviderMetadata> Metadata();

  // A bearer JWT access token: signature with a key of the JWKS, iss, aud = audience, exp/nbf/
  // iat with the skew, and the role claim. Identity{user, role, method "oidc-bearer"}; errors:
  // kUnauthenticated with the reason, kPermissionDenied "no radflow role in claim <name>",
  // kUnavailable when the provider's keys cannot be fetched. Thread-safe.
  Result<http::Identity> VerifyBearer(const std::string& jwt);

  // An ID token from the token endpoint (OIDC Core 3.1.3.7): signature, iss, aud contains
  // client_id (azp = client_id when several audiences), time claims, nonce. Returns its claims.
  Result<nlohmann::json> VerifyIdToken(const std::string& jwt, const std::string& nonce);

  // User and role from claims: user = preferred_username, else client_id for a client's own
  // token (sub absent or equal to client_id), else sub; role = the first value of the role claim
  // (string or array) that names a radflow role. kPermissionDenied without one.
  Result<http::Identity> IdentityFromClaims(const nlohmann::json& claims, const std::string& method) const;

  // How many times the JWKS was fetched (diagnostics; the rate-limit test).
  int jwks_fetches() const { return jwks_fetches_.load(); }

 private:
  struct State;
  // Signature + registered claims for `audience`; returns the verified claims.
  Result<nlohmann::json> VerifyJwt(const std::string& jwt, const std::string& audience);
  // Discovery and JWKS, fetched when missing (or stale, or `refetch_keys`), rate-limited.
  Status Refresh(bool refetch_keys);
  Result<std::shared_ptr<const Jwks>> Keys();

  OidcConfig config_;
  std::mutex fetch_mu_;  // one fetch from the provider at a time
  std::mutex mu_;        // guards state_ (never held across a fetch)
  std::unique_ptr<State> state_;
  std::atomic<int> jwks_fetches_{0};
};

}  // namespace radflow::oidc
