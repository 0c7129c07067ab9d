// JSON Web Keys (RFC 7517) of an OpenID provider, imported with libcjose. cjose types stay in
// jwks.cpp and jwt.cpp.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace radflow::oidc {

// One public signature key of a JWK Set.
class Jwk {
 public:
  const std::string& kid() const { return kid_; }
  const std::string& kty() const { return kty_; }  // "RSA" | "EC"
  const std::string& alg() const { return alg_; }  // "" when the key does not name one
  const std::string& crv() const { return crv_; }  // EC only
  // Whether the key may verify a JWS signed with `alg` (RFC 7518 3.1): RS256/PS256 need an
  // RSA key, ES256 an EC P-256 key, and a key that names its own "alg" accepts only that one.
  bool Permits(std::string_view alg) const;
  // The cjose_jwk_t* (opaque outside the module's .cpp files).
  const void* handle() const { return handle_.get(); }

 private:
  friend class Jwks;
  std::string kid_, kty_, alg_, crv_;
  std::shared_ptr<void> handle_;
};

class Jwks {
 public:
  // Parses a JWK Set (RFC 7517 5). Keys with "use" other than "sig", symmetric ("oct") keys
  // and keys of a type radflow does not verify with are left out; a set with no usable key
  // is an error, as is a document that is not a JWK Set.
  static Result<Jwks> Parse(std::string_view json);

  const std::vector<Jwk>& keys() const { return keys_; }
  // The key with this "kid"; with an empty kid, the only key that permits `alg` (nullptr
  // when there is none or more than one).
  const Jwk* Find(std::string_view kid, std::string_view alg) const;

 private:
  std::vector<Jwk> keys_;
};

// The algorithms radflow accepts for JWS signatures: RS256, PS256 and ES256 (never "none" or
// a symmetric HS* algorithm: the provider's keys are public).
bool IsAcceptedAlgorithm(std::string_view alg);

}  // namespace radflow::oidc
