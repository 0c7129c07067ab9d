#include "oidc/login_flow.h"

#include <algorithm>
#include <stdexcept>

#include "crypto/crypto.h"
#include "oidc/http_client.h"
#include "security/password.h"

namespace radflow::oidc {
namespace {

Status Unauthenticated(std::string reason) { return Status(ErrorCode::kUnauthenticated, std::move(reason)); }

std::string Str(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The first segment of the role claim path is what a provider would call the scope.
std::string RoleScope(const std::string& claim) { return claim.substr(0, claim.find('.')); }

}  // namespace

std::string RandomToken() {
  auto token = security::RandomToken();
  if (!token.ok()) throw std::runtime_error(token.status().message());
  return std::move(token.value());
}

std::string S256Challenge(const std::string& verifier) {
  return crypto::Base64Url(crypto::AsBytes(crypto::Sha256(verifier)));
}

std::string SafeNextPath(const std::string& next) {
  if (next.empty() || next[0] != '/') return "/";
  if (next.size() > 1 && (next[1] == '/' || next[1] == '\\')) return "/";  // //evil.example
  for (unsigned char c : next) {
    if (c < 0x20 || c == 0x7f || c == '\\') return "/";
  }
  return next;
}

LoginFlow::LoginFlow(OidcProvider& provider, double state_ttl_s, size_t max_pending)
    : provider_(provider), ttl_s_(state_ttl_s), max_pending_(max_pending) {}

std::string LoginFlow::ScopeFor(const ProviderMetadata& m) const {
  std::string scope = "openid profile";
  std::string role_scope = RoleScope(provider_.config().role_claim);
  if (std::find(m.scopes_supported.begin(), m.scopes_supported.end(), role_scope) != m.scopes_supported.end()) {
    scope += " " + role_scope;
  }
  return scope;
}

void LoginFlow::ExpireLocked(double now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = now - it->second.created > ttl_s_ ? pending_.erase(it) : std::next(it);
  }
  while (pending_.size() >= max_pending_) {
    auto oldest = std::min_element(pending_.begin(), pending_.end(),
                                   [](const auto& a, const auto& b) { return a.second.created < b.second.created; });
    pending_.erase(oldest);
  }
}

Result<LoginStart> LoginFlow::Begin(const std::string& redirect_uri, const std::string& next) {
  auto m = provider_.Metadata();
  if (!m.ok()) return m.status();
  if (m->authorization_endpoint.empty() || m->token_endpoint.empty()) {
    return Status(ErrorCode::kUnavailable, "OpenID provider has no authorization or token endpoint");
  }
  Pending p;
  p.nonce = RandomToken();
  p.verifier = RandomToken();  // 43 characters of [A-Za-z0-9-_] (RFC 7636 4.1)
  p.next = SafeNextPath(next);
  p.redirect_uri = redirect_uri;
  p.created = provider_.Now();
  std::string state = RandomToken();
  const OidcConfig& c = provider_.config();
  std::string url = m->authorization_endpoint;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += FormEncode({{"response_type", "code"},
                     {"client_id", c.client_id},
                     {"redirect_uri", redirect_uri},
                     {"scope", ScopeFor(*m)},
                     {"state", state},
                     {"nonce", p.nonce},
                     {"code_challenge", S256Challenge(p.verifier)},
                     {"code_challenge_method", "S256"}});
  {
    std::lock_guard lock(mu_);
    ExpireLocked(p.created);
    pending_[state] = std::move(p);
  }
  return LoginStart{url, state};
}

bool LoginFlow::Abandon(const std::string& state) {
  std::lock_guard lock(mu_);
  ExpireLocked(provider_.Now());
  return pending_.erase(state) > 0;
}

Result<LoginResult> LoginFlow::Complete(const std::string& state, const std::string& code) {
  Pending p;
  {
    std::lock_guard lock(mu_);
    ExpireLocked(provider_.Now());
    auto it = pending_.find(state);
    if (state.empty() || it == pending_.end()) {
      return Unauthenticated("unknown or expired sign-in state");
    }
    p = std::move(it->second);
    pending_.erase(it);  // single use, also when what follows fails
  }
  if (code.empty()) return Unauthenticated("no authorization code");
  auto m = provider_.Metadata();
  if (!m.ok()) return m.status();
  const OidcConfig& c = provider_.config();
  // RFC 6749 4.1.3 + RFC 7636 4.5; client authentication client_secret_basic (RFC 6749
  // 2.3.1: id and secret form-urlencoded before Basic) or, for a public client, client_id.
  HttpCall call;
  call.method = "POST";
  call.url = m->token_endpoint;
  call.timeout_ms = c.http_timeout_ms;
  call.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
  std::vector<std::pair<std::string, std::string>> form = {{"grant_type", "authorization_code"},
                                                           {"code", code},
                                                           {"redirect_uri", p.redirect_uri},
                                                           {"code_verifier", p.verifier}};
  if (c.client_secret.empty()) {
    form.push_back({"client_id", c.client_id});
  } else {
    call.basic_user = UrlEncode(c.client_id);
    call.basic_password = UrlEncode(c.client_secret);
  }
  call.body = FormEncode(form);
  auto r = Fetch(call);
  if (!r.ok()) return r.status();
  nlohmann::json tokens = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (r->status != 200 || !tokens.is_object()) {
    std::string why = tokens.is_object() ? Str(tokens, "error_description") : "";
    if (why.empty() && tokens.is_object()) why = Str(tokens, "error");
    return Unauthenticated("token endpoint refused the code (HTTP " + std::to_string(r->status) +
                           (why.empty() ? "" : ": " + why) + ")");
  }
  std::string id_token = Str(tokens, "id_token");
  if (id_token.empty()) return Unauthenticated("token endpoint returned no id_token");
  auto claims = provider_.VerifyIdToken(id_token, p.nonce);
  if (!claims.ok()) return claims.status();
  nlohmann::json merged = *claims;
  // The role claim (and the user name) may come only from userinfo (OIDC Core 5.4: the
  // profile and custom scopes' claims are returned there when an access token is issued).
  const std::string top = RoleScope(c.role_claim);
  std::string access_token = Str(tokens, "access_token");
  if (!merged.contains(top) && !m->userinfo_endpoint.empty() && !access_token.empty()) {
    HttpCall ui;
    ui.url = m->userinfo_endpoint;
    ui.timeout_ms = c.http_timeout_ms;
    ui.headers = {"Authorization: Bearer " + access_token, "Accept: application/json"};
    auto u = Fetch(ui);
    if (!u.ok()) return u.status();
    nlohmann::json info = nlohmann::json::parse(u->body, nullptr, /*allow_exceptions=*/false);
    if (u->status != 200 || !info.is_object()) {
      return Unauthenticated("userinfo endpoint answered HTTP " + std::to_string(u->status));
    }
    // OIDC Core 5.3.2: the userinfo sub must equal the ID token's.
    if (Str(info, "sub") != Str(merged, "sub")) return Unauthenticated("userinfo sub mismatch");
    for (auto it = info.begin(); it != info.end(); ++it) {
      if (!merged.contains(it.key())) merged[it.key()] = it.value();
    }
  }
  // The ID token's client_id-free identity: never the client's own name.
  merged.erase("client_id");
  auto identity = provider_.IdentityFromClaims(merged, "oidc-session");
  if (!identity.ok()) return identity.status();
  return LoginResult{std::move(identity).value(), p.next, Str(merged, "name")};
}

}  // namespace radflow::oidc
