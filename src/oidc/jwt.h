// JSON Web Tokens (RFC 7519) in JWS compact serialization (RFC 7515 7.1): parsing and
// signature verification with libcjose, and the registered-claim checks.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"
#include "oidc/jwks.h"

namespace radflow::oidc {

class Jws {
 public:
  // Parses a compact JWS and its JOSE header. kUnauthenticated "malformed token" for anything
  // that is not three base64url parts with a JSON header (RFC 7515 5.2).
  static Result<Jws> Parse(const std::string& compact);

  const std::string& alg() const { return alg_; }
  const std::string& kid() const { return kid_; }
  const std::string& typ() const { return typ_; }
  // Verifies the signature with the key (cjose_jws_verify); the key must permit alg().
  bool Verify(const Jwk& key) const;
  // The payload as a JSON object (call after Verify: the payload is not trusted before).
  // kUnauthenticated when the payload is not a JSON object.
  Result<nlohmann::json> Claims() const;

 private:
  std::string alg_, kid_, typ_;
  std::shared_ptr<void> handle_;  // cjose_jws_t*
};

struct ClaimRules {
  std::string issuer;    // "iss" must equal it exactly (OIDC Core 3.1.3.7 step 2)
  std::string audience;  // "aud" (string or array) must contain it (RFC 7519 4.1.3)
  double clock_skew_s = 60;
  double now_s = 0;  // seconds since the epoch
};

// Checks iss, aud, exp (required), nbf and iat (RFC 7519 4.1.1-4.1.6) with the skew.
// kUnauthenticated: "token issuer mismatch", "token audience mismatch", "token expired",
// "token has no expiry", "token not yet valid", "token issued in the future".
Status CheckClaims(const nlohmann::json& claims, const ClaimRules& rules);

}  // namespace radflow::oidc
