// The sign-in routes (docs/authentication.md): the login and set-up pages, password sign-in
// and sign-out, the caller's identity, the first-run set-up, and the administration of
// accounts and API tokens. Owner: H1.
//
// Access is the guard's (src/access/route_rules.cpp; its Origin check refuses cross-site
// POSTs to login and setup too): these handlers read the caller from req.identity and check
// only what the route table cannot express (a token's owner, the set-up's loopback rule, the
// administrator of the account routes once more).
#pragma once

#include <string>

#include "http/http_server.h"
#include "security/auth_service.h"

namespace radflow::api {

struct AuthApiOptions {
  bool oidc_enabled = false;                     // --oidc-issuer set
  std::string oidc_login_url = "/auth/oidc/login";
};

// GET /login, GET /setup (APP_DIR/login.html), /api/v1/auth/{config,login,logout,me,setup},
// /api/v1/users[/{name}[/unlock]], /api/v1/tokens[/{id}]. `auth` outlives the server.
void RegisterAuthApi(http::HttpServer& http, security::AuthService& auth, const std::string& app_dir,
                     const AuthApiOptions& options = {});

// Whether a peer address is the loopback (127.0.0.0/8, ::1, or ::ffff:127.x.x.x).
bool IsLoopback(const std::string& address);

}  // namespace radflow::api
