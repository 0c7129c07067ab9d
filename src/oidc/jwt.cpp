#include "oidc/jwt.h"

#include <cjose/header.h>
#include <cjose/jws.h>

#include <cctype>

namespace radflow::oidc {
namespace {

Status Unauthenticated(std::string reason) { return Status(ErrorCode::kUnauthenticated, std::move(reason)); }

cjose_jws_t* JwsOf(const std::shared_ptr<void>& h) { return static_cast<cjose_jws_t*>(h.get()); }

}  // namespace

Result<Jws> Jws::Parse(const std::string& compact) {
  // Three base64url parts (RFC 7515 7.1); cjose checks the encoding and the header JSON.
  size_t dots = 0;
  for (char c : compact) {
    if (c == '.') {
      ++dots;
    } else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return Unauthenticated("malformed token");
    }
  }
  if (dots != 2) return Unauthenticated("malformed token");
  cjose_err err;
  cjose_jws_t* jws = cjose_jws_import(compact.data(), compact.size(), &err);
  if (!jws) return Unauthenticated("malformed token");
  Jws out;
  out.handle_ = std::shared_ptr<void>(jws, [](void* p) { cjose_jws_release(static_cast<cjose_jws_t*>(p)); });
  cjose_header_t* header = cjose_jws_get_protected(jws);
  auto get = [&](const char* name) {
    cjose_err e;
    const char* v = header ? cjose_header_get(header, name, &e) : nullptr;
    return v ? std::string(v) : std::string();
  };
  out.alg_ = get(CJOSE_HDR_ALG);
  out.kid_ = get(CJOSE_HDR_KID);
  out.typ_ = get("typ");
  if (out.alg_.empty()) return Unauthenticated("malformed token: no \"alg\" in the header");
  return out;
}

bool Jws::Verify(const Jwk& key) const {
  if (!key.Permits(alg_)) return false;
  cjose_err err;
  return cjose_jws_verify(JwsOf(handle_), static_cast<const cjose_jwk_t*>(key.handle()), &err);
}

Result<nlohmann::json> Jws::Claims() const {
  uint8_t* data = nullptr;
  size_t len = 0;
  cjose_err err;
  if (!cjose_jws_get_plaintext(JwsOf(handle_), &data, &len, &err)) {
    return Unauthenticated("malformed token: no payload");
  }
  nlohmann::json claims =
      nlohmann::json::parse(reinterpret_cast<const char*>(data), reinterpret_cast<const char*>(data) + len, nullptr,
                            /*allow_exceptions=*/false);
  if (!claims.is_object()) return Unauthenticated("malformed token: the payload is not a JSON object");
  return claims;
}

Status CheckClaims(const nlohmann::json& claims, const ClaimRules& rules) {
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || iss->get<std::string>() != rules.issuer) {
    return Unauthenticated("token issuer mismatch");
  }
  bool aud_ok = false;
  if (auto aud = claims.find("aud"); aud != claims.end()) {
    if (aud->is_string()) {
      aud_ok = aud->get<std::string>() == rules.audience;
    } else if (aud->is_array()) {
      for (const auto& a : *aud) aud_ok = aud_ok || (a.is_string() && a.get<std::string>() == rules.audience);
    }
  }
  if (rules.audience.empty() || !aud_ok) return Unauthenticated("token audience mismatch");
  auto number = [&](const char* name, double& out) {
    auto it = claims.find(name);
    if (it == claims.end()) return false;
    if (!it->is_number()) return false;
    out = it->get<double>();
    return true;
  };
  double exp = 0, nbf = 0, iat = 0;
  if (!number("exp", exp)) return Unauthenticated("token has no expiry");
  if (rules.now_s >= exp + rules.clock_skew_s) return Unauthenticated("token expired");
  if (number("nbf", nbf) && rules.now_s + rules.clock_skew_s < nbf) {
    return Unauthenticated("token not yet valid");
  }
  if (number("iat", iat) && iat > rules.now_s + rules.clock_skew_s) {
    return Unauthenticated("token issued in the future");
  }
  return Status::Ok();
}

}  // namespace radflow::oidc
