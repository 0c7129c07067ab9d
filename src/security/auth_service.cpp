#include "security/auth_service.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>

#include "base/clock.h"
#include "base/iso_time.h"
#include "crypto/crypto.h"
#include "security/password.h"
#include "security/roles.h"
#include "storage/security_store.h"

namespace radflow::security {

namespace {

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kTouchInterval = kMinute;  // last_used / last_seen written at most this often
constexpr int kMaxTokenDays = 3650;

Status Unauthenticated(const std::string& reason) { return {ErrorCode::kUnauthenticated, reason}; }

Actor Who(const std::string& user, const std::string& role, const std::string& source) {
  Actor a;
  a.user = user;
  a.role = role;
  a.source = source;
  return a;
}

bool StartsWithNoCase(const std::string& s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

size_t CodePoints(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a UTF-8 continuation byte
  }));
}

UserInfo ToInfo(const storage::UserRow& u) {
  UserInfo i;
  i.name = u.name;
  i.role = u.role;
  i.display_name = u.display_name;
  i.referring_name = u.referring_name;
  i.disabled = u.disabled;
  i.has_password = !u.password_hash.empty();
  i.locked_until = u.locked_until;
  i.created_at = u.created_at;
  i.last_login = u.last_login;
  return i;
}

TokenInfo ToInfo(const storage::TokenRow& t) {
  TokenInfo i;
  i.id = t.id;
  i.user = t.user;
  i.label = t.label;
  i.created_at = t.created_at;
  i.expires_at = t.expires_at;
  i.last_used = t.last_used;
  i.revoked_at = t.revoked_at;
  return i;
}

Status ValidateText(const std::string& what, const std::string& value) {
  if (value.size() > 256) return {ErrorCode::kInvalidArgument, what + " is longer than 256 bytes"};
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20) return {ErrorCode::kInvalidArgument, what + " contains a control character"};
  }
  return Status::Ok();
}

}  // namespace

Status ValidateUserName(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return {ErrorCode::kInvalidArgument, "a user name has 1 to 64 characters"};
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '@' && c != '-') {
      return {ErrorCode::kInvalidArgument,
              "user name '" + name + "' may contain only letters, digits and . _ @ -"};
    }
  }
  return Status::Ok();
}

Status ValidatePassword(const std::string& password) {
  if (CodePoints(password) < kMinPasswordLength) {
    return {ErrorCode::kInvalidArgument,
            "the password is too short: at least " + std::to_string(kMinPasswordLength) + " characters"};
  }
  if (password.size() > 1024) return {ErrorCode::kInvalidArgument, "the password is longer than 1024 bytes"};
  return Status::Ok();
}

std::string IsoTime(int64_t unix_ms) { return FormatIsoUtc(unix_ms); }

// The set-up token lives in memory only: a restart prints a new one.
struct AuthService::Setup {
  std::mutex mu;
  std::string hash;  // SHA-256 of the current token; "" : none
  int64_t expires_at = 0;
  std::set<std::string> used;  // hashes of tokens already used
};

AuthService::AuthService(AuthOptions options) : options_(std::move(options)), setup_(std::make_unique<Setup>()) {}
AuthService::~AuthService() = default;

Result<std::unique_ptr<AuthService>> AuthService::Open(AuthOptions options) {
  if (options.lockout_failures < 1) return {ErrorCode::kInvalidArgument, "--lockout-failures must be at least 1"};
  if (options.lockout_minutes < 1) return {ErrorCode::kInvalidArgument, "--lockout-minutes must be at least 1"};
  auto store = storage::SecurityStore::Open(options.db_path);
  if (!store.ok()) return store.status();
  std::unique_ptr<AuthService> service(new AuthService(std::move(options)));
  service->store_ = std::move(store.value());
  // A hash to verify against for unknown user names, so that a sign-in costs the same
  // time whether the name exists or not.
  auto dummy = RandomToken();
  if (!dummy.ok()) return dummy.status();
  auto hash = HashPassword(dummy.value());
  if (!hash.ok()) return hash.status();
  service->dummy_hash_ = hash.value();
  return service;
}

