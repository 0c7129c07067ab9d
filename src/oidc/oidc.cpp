#include "oidc/oidc.h"

#include <chrono>

#include "base/log.h"
#include "oidc/http_client.h"
#include "oidc/jwt.h"
#include "security/roles.h"

namespace radflow::oidc {
namespace {

Status Unavailable(std::string what) { return Status(ErrorCode::kUnavailable, std::move(what)); }

std::string TrimSlash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string Str(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> StrList(const nlohmann::json& j, const char* name) {
  std::vector<std::string> out;
  auto it = j.find(name);
  if (it != j.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

Result<nlohmann::json> GetJson(const std::string& url, int timeout_ms) {
  HttpCall call;
  call.url = url;
  call.headers = {"Accept: application/json"};
  call.timeout_ms = timeout_ms;
  auto r = Fetch(call);
  if (!r.ok()) return r.status();
  if (r->status != 200) return Unavailable(url + ": HTTP " + std::to_string(r->status));
  nlohmann::json doc = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Unavailable(url + ": not a JSON object");
  return doc;
}

// The claim at a dotted path ("realm_access.roles"); a name with a literal dot is tried first.
const nlohmann::json* FindClaim(const nlohmann::json& claims, const std::string& path) {
  if (auto it = claims.find(path); it != claims.end()) return &*it;
  const nlohmann::json* node = &claims;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object()) return nullptr;
    auto it = node->find(part);
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
  return nullptr;
}

}  // namespace

struct OidcProvider::State {
  bool discovered = false;
  ProviderMetadata metadata;
  std::shared_ptr<const Jwks> jwks;
  double jwks_fetched_at = 0;
  double last_attempt = -1e18;  // last discovery or JWKS fetch attempt (rate limit)
};

OidcProvider::OidcProvider(OidcConfig config) : config_(std::move(config)), state_(std::make_unique<State>()) {
  const std::string& i = config_.issuer;
  if (i.rfind("http://", 0) == 0 && i.rfind("http://127.0.0.1", 0) != 0 && i.rfind("http://localhost", 0) != 0 &&
      i.rfind("http://[::1]", 0) != 0) {
    log::Warn("OIDC issuer " + i + " is plain http: its keys and tokens travel unprotected (use https)");
  }
  if (!config_.audience.empty() && config_.audience == config_.client_id) {
    log::Warn("--oidc-audience equals --oidc-client-id: an ID token would pass as a bearer token");
  }
}

OidcProvider::~OidcProvider() = default;

double OidcProvider::Now() const {
  if (config_.clock) return config_.clock();
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

Status OidcProvider::Discover() {
  std::lock_guard fetch(fetch_mu_);
  {
    std::lock_guard lock(mu_);
    state_->last_attempt = Now();
  }
  if (config_.issuer.empty()) return Status(ErrorCode::kUnsupported, "OIDC is not configured");
  // OIDC Discovery 4.1: a trailing "/" of the issuer is removed before the well-known path.
  std::string url = TrimSlash(config_.issuer) + "/.well-known/openid-configuration";
  auto doc = GetJson(url, config_.http_timeout_ms);
  if (!doc.ok()) return doc.status();
  ProviderMetadata m;
  m.issuer = Str(*doc, "issuer");
  m.authorization_endpoint = Str(*doc, "authorization_endpoint");
  m.token_endpoint = Str(*doc, "token_endpoint");
  m.userinfo_endpoint = Str(*doc, "userinfo_endpoint");
  m.jwks_uri = Str(*doc, "jwks_uri");
  m.scopes_supported = StrList(*doc, "scopes_supported");
  m.code_challenge_methods_supported = StrList(*doc, "code_challenge_methods_supported");
  // OIDC Discovery 4.3: the issuer in the document must be identical to the configured one.
  if (m.issuer != config_.issuer) {
    return Unavailable("OIDC discovery: issuer \"" + m.issuer + "\" does not equal the configured \"" + config_.issuer +
                       "\"");
  }
  if (m.jwks_uri.empty()) return Unavailable("OIDC discovery: no jwks_uri");
  ++jwks_fetches_;
  auto keys = GetJson(m.jwks_uri, config_.http_timeout_ms);
  if (!keys.ok()) return keys.status();
  auto jwks = Jwks::Parse(keys->dump());
  if (!jwks.ok()) return Unavailable(m.jwks_uri + ": " + jwks.status().message());
  std::lock_guard lock(mu_);
  state_->metadata = std::move(m);
  state_->discovered = true;
  state_->jwks = std::make_shared<const Jwks>(std::move(jwks).value());
  state_->jwks_fetched_at = Now();
  return Status::Ok();
}

Status OidcProvider::Refresh(bool refetch_keys) {
  std::string jwks_uri;
  {
    std::lock_guard lock(mu_);
    double now = Now();
    bool stale = state_->discovered && now - state_->jwks_fetched_at >= config_.jwks_max_age_s;
    if (state_->discovered && !stale && !refetch_keys) return Status::Ok();
    // Rate limit: an unknown kid (or a provider that is down) causes at most one fetch per
    // interval, so a flood of bad tokens cannot turn radflow into a load on the provider.
    if (now - state_->last_attempt < config_.jwks_refetch_interval_s) {
      return state_->discovered ? Status::Ok() : Unavailable("OpenID provider not reachable yet (retrying)");
    }
    state_->last_attempt = now;
    jwks_uri = state_->metadata.jwks_uri;
    if (!state_->discovered) jwks_uri.clear();
  }
  if (jwks_uri.empty()) {
    Status st = Discover();
    if (!st.ok()) log::Warn("OIDC: " + st.message());
    return st;
  }
  std::lock_guard fetch(fetch_mu_);
  ++jwks_fetches_;
  auto keys = GetJson(jwks_uri, config_.http_timeout_ms);
  Result<Jwks> jwks = keys.ok() ? Jwks::Parse(keys->dump()) : Result<Jwks>(keys.status());
  if (!jwks.ok()) {
    log::Warn("OIDC: JWKS refresh failed (keeping the cached keys): " + jwks.status().message());
    return Status::Ok();  // keep the keys we have
  }
  std::lock_guard lock(mu_);
  state_->jwks = std::make_shared<const Jwks>(std::move(jwks).value());
  state_->jwks_fetched_at = Now();
  return Status::Ok();
}

Result<std::shared_ptr<const Jwks>> OidcProvider::Keys() {
  RADFLOW_RETURN_IF_ERROR(Refresh(/*refetch_keys=*/false));
  std::lock_guard lock(mu_);
  if (!state_->jwks) return Unavailable("OpenID provider keys not available");
  return state_->jwks;
}

Result<ProviderMetadata> OidcProvider::Metadata() {
  RADFLOW_RETURN_IF_ERROR(Refresh(/*refetch_keys=*/false));
  std::lock_guard lock(mu_);
  return state_->metadata;
}

Result<nlohmann::json> OidcProvider::VerifyJwt(const std::string& jwt, const std::string& audience) {
  auto jws = Jws::Parse(jwt);
  if (!jws.ok()) return jws.status();
  // RFC 8725 3.1: the algorithm is one radflow accepts and fits the key (never "none", never
  // HS* with a public key as the secret).
  if (!IsAcceptedAlgorithm(jws->alg())) {
    return Status(ErrorCode::kUnauthenticated, "token algorithm " + jws->alg() + " not accepted");
  }
  auto keys = Keys();
  if (!keys.ok()) return keys.status();
  const Jwk* key = (*keys)->Find(jws->kid(), jws->alg());
  std::shared_ptr<const Jwks> refreshed;
  if (!key) {
    // Key rotation: a kid we have not seen refetches the JWKS (rate-limited).
    RADFLOW_RETURN_IF_ERROR(Refresh(/*refetch_keys=*/true));
    auto again = Keys();
    if (!again.ok()) return again.status();
    refreshed = *again;
    key = refreshed->Find(jws->kid(), jws->alg());
  }
  if (!key) return Status(ErrorCode::kUnauthenticated, "unknown signing key");
  if (!key->Permits(jws->alg())) {
    return Status(ErrorCode::kUnauthenticated, "token algorithm " + jws->alg() + " does not fit its key " + key->kid());
  }
  if (!jws->Verify(*key)) return Status(ErrorCode::kUnauthenticated, "invalid token signature");
  auto claims = jws->Claims();
  if (!claims.ok()) return claims.status();
  ClaimRules rules{config_.issuer, audience, config_.clock_skew_s, Now()};
  RADFLOW_RETURN_IF_ERROR(CheckClaims(*claims, rules));
  return claims;
}

Result<http::Identity> OidcProvider::VerifyBearer(const std::string& jwt) {
  if (config_.issuer.empty()) return Status(ErrorCode::kUnauthenticated, "OIDC is not configured");
  if (config_.audience.empty()) {
    return Status(ErrorCode::kUnauthenticated, "bearer JWTs are not accepted: no --oidc-audience configured");
  }
  auto claims = VerifyJwt(jwt, config_.audience);
  if (!claims.ok()) return claims.status();
  return IdentityFromClaims(*claims, "oidc-bearer");
}

Result<nlohmann::json> OidcProvider::VerifyIdToken(const std::string& jwt, const std::string& nonce) {
  auto claims = VerifyJwt(jwt, config_.client_id);
  if (!claims.ok()) return claims.status();
  // OIDC Core 3.1.3.7 steps 4-5: with several audiences, azp must be this client.
  auto aud = claims->find("aud");
  if (aud != claims->end() && aud->is_array() && aud->size() > 1 && Str(*claims, "azp") != config_.client_id) {
    return Status(ErrorCode::kUnauthenticated, "token audience mismatch (azp)");
  }
  // Step 11: the nonce of the authentication request.
  if (Str(*claims, "nonce") != nonce || nonce.empty()) {
    return Status(ErrorCode::kUnauthenticated, "ID token nonce mismatch");
  }
  return claims;
}

Result<http::Identity> OidcProvider::IdentityFromClaims(const nlohmann::json& claims, const std::string& method) const {
  http::Identity id;
  id.method = method;
  std::string sub = Str(claims, "sub");
  std::string client = Str(claims, "client_id");
  id.user = Str(claims, "preferred_username");
  if (id.user.empty() && !client.empty() && (sub.empty() || sub == client)) id.user = client;
  if (id.user.empty()) id.user = sub;
  if (id.user.empty()) return Status(ErrorCode::kUnauthenticated, "token names no subject");
  const nlohmann::json* roles = FindClaim(claims, config_.role_claim);
  auto take = [&](const nlohmann::json& v) {
    if (!v.is_string()) return false;
    auto role = security::ParseRole(v.get<std::string>());
    if (!role) return false;
    id.role = std::string(security::RoleName(*role));
    return true;
  };
  if (roles) {
    if (roles->is_array()) {
      for (const auto& v : *roles) {
        if (take(v)) break;
      }
    } else {
      take(*roles);
    }
  }
  if (id.role.empty()) {
    return Status(ErrorCode::kPermissionDenied, "no radflow role in claim " + config_.role_claim);
  }
  return id;
}

}  // namespace radflow::oidc
