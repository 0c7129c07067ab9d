#include "api/auth_api.h"

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>


namespace radflow::api {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using http::Request;
using http::Response;

const std::string kUsersPrefix = "/api/v1/users/";
const std::string kTokensPrefix = "/api/v1/tokens/";

Response Fail(ErrorCode code, const std::string& message) { return Response::Error(Status(code, message)); }

ordered_json Time(int64_t ms) { return ms == 0 ? ordered_json() : ordered_json(security::IsoTime(ms)); }

ordered_json UserJson(const security::UserInfo& u, int64_t now) {
  return {{"name", u.name},
          {"role", u.role},
          {"display_name", u.display_name},
          {"referring_name", u.referring_name},
          {"disabled", u.disabled},
          {"locked_until", u.locked_until > now ? Time(u.locked_until) : ordered_json()},
          {"created_at", Time(u.created_at)},
          {"last_login", Time(u.last_login)},
          {"has_password", u.has_password}};
}

ordered_json TokenJson(const security::TokenInfo& t) {
  return {{"id", t.id},
          {"user", t.user},
          {"label", t.label},
          {"created_at", Time(t.created_at)},
          {"expires_at", Time(t.expires_at)},
          {"last_used", Time(t.last_used)},
          {"revoked", t.revoked_at != 0},
          {"revoked_at", Time(t.revoked_at)}};
}

// The request body as a JSON object; an error response otherwise.
std::optional<Response> ParseObject(const Request& req, json& out) {
  try {
    out = req.body.empty() ? json::object() : json::parse(req.body);
  } catch (const json::exception&) {
    return Fail(ErrorCode::kInvalidArgument, "the body is not JSON");
  }
  if (!out.is_object()) return Fail(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  return std::nullopt;
}

// Optional typed members; a member of the wrong type is a 400 naming it.
std::optional<Response> GetString(const json& body, const char* key, std::optional<std::string>& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return Fail(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be a string");
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<Response> GetBool(const json& body, const char* key, std::optional<bool>& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return Fail(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be true or false");
  out = it->get<bool>();
  return std::nullopt;
}

std::optional<Response> GetInt(const json& body, const char* key, std::optional<int>& out) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) return Fail(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be an integer");
  const auto v = it->get<int64_t>();
  if (v < -1000000 || v > 1000000) return Fail(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" is out of range");
  out = static_cast<int>(v);
  return std::nullopt;
}

security::Actor ActorOf(const Request& req) {
  security::Actor a;
  a.user = req.identity.user;
  a.role = req.identity.role;
  a.source = req.remote_address;
  a.interface = "http";
  return a;
}

bool IsAdministrator(const Request& req) { return req.identity.role == "administrator"; }

std::optional<Response> RequireCaller(const Request& req) {
  if (req.identity.user.empty()) return Fail(ErrorCode::kUnauthenticated, "authentication required");
  return std::nullopt;
}

std::optional<Response> RequireAdministrator(const Request& req) {
  if (auto r = RequireCaller(req)) return r;
  if (!IsAdministrator(req)) return Fail(ErrorCode::kPermissionDenied, "administrators only");
  return std::nullopt;
}

Response WithCookie(Response r, const std::string& cookie) {
  r.headers.emplace_back("Set-Cookie", cookie);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response LoginPage(const std::string& app_dir) {
  std::ifstream in(app_dir + "/login.html", std::ios::binary);
  if (!in) {
    return Response::Text("the web application is not built (no " + app_dir +
                              "/login.html): run make web, or use the REST API with a token",
                          503);
  }
  std::ostringstream text;
  text << in.rdbuf();
  Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = text.str();
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

Response SessionResponse(const security::AuthService& auth, const security::Session& s, bool secure,
                         ordered_json body, int status) {
  return WithCookie(Response::Json(body.dump(), status), auth.SessionCookieHeader(s, secure));
}

// --------------------------------------------------------------------------- handlers

Response Login(security::AuthService& auth, const Request& req) {
  json body;
  if (auto r = ParseObject(req, body)) return *r;
  std::optional<std::string> name, password;
  if (auto r = GetString(body, "username", name)) return *r;
  if (auto r = GetString(body, "password", password)) return *r;
  if (!name || name->empty() || !password) {
    return Fail(ErrorCode::kInvalidArgument, "\"username\" and \"password\" are required");
  }
  int64_t locked_until = 0;
  auto session = auth.LoginLocal(*name, *password, req.remote_address, &locked_until);
  if (!session.ok()) {
    if (locked_until > 0) {
      const int64_t seconds = std::max<int64_t>(1, (locked_until - auth.Now() + 999) / 1000);
      Response r = Response::Json(ordered_json{{"error", session.status().message()}, {"code", "locked"}}.dump(), 429);
      r.headers.emplace_back("Retry-After", std::to_string(seconds));
      return r;
    }
    return Response::Error(session.status());
  }
  return SessionResponse(auth, session.value(), req.secure,
                         {{"user", session->identity.user},
                          {"role", session->identity.role},
                          {"display_name", session->display_name}},
                         200);
}

Response Logout(security::AuthService& auth, const Request& req) {
  Status s = auth.Logout(security::AuthService::SessionCookieValue(req), ActorOf(req));
  if (!s.ok()) return Response::Error(s);
  Response r;
  r.status = 204;
  return WithCookie(std::move(r), security::AuthService::ClearCookieHeader(req.secure));
}

Response Me(security::AuthService& auth, const Request& req) {
  if (auto r = RequireCaller(req)) return *r;
  std::string display = req.identity.method == "oidc-session"
                            ? auth.SessionDisplayName(security::AuthService::SessionCookieValue(req))
                            : auth.DisplayName(req.identity.user);
  return Response::Json(ordered_json{{"user", req.identity.user},
                                     {"role", req.identity.role},
                                     {"display_name", display.empty() ? req.identity.user : display},
                                     {"method", req.identity.method},
                                     {"referring_name", req.identity.referring_name}}
                            .dump());
}

Response Setup(security::AuthService& auth, const Request& req) {
  // The set-up link is for the person at the machine (docs/authentication.md).
  if (!IsLoopback(req.remote_address)) {
    return Fail(ErrorCode::kPermissionDenied, "the set-up link works from the loopback address only (not " +
                                                  req.remote_address + ")");
  }
  json body;
  if (auto r = ParseObject(req, body)) return *r;
  std::optional<std::string> token, name, password, display;
  if (auto r = GetString(body, "token", token)) return *r;
  if (auto r = GetString(body, "username", name)) return *r;
  if (auto r = GetString(body, "password", password)) return *r;
  if (auto r = GetString(body, "display_name", display)) return *r;
  if (!token || !name || !password) {
    return Fail(ErrorCode::kInvalidArgument, "\"token\", \"username\" and \"password\" are required");
  }
  auto session = auth.CompleteSetup(*token, *name, *password, display.value_or(""), req.remote_address);
  if (!session.ok()) return Response::Error(session.status());
  return SessionResponse(auth, session.value(), req.secure, {{"user", *name}, {"role", "administrator"}}, 201);
}

Response Config(security::AuthService& auth, const AuthApiOptions& options) {
  auto has = auth.HasUsers();
  if (!has.ok()) return Response::Error(has.status());
  return Response::Json(ordered_json{{"local", true},
                                     {"oidc", {{"enabled", options.oidc_enabled}, {"login_url", options.oidc_login_url}}},
                                     {"setup_required", !has.value()}}
                            .dump());
}

Response ListUsers(security::AuthService& auth, const Request& req) {
  if (auto r = RequireAdministrator(req)) return *r;
  auto users = auth.ListUsers();
  if (!users.ok()) return Response::Error(users.status());
  ordered_json list = ordered_json::array();
  for (const auto& u : users.value()) list.push_back(UserJson(u, auth.Now()));
  return Response::Json(ordered_json{{"users", std::move(list)}}.dump());
}

Response AddUser(security::AuthService& auth, const Request& req) {
  if (auto r = RequireAdministrator(req)) return *r;
  json body;
  if (auto r = ParseObject(req, body)) return *r;
  std::optional<std::string> name, role, password, display, referring;
  std::optional<bool> no_password;
  if (auto r = GetString(body, "name", name)) return *r;
  if (auto r = GetString(body, "role", role)) return *r;
  if (auto r = GetString(body, "password", password)) return *r;
  if (auto r = GetString(body, "display_name", display)) return *r;
  if (auto r = GetString(body, "referring_name", referring)) return *r;
  if (auto r = GetBool(body, "no_password", no_password)) return *r;
  if (!name || !role) return Fail(ErrorCode::kInvalidArgument, "\"name\" and \"role\" are required");
  if (!password && !no_password.value_or(false)) {
    return Fail(ErrorCode::kInvalidArgument, "\"password\" is required (or \"no_password\": true for a token-only account)");
  }
  security::NewUser n;
  n.name = *name;
  n.role = *role;
  n.password = password.value_or("");
  n.display_name = display.value_or("");
  n.referring_name = referring.value_or("");
  n.no_password = no_password.value_or(false) && !password;
  auto added = auth.AddUser(n, ActorOf(req));
  if (!added.ok()) return Response::Error(added.status());
  return Response::Json(UserJson(added.value(), auth.Now()).dump(), 201);
}

Response ChangeUser(security::AuthService& auth, const Request& req, const std::string& name) {
  if (auto r = RequireAdministrator(req)) return *r;
  json body;
  if (auto r = ParseObject(req, body)) return *r;
  security::UserChange change;
  if (auto r = GetString(body, "role", change.role)) return *r;
  if (auto r = GetString(body, "password", change.password)) return *r;
  if (auto r = GetString(body, "display_name", change.display_name)) return *r;
  if (auto r = GetString(body, "referring_name", change.referring_name)) return *r;
  if (auto r = GetBool(body, "disabled", change.disabled)) return *r;
  auto changed = auth.UpdateUser(name, change, ActorOf(req));
  if (!changed.ok()) return Response::Error(changed.status());
  return Response::Json(UserJson(changed.value(), auth.Now()).dump());
}

Response UnlockUser(security::AuthService& auth, const Request& req, const std::string& name) {
  if (auto r = RequireAdministrator(req)) return *r;
  Status s = auth.Unlock(name, ActorOf(req));
  if (!s.ok()) return Response::Error(s);
  auto user = auth.GetUser(name);
  if (!user.ok()) return Response::Error(user.status());
  return Response::Json(UserJson(user.value(), auth.Now()).dump());
}

Response ListTokens(security::AuthService& auth, const Request& req) {
  if (auto r = RequireCaller(req)) return *r;
  auto tokens = auth.ListTokens(IsAdministrator(req) ? "" : req.identity.user);
  if (!tokens.ok()) return Response::Error(tokens.status());
  ordered_json list = ordered_json::array();
  for (const auto& t : tokens.value()) list.push_back(TokenJson(t));
  return Response::Json(ordered_json{{"tokens", std::move(list)}}.dump());
}

Response CreateToken(security::AuthService& auth, const Request& req) {
  if (auto r = RequireCaller(req)) return *r;
  json body;
  if (auto r = ParseObject(req, body)) return *r;
  std::optional<std::string> user, label;
  std::optional<int> days;
  if (auto r = GetString(body, "user", user)) return *r;
  if (auto r = GetString(body, "label", label)) return *r;
  if (auto r = GetInt(body, "days", days)) return *r;
  const std::string owner = user.value_or(req.identity.user);
  if (owner != req.identity.user && !IsAdministrator(req)) {
    return Fail(ErrorCode::kPermissionDenied, "only an administrator creates tokens for another user");
  }
  auto token = auth.CreateToken(owner, days.value_or(90), label.value_or(""), ActorOf(req));
  if (!token.ok()) return Response::Error(token.status());
  Response r = Response::Json(
      ordered_json{{"id", token->id}, {"token", token->token}, {"expires_at", Time(token->expires_at)}}.dump(), 201);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response RevokeToken(security::AuthService& auth, const Request& req, const std::string& id_text) {
  if (auto r = RequireCaller(req)) return *r;
  int64_t id = 0;
  auto [p, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || p != id_text.data() + id_text.size() || id <= 0) {
    return Fail(ErrorCode::kInvalidArgument, "token id must be a positive integer, not '" + id_text + "'");
  }
  auto token = auth.GetToken(id);
  if (!token.ok()) return Response::Error(token.status());
  if (token->user != req.identity.user && !IsAdministrator(req)) {
    // Someone else's token: as if it did not exist.
    return Fail(ErrorCode::kNotFound, "no token " + id_text);
  }
  Status s = auth.RevokeToken(id, ActorOf(req));
  if (!s.ok()) return Response::Error(s);
  Response r;
  r.status = 204;
  return r;
}

}  // namespace

bool IsLoopback(const std::string& address) {
  if (address == "::1") return true;
  std::string v4 = address;
  if (v4.rfind("::ffff:", 0) == 0) v4 = v4.substr(7);
  return v4.rfind("127.", 0) == 0;
}

void RegisterAuthApi(http::HttpServer& http, security::AuthService& auth, const std::string& app_dir,
                     const AuthApiOptions& options) {
  auto* a = &auth;
  http.Route("GET", "/login", [app_dir](const Request&) { return LoginPage(app_dir); });
  http.Route("GET", "/setup", [app_dir](const Request&) { return LoginPage(app_dir); });
  http.Route("GET", "/api/v1/auth/config", [a, options](const Request&) { return Config(*a, options); });
  http.Route("POST", "/api/v1/auth/login", [a](const Request& req) { return Login(*a, req); });
  http.Route("POST", "/api/v1/auth/logout", [a](const Request& req) { return Logout(*a, req); });
  http.Route("GET", "/api/v1/auth/me", [a](const Request& req) { return Me(*a, req); });
  http.Route("POST", "/api/v1/auth/setup", [a](const Request& req) { return Setup(*a, req); });

  http.Route("GET", "/api/v1/users", [a](const Request& req) { return ListUsers(*a, req); });
  http.Route("POST", "/api/v1/users", [a](const Request& req) { return AddUser(*a, req); });
  // POST /api/v1/users/{name} and /api/v1/users/{name}/unlock
  http.RoutePrefix("POST", kUsersPrefix, [a](const Request& req) {
    std::string rest = req.path.substr(kUsersPrefix.size());
    auto slash = rest.find('/');
    std::string name = rest.substr(0, slash);
    std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (name.empty()) return Fail(ErrorCode::kNotFound, "no user named in " + req.path);
    if (action.empty()) return ChangeUser(*a, req, name);
    if (action == "unlock") return UnlockUser(*a, req, name);
    return Fail(ErrorCode::kNotFound, "no such resource: " + req.path);
  });

  http.Route("GET", "/api/v1/tokens", [a](const Request& req) { return ListTokens(*a, req); });
  http.Route("POST", "/api/v1/tokens", [a](const Request& req) { return CreateToken(*a, req); });
  http.RoutePrefix("DELETE", kTokensPrefix, [a](const Request& req) {
    std::string id = req.path.substr(kTokensPrefix.size());
    if (id.empty() || id.find('/') != std::string::npos) return Fail(ErrorCode::kNotFound, "no such resource: " + req.path);
    return RevokeToken(*a, req, id);
  });
}

}  // namespace radflow::api