int64_t AuthService::Now() const { return options_.clock ? options_.clock() : UnixMillis(); }

void AuthService::Audit(const std::string& event, const Actor& who, const std::string& detail,
                        const std::string& failure) const {
  if (!options_.audit) return;
  audit::AuditEvent e;
  e.event = event;
  e.success = failure.empty();
  e.failure_reason = failure;
  e.user = who.user;
  e.role = who.role;
  e.source = who.source;
  e.detail = detail;
  e.interface = who.interface.empty() ? "http" : who.interface;
  e.at_ms = Now();
  options_.audit(e);
}

// ------------------------------------------------------------------------ authenticate

std::string AuthService::SessionCookieValue(const http::Request& request) {
  const std::string& header = request.Header("cookie");
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(';', start);
    if (end == std::string::npos) end = header.size();
    std::string pair = Trim(std::string_view(header).substr(start, end - start));
    auto eq = pair.find('=');
    if (eq != std::string::npos && pair.substr(0, eq) == kSessionCookie) return pair.substr(eq + 1);
    start = end + 1;
  }
  return "";
}

Result<http::Identity> AuthService::Authenticate(const http::Request& request) {
  const std::string& authorization = request.Header("authorization");
  if (!authorization.empty()) {
    if (!StartsWithNoCase(authorization, "Bearer ")) {
      return Unauthenticated("unsupported Authorization scheme (use Bearer)");
    }
    std::string token = Trim(std::string_view(authorization).substr(7));
    if (token.rfind(kTokenPrefix, 0) == 0) return AuthenticateToken(token);
    if (std::count(token.begin(), token.end(), '.') == 2) {
      if (!options_.bearer_verifier) return Unauthenticated("bearer JWTs need --oidc-issuer");
      auto identity = options_.bearer_verifier(token);
      if (!identity.ok()) {
        // A valid token without a radflow role (kPermissionDenied: 403) and an unreachable
        // provider (kUnavailable: 503) keep their codes (H3, for the guard; test_oidc).
        const ErrorCode code = identity.status().code();
        if (code == ErrorCode::kUnauthenticated || code == ErrorCode::kPermissionDenied ||
            code == ErrorCode::kUnavailable) {
          return identity.status();
        }
        return Unauthenticated(identity.status().message());
      }
      if (identity->method.empty()) identity->method = "oidc-bearer";
      return identity;
    }
    return Unauthenticated("malformed bearer token (neither an rf_ API token nor a JWT)");
  }
  std::string cookie = SessionCookieValue(request);
  if (!cookie.empty()) return AuthenticateSession(cookie);
  return Unauthenticated("authentication required");
}

Result<http::Identity> AuthService::AuthenticateToken(const std::string& token) {
  // The token and its account in one read of the database, on every request: a revocation
  // or a disabled account (also by `radflow token revoke` in another process) applies to the
  // next request.
  auto row = store_->TokenAndUserByHash(crypto::Sha256Hex(token));
  if (!row.ok()) return row.status();
  if (!row.value()) return Unauthenticated("unknown token");
  const storage::TokenRow& t = (*row)->token;
  const std::optional<storage::UserRow>& user = (*row)->user;
  const int64_t now = Now();
  if (t.revoked_at != 0) return Unauthenticated("token revoked");
  if (t.expires_at != 0 && t.expires_at <= now) return Unauthenticated("token expired");
  if (!user) return Unauthenticated("the token's account no longer exists");
  if (user->disabled) return Unauthenticated("account disabled");
  if (now - t.last_used >= kTouchInterval) (void)store_->TouchToken(t.id, now);
  return http::Identity{user->name, user->role, "token", user->referring_name};
}

