// The browser's OpenID Connect sign-in (docs/oidc.md):
//   GET /auth/oidc/login?next=/path   302 to the provider's authorization endpoint
//   GET /auth/oidc/callback?code=&state=   redeems the code, creates a radflow session
// Errors send the browser to /login?error=<text>.
#pragma once

#include "http/http_server.h"
#include "oidc/oidc.h"
#include "security/auth_service.h"

namespace radflow::api {

inline constexpr const char* kOidcStateCookie = "radflow_oidc_state";

// Registers both routes (also when OIDC is off: they then redirect to /login with "single
// sign-on is not configured"). `provider` and `auth` must outlive the server.
void RegisterOidcApi(http::HttpServer& http, oidc::OidcProvider& provider, security::AuthService& auth);

}  // namespace radflow::api
