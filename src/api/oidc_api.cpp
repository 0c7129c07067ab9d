#include "api/oidc_api.h"

#include <cctype>
#include <memory>

#include "base/log.h"
#include "oidc/http_client.h"
#include "oidc/login_flow.h"

namespace radflow::api {
namespace {

std::string QueryValue(const http::Request& req, const std::string& name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? std::string() : it->second;
}

std::string CookieValue(const http::Request& req, const std::string& name) {
  const std::string& header = req.Header("cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    size_t b = part.find_first_not_of(' ');
    if (b != std::string::npos) part = part.substr(b);
    if (part.compare(0, name.size() + 1, name + "=") == 0) return part.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

// The state cookie binds a pending sign-in to the browser that started it (RFC 6749 10.12:
// login CSRF). SameSite=Lax: the provider's redirect back is a cross-site top-level GET.
std::string StateCookie(const std::string& value, bool secure, int max_age) {
  return std::string(kOidcStateCookie) + "=" + value +
         "; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=" + std::to_string(max_age) + (secure ? "; Secure" : "");
}

http::Response Redirect(const std::string& location) {
  http::Response r;
  r.status = 302;
  r.body = "";
  r.headers.push_back({"Location", location});
  r.headers.push_back({"Cache-Control", "no-store"});
  return r;
}

http::Response LoginError(const std::string& text, bool secure) {
  http::Response r = Redirect("/login?error=" + oidc::UrlEncode(text));
  r.headers.push_back({"Set-Cookie", StateCookie("", secure, 0)});
  return r;
}

bool SafeHost(const std::string& host) {
  if (host.empty() || host.size() > 255) return false;
  for (unsigned char c : host) {
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']')) return false;
  }
  return true;
}

// The redirect URI registered at the provider: --public-url, else the scheme and Host of the
// request (the provider only accepts registered URIs, so a forged Host gains nothing).
std::string RedirectUri(const oidc::OidcConfig& c, const http::Request& req) {
  std::string base = c.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.empty()) {
    std::string host = req.Header("host");
    if (!SafeHost(host)) return "";
    base = std::string(req.secure ? "https" : "http") + "://" + host;
  }
  return base + "/auth/oidc/callback";
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

void RegisterOidcApi(http::HttpServer& http, oidc::OidcProvider& provider, security::AuthService& auth) {
  auto flow = std::make_shared<oidc::LoginFlow>(provider);

  http.Route("GET", "/auth/oidc/login", [flow, &provider](const http::Request& req) {
    if (!provider.enabled()) return LoginError("single sign-on is not configured", req.secure);
    std::string redirect_uri = RedirectUri(provider.config(), req);
    if (redirect_uri.empty()) return LoginError("sign-in needs a Host header or --public-url", req.secure);
    auto start = flow->Begin(redirect_uri, oidc::SafeNextPath(QueryValue(req, "next")));
    if (!start.ok()) {
      log::Warn("OIDC sign-in: " + start.status().message());
      return LoginError("identity provider unavailable: " + start.status().message(), req.secure);
    }
    http::Response r = Redirect(start->authorization_url);
    r.headers.push_back({"Set-Cookie", StateCookie(start->state, req.secure, 600)});
    return r;
  });

  http.Route("GET", "/auth/oidc/callback", [flow, &provider, &auth](const http::Request& req) {
    if (!provider.enabled()) return LoginError("single sign-on is not configured", req.secure);
    std::string state = QueryValue(req, "state");
    std::string bound = CookieValue(req, kOidcStateCookie);
    if (state.empty() || bound != state) {
      return LoginError(state.empty() ? "sign-in state missing" : "sign-in state does not match this browser",
                        req.secure);
    }
    // The provider reports a refusal as error / error_description (RFC 6749 4.1.2.1). Its text
    // is shown only for a sign-in this browser started (no messages planted through a link).
    std::string error = QueryValue(req, "error");
    if (!error.empty()) {
      if (!flow->Abandon(state)) return LoginError("unknown or expired sign-in state", req.secure);
      std::string text = QueryValue(req, "error_description");
      return LoginError("identity provider: " + (text.empty() ? error : text), req.secure);
    }
    // RFC 9207: an `iss` in the response names the provider that answered (mix-up defence).
    std::string iss = QueryValue(req, "iss");
    if (!iss.empty() && iss != provider.config().issuer) {
      flow->Abandon(state);
      return LoginError("authorization response from another issuer", req.secure);
    }
    auto done = flow->Complete(state, QueryValue(req, "code"));
    if (!done.ok()) return LoginError(done.status().message(), req.secure);
    auto session = auth.CreateExternalSession(done->identity, req.remote_address, done->display_name);
    if (!session.ok()) return LoginError(session.status().message(), req.secure);
    // A page that moves on by itself rather than a 302: the session cookie is SameSite=Strict,
    // and a browser does not send it on a redirect chain that began at the provider's site
    // (RFC 6265bis 5.2), so the next page would look signed out. A navigation from this page
    // is same-site.
    std::string next = HtmlEscape(done->next);
    http::Response r;
    r.status = 200;
    r.content_type = "text/html; charset=utf-8";
    r.body = "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url=" + next +
             "\"><title>Signed in</title></head><body><p>Signed in. <a href=\"" + next +
             "\">Continue</a></p></body></html>";
    // Only one Set-Cookie: the state cookie is left to expire (its state is used up already).
    r.headers.push_back({"Set-Cookie", auth.SessionCookieHeader(session.value(), req.secure)});
    r.headers.push_back({"Cache-Control", "no-store"});
    return r;
  });
}

}  // namespace radflow::api