Result<http::Identity> AuthService::AuthenticateSession(const std::string& cookie_value) {
  const std::string hash = crypto::Sha256Hex(cookie_value);
  auto row = store_->SessionAndUserByHash(hash);  // one read: the session and its account
  if (!row.ok()) return row.status();
  if (!row.value()) return Unauthenticated("unknown session (signed out or expired)");
  const storage::SessionRow& s = (*row)->session;
  const std::optional<storage::UserRow>& user = (*row)->user;
  const int64_t now = Now();
  if (s.expires_at <= now || s.last_seen + int64_t{options_.session_idle_minutes} * kMinute <= now) {
    (void)store_->DeleteSession(hash);
    return Unauthenticated("session expired");
  }
  http::Identity identity{s.user, s.role, s.method, s.referring_name};
  if (s.method == "session") {
    // A local account: its current role and state, so that a change applies at once.
    if (!user || user->disabled) {
      (void)store_->DeleteSession(hash);
      return Unauthenticated("account disabled");
    }
    identity.role = user->role;
    identity.referring_name = user->referring_name;
  }
  if (now - s.last_seen >= kTouchInterval) (void)store_->TouchSession(hash, now);
  return identity;
}

// ----------------------------------------------------------------------------- sign-in

Result<Session> AuthService::StartSession(const http::Identity& identity, const std::string& display_name,
                                          const std::string& source) {
  auto value = RandomToken();
  if (!value.ok()) return value.status();
  const int64_t now = Now();
  const int64_t idle = int64_t{options_.session_idle_minutes} * kMinute;
  (void)store_->DeleteExpiredSessions(now, idle);
  storage::SessionRow row;
  row.id_hash = crypto::Sha256Hex(value.value());
  row.user = identity.user;
  row.role = identity.role;
  row.method = identity.method;
  row.referring_name = identity.referring_name;
  row.display_name = display_name;
  row.source = source;
  row.created_at = row.last_seen = now;
  row.expires_at = now + int64_t{options_.session_max_hours} * 60 * kMinute;
  RADFLOW_RETURN_IF_ERROR(store_->InsertSession(row));
  return Session{value.value(), identity, display_name, row.expires_at};
}

Result<Session> AuthService::LoginLocal(const std::string& name, const std::string& password,
                                        const std::string& source, int64_t* locked_until) {
  const Status invalid = Unauthenticated("invalid user name or password");
  auto failed = [&](const std::string& role, const std::string& reason) {
    Audit("login-failed", Who(name, role, source), "local sign-in", reason);
  };
  if (!ValidateUserName(name).ok()) {  // cannot exist; an attacker's text, kept short in the audit
    (void)VerifyPassword(password, dummy_hash_);
    Audit("login-failed", Who(name.substr(0, 64), "", source), "local sign-in", "malformed user name");
    return invalid;
  }
  auto user = store_->GetUser(name);
  if (!user.ok()) return user.status();
  if (!user.value()) {
    (void)VerifyPassword(password, dummy_hash_);
    failed("", "unknown user");
    return invalid;
  }
  const storage::UserRow& u = **user;
  const int64_t now = Now();
  auto locked = [&](int64_t until) -> Status {
    if (locked_until) *locked_until = until;
    return {ErrorCode::kPermissionDenied, "account locked until " + IsoTime(until)};
  };
  if (u.locked_until > now) {
    failed(u.role, "account locked");
    return locked(u.locked_until);
  }
  const bool match = u.password_hash.empty() ? (VerifyPassword(password, dummy_hash_), false)
                                             : VerifyPassword(password, u.password_hash);
  if (!match) {
    storage::FailurePolicy policy{options_.lockout_failures, int64_t{options_.lockout_minutes} * kMinute,
                                  int64_t{options_.lockout_minutes} * kMinute};
    auto after = store_->RecordFailure(name, now, policy);
    if (!after.ok()) return after.status();
    failed(u.role, u.password_hash.empty() ? "account has no password" : "wrong password");
    if (after->locked_until > now) {
      Audit("locked-out", Who(name, u.role, source), "locked until " + IsoTime(after->locked_until),
            std::to_string(options_.lockout_failures) + " failed sign-ins");
      return locked(after->locked_until);
    }
    return invalid;
  }
  if (u.disabled) {
    failed(u.role, "account disabled");
    return invalid;
  }
  RADFLOW_RETURN_IF_ERROR(store_->RecordSuccess(name, now));
  auto session = StartSession({u.name, u.role, "session", u.referring_name}, u.display_name, source);
  if (!session.ok()) return session.status();
  Audit("login", Who(u.name, u.role, source), "local sign-in");
  return session;
}

