#include "oidc/jwks.h"

#include <cjose/jwk.h>

#include <nlohmann/json.hpp>

namespace radflow::oidc {

bool IsAcceptedAlgorithm(std::string_view alg) { return alg == "RS256" || alg == "PS256" || alg == "ES256"; }

bool Jwk::Permits(std::string_view alg) const {
  if (!IsAcceptedAlgorithm(alg)) return false;
  if (!alg_.empty() && alg_ != alg) return false;
  if (alg == "ES256") return kty_ == "EC" && crv_ == "P-256";
  return kty_ == "RSA";
}

Result<Jwks> Jwks::Parse(std::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return Status(ErrorCode::kInvalidArgument, "JWKS is not a JWK Set (no \"keys\" array)");
  }
  Jwks set;
  for (const auto& entry : doc["keys"]) {
    if (!entry.is_object()) continue;
    auto str = [&](const char* name) {
      auto it = entry.find(name);
      return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::string use = str("use");
    std::string kty = str("kty");
    if (!use.empty() && use != "sig") continue;  // an encryption key (RFC 7517 4.2)
    if (kty != "RSA" && kty != "EC") continue;
    // Import only the public members: a JWKS that (wrongly) carries private parts must not
    // turn radflow into a holder of the provider's private key.
    nlohmann::json pub = {{"kty", kty}};
    for (const char* member :
         kty == "RSA" ? std::vector<const char*>{"n", "e"} : std::vector<const char*>{"crv", "x", "y"}) {
      if (entry.contains(member)) pub[member] = entry[member];
    }
    std::string text = pub.dump();
    cjose_err err;
    cjose_jwk_t* jwk = cjose_jwk_import(text.data(), text.size(), &err);
    if (!jwk) continue;  // a malformed key is skipped; the others still work
    Jwk key;
    key.handle_ = std::shared_ptr<void>(jwk, [](void* p) { cjose_jwk_release(static_cast<cjose_jwk_t*>(p)); });
    key.kid_ = str("kid");
    key.kty_ = kty;
    key.alg_ = str("alg");
    key.crv_ = str("crv");
    set.keys_.push_back(std::move(key));
  }
  if (set.keys_.empty()) {
    return Status(ErrorCode::kInvalidArgument, "JWKS has no RSA or EC signature key");
  }
  return set;
}

const Jwk* Jwks::Find(std::string_view kid, std::string_view alg) const {
  if (!kid.empty()) {
    for (const auto& k : keys_) {
      if (k.kid() == kid) return &k;
    }
    return nullptr;
  }
  const Jwk* only = nullptr;
  for (const auto& k : keys_) {
    if (!k.Permits(alg)) continue;
    if (only) return nullptr;  // ambiguous without a kid
    only = &k;
  }
  return only;
}

}  // namespace radflow::oidc