Status AuthService::Logout(const std::string& cookie_value, const Actor& actor) {
  if (cookie_value.empty()) return Status::Ok();
  RADFLOW_RETURN_IF_ERROR(store_->DeleteSession(crypto::Sha256Hex(cookie_value)));
  Audit("logout", actor, "sign-out");
  return Status::Ok();
}

Result<Session> AuthService::CreateExternalSession(const http::Identity& identity, const std::string& source,
                                                   const std::string& display_name) {
  if (identity.user.empty()) return {ErrorCode::kInvalidArgument, "an identity without a user name"};
  if (!ParseRole(identity.role)) return {ErrorCode::kPermissionDenied, "unknown role '" + identity.role + "'"};
  http::Identity id = identity;
  id.method = "oidc-session";
  auto session = StartSession(id, display_name, source);
  if (!session.ok()) return session.status();
  Audit("login", Who(id.user, id.role, source), "OpenID Connect sign-in");
  return session;
}

std::string AuthService::SessionCookieHeader(const Session& session, bool secure) const {
  const int64_t max_age = std::max<int64_t>(0, (session.expires_at - Now() + 500) / 1000);  // nearest second
  return std::string(kSessionCookie) + "=" + session.cookie_value + "; Path=/; Max-Age=" + std::to_string(max_age) +
         "; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
}

std::string AuthService::ClearCookieHeader(bool secure) {
  return std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
}

// ---------------------------------------------------------------------------- accounts

Result<UserInfo> AuthService::AddUser(const NewUser& n, const Actor& actor) {
  RADFLOW_RETURN_IF_ERROR(ValidateUserName(n.name));
  if (!ParseRole(n.role)) {
    return {ErrorCode::kInvalidArgument, "unknown role '" + n.role +
                                             "' (administrator, radiologist, technologist, referring, researcher, ai-service)"};
  }
  RADFLOW_RETURN_IF_ERROR(ValidateText("the display name", n.display_name));
  RADFLOW_RETURN_IF_ERROR(ValidateText("the referring name", n.referring_name));
  if (n.role == "referring" && n.referring_name.empty()) {
    return {ErrorCode::kInvalidArgument, "a referring user needs a referring name (the DICOM PN of their orders)"};
  }
  storage::UserRow row;
  row.name = n.name;
  row.role = n.role;
  row.display_name = n.display_name;
  row.referring_name = n.referring_name;
  if (!n.no_password) {
    RADFLOW_RETURN_IF_ERROR(ValidatePassword(n.password));
    auto hash = HashPassword(n.password);
    if (!hash.ok()) return hash.status();
    row.password_hash = hash.value();
  }
  row.created_at = Now();
  RADFLOW_RETURN_IF_ERROR(store_->InsertUser(row));
  Audit("user-changed", actor, "user " + n.name + " added with role " + n.role);
  return ToInfo(row);
}

Result<std::vector<UserInfo>> AuthService::ListUsers() {
  auto rows = store_->Users();
  if (!rows.ok()) return rows.status();
  std::vector<UserInfo> out;
  for (const auto& r : rows.value()) out.push_back(ToInfo(r));
  return out;
}

Result<UserInfo> AuthService::GetUser(const std::string& name) {
  auto row = store_->GetUser(name);
  if (!row.ok()) return row.status();
  if (!row.value()) return {ErrorCode::kNotFound, "no user " + name};
  return ToInfo(**row);
}

std::string AuthService::DisplayName(const std::string& name) {
  auto row = store_->GetUser(name);
  if (!row.ok() || !row.value()) return "";
  return (*row)->display_name;
}

std::string AuthService::SessionDisplayName(const std::string& cookie_value) {
  if (cookie_value.empty()) return "";
  auto row = store_->GetSession(crypto::Sha256Hex(cookie_value));
  if (!row.ok() || !row.value()) return "";
  return (*row)->display_name;
}

Result<UserInfo> AuthService::UpdateUser(const std::string& name, const UserChange& change, const Actor& actor) {
  auto current = store_->GetUser(name);
  if (!current.ok()) return current.status();
  if (!current.value()) return {ErrorCode::kNotFound, "no user " + name};
  const storage::UserRow& u = **current;
  storage::UserUpdate update;
  std::string detail;
  if (change.role) {
    if (!ParseRole(*change.role)) return {ErrorCode::kInvalidArgument, "unknown role '" + *change.role + "'"};
    update.role = change.role;
    detail += " role " + *change.role;
  }
  if (change.display_name) {
    RADFLOW_RETURN_IF_ERROR(ValidateText("the display name", *change.display_name));
    update.display_name = change.display_name;
    detail += " display name";
  }
  if (change.referring_name) {
    RADFLOW_RETURN_IF_ERROR(ValidateText("the referring name", *change.referring_name));
    update.referring_name = change.referring_name;
    detail += " referring name";
  }
  const std::string role = change.role.value_or(u.role);
  if (role == "referring" && change.referring_name.value_or(u.referring_name).empty()) {
    return {ErrorCode::kInvalidArgument, "a referring user needs a referring name (the DICOM PN of their orders)"};
  }
  if (change.password) {
    RADFLOW_RETURN_IF_ERROR(ValidatePassword(*change.password));
    auto hash = HashPassword(*change.password);
    if (!hash.ok()) return hash.status();
    update.password_hash = hash.value();
    detail += " password";
  }
  if (change.disabled) {
    update.disabled = change.disabled;
    detail += *change.disabled ? " disabled" : " enabled";
  }
  // Keep one enabled administrator: without one nobody can manage the accounts over HTTP.
  const bool loses_admin = u.role == "administrator" && !u.disabled &&
                           (role != "administrator" || change.disabled.value_or(false));
  if (loses_admin) {
    auto all = store_->Users();
    if (!all.ok()) return all.status();
    int admins = 0;
    for (const auto& r : all.value()) admins += r.role == "administrator" && !r.disabled ? 1 : 0;
    if (admins <= 1) return {ErrorCode::kConflict, name + " is the last enabled administrator"};
  }
  auto after = store_->UpdateUser(name, update);
  if (!after.ok()) return after.status();
  if (change.password || change.disabled.value_or(false)) (void)store_->DeleteUserSessions(name);
  Audit("user-changed", actor, "user " + name + " changed:" + (detail.empty() ? " nothing" : detail));
  return ToInfo(after.value());
}

Status AuthService::Unlock(const std::string& name, const Actor& actor) {
  RADFLOW_RETURN_IF_ERROR(store_->Unlock(name));
  Audit("user-changed", actor, "user " + name + " unlocked");
  return Status::Ok();
}

Result<bool> AuthService::HasUsers() { return store_->HasUsers(); }

// ------------------------------------------------------------------------------ tokens

Result<NewToken> AuthService::CreateToken(const std::string& user, int days, const std::string& label,
                                          const Actor& actor) {
  if (days < 0 || days > kMaxTokenDays) {
    return {ErrorCode::kInvalidArgument, "days must be 0 (no expiry) to " + std::to_string(kMaxTokenDays)};
  }
  RADFLOW_RETURN_IF_ERROR(ValidateText("the label", label));
  auto row = store_->GetUser(user);
  if (!row.ok()) return row.status();
  if (!row.value()) return {ErrorCode::kNotFound, "no user " + user};
  auto token = RandomToken(kTokenPrefix);
  if (!token.ok()) return token.status();
  const int64_t now = Now();
  storage::TokenRow t;
  t.user = user;
  t.token_hash = crypto::Sha256Hex(token.value());
  t.label = label;
  t.created_at = now;
  t.expires_at = days == 0 ? 0 : now + int64_t{days} * 24 * 60 * kMinute;
  auto id = store_->InsertToken(t);
  if (!id.ok()) return id.status();
  Audit("token-changed", actor,
        "token " + std::to_string(id.value()) + " created for " + user + (label.empty() ? "" : " (" + label + ")"));
  return NewToken{id.value(), token.value(), t.expires_at};
}

Result<std::vector<TokenInfo>> AuthService::ListTokens(const std::string& user) {
  auto rows = store_->Tokens(user);
  if (!rows.ok()) return rows.status();
  std::vector<TokenInfo> out;
  for (const auto& r : rows.value()) out.push_back(ToInfo(r));
  return out;
}

Result<TokenInfo> AuthService::GetToken(int64_t id) {
  auto row = store_->TokenById(id);
  if (!row.ok()) return row.status();
  if (!row.value()) return {ErrorCode::kNotFound, "no token " + std::to_string(id)};
  return ToInfo(**row);
}

Status AuthService::RevokeToken(int64_t id, const Actor& actor) {
  RADFLOW_RETURN_IF_ERROR(store_->RevokeToken(id, Now()));
  Audit("token-changed", actor, "token " + std::to_string(id) + " revoked");
  return Status::Ok();
}

// ----------------------------------------------------------------------------- set-up

Result<std::string> AuthService::CreateSetupToken() {
  auto has = store_->HasUsers();
  if (!has.ok()) return has.status();
  if (has.value()) return {ErrorCode::kConflict, "an account exists already"};
  auto random = RandomToken();
  if (!random.ok()) return random.status();
  std::string token = std::move(random.value());
  std::lock_guard lock(setup_->mu);
  setup_->hash = crypto::Sha256Hex(token);
  setup_->expires_at = Now() + int64_t{options_.setup_token_minutes} * kMinute;
  return token;
}

Result<Session> AuthService::CompleteSetup(const std::string& token, const std::string& name,
                                           const std::string& password, const std::string& display_name,
                                           const std::string& source) {
  const std::string hash = crypto::Sha256Hex(token);
  std::lock_guard lock(setup_->mu);  // one set-up at a time
  auto refuse = [&](const std::string& reason) -> Status {
    Audit("login-failed", Who(name, "", source), "first-run set-up", reason);
    return {ErrorCode::kPermissionDenied, reason};
  };
  if (setup_->used.count(hash)) return refuse("set-up token was used already");
  if (setup_->hash.empty() || !ConstantTimeEquals(hash, setup_->hash)) return refuse("set-up token is wrong");
  if (Now() >= setup_->expires_at) return refuse("set-up token expired");
  RADFLOW_RETURN_IF_ERROR(ValidateUserName(name));
  RADFLOW_RETURN_IF_ERROR(ValidatePassword(password));
  RADFLOW_RETURN_IF_ERROR(ValidateText("the display name", display_name));
  auto password_hash = HashPassword(password);
  if (!password_hash.ok()) return password_hash.status();
  storage::UserRow row;
  row.name = name;
  row.role = "administrator";
  row.display_name = display_name;
  row.password_hash = password_hash.value();
  row.created_at = row.last_login = Now();
  Status inserted = store_->InsertFirstUser(row);
  if (inserted.code() == ErrorCode::kConflict) {
    setup_->used.insert(hash);
    setup_->hash.clear();
    return refuse("an account exists already");
  }
  RADFLOW_RETURN_IF_ERROR(inserted);
  setup_->used.insert(hash);
  setup_->hash.clear();
  Audit("user-changed", Who(name, "administrator", source), "first administrator " + name + " created with the set-up link");
  auto session = StartSession({name, "administrator", "session", ""}, display_name, source);
  if (!session.ok()) return session.status();
  Audit("login", Who(name, "administrator", source), "first-run set-up");
  return session;
}

}  // namespace radflow::security
