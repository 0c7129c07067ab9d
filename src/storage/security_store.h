// SecurityStore: local accounts, browser sessions and API tokens in the index database
// (schema 009_security.sql; docs/authentication.md).
//
// Rows only: hashing, expiry and lock-out policy belong to security::AuthService. Each
// state change is one BEGIN IMMEDIATE transaction (synchronous=FULL); uniqueness is the
// database's (a second user of one name is a constraint violation → Conflict), so the CLI
// and a running server can write at the same time. Two connections: reads never wait for a
// write. Times are unix ms. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

struct UserRow {
  std::string name, role, display_name, referring_name;
  std::string password_hash;  // Argon2id encoded; '' : no local password
  bool disabled = false;
  int failed_count = 0;
  int64_t first_failure_at = 0, locked_until = 0, created_at = 0, last_login = 0;
};

// The fields an update changes; unset ones are kept.
struct UserUpdate {
  std::optional<std::string> role, display_name, referring_name, password_hash;
  std::optional<bool> disabled;
};

struct SessionRow {
  std::string id_hash;  // SHA-256 hex of the cookie value
  std::string user, role, method, referring_name, display_name, source;
  int64_t created_at = 0, last_seen = 0, expires_at = 0;
};

struct TokenRow {
  int64_t id = 0;
  std::string user, token_hash, label;
  int64_t created_at = 0, expires_at = 0, last_used = 0, revoked_at = 0;
};

// Lock-out accounting (docs/authentication.md).
struct FailurePolicy {
  int failures = 5;          // this many failures within window_ms lock the account
  int64_t window_ms = 0;
  int64_t lock_ms = 0;
};

class SecurityStore {
 public:
  // Opens index.db (the Index must have applied the migrations first). NotFound when the
  // file is missing; DatabaseError when the schema lacks the tables (009_security.sql).
  static Result<std::unique_ptr<SecurityStore>> Open(const std::string& index_path);
  ~SecurityStore();

  // --- users
  Result<bool> HasUsers();
  // Conflict "user NAME exists" when the name is taken.
  Status InsertUser(const UserRow& user);
  // Inserts `user` only when no user exists at all (the first administrator); Conflict
  // "an account exists already" otherwise. One transaction.
  Status InsertFirstUser(const UserRow& user);
  Result<std::optional<UserRow>> GetUser(const std::string& name);
  Result<std::vector<UserRow>> Users();  // by name
  // NotFound "no user NAME".
  Result<UserRow> UpdateUser(const std::string& name, const UserUpdate& update);
  // One failed sign-in at now_ms: the count restarts when the first failure is older than
  // the window; reaching policy.failures sets locked_until = now + lock_ms and restarts the
  // count. Returns the row after the change. NotFound.
  Result<UserRow> RecordFailure(const std::string& name, int64_t now_ms, const FailurePolicy& policy);
  // A successful sign-in: the failure count cleared, last_login = now_ms.
  Status RecordSuccess(const std::string& name, int64_t now_ms);
  // Clears the failure count and the lock. NotFound.
  Status Unlock(const std::string& name);

  // --- sessions
  Status InsertSession(const SessionRow& session);
  Result<std::optional<SessionRow>> GetSession(const std::string& id_hash);
  // The session and its account (by user_name) in one statement; `user` nullopt when no
  // local account has the name (an OpenID Connect session, or the account is gone).
  struct SessionAndUser {
    SessionRow session;
    std::optional<UserRow> user;
  };
  Result<std::optional<SessionAndUser>> SessionAndUserByHash(const std::string& id_hash);
  Status TouchSession(const std::string& id_hash, int64_t now_ms);
  Status DeleteSession(const std::string& id_hash);
  Status DeleteUserSessions(const std::string& user);
  // Sessions past their absolute expiry or idle longer than idle_ms.
  Status DeleteExpiredSessions(int64_t now_ms, int64_t idle_ms);

  // --- API tokens
  Result<int64_t> InsertToken(const TokenRow& token);  // returns the id
  Result<std::optional<TokenRow>> TokenByHash(const std::string& token_hash);
  // The token and its account in one statement (one read transaction per authenticated
  // request); nullopt without such a token, `user` nullopt when the account is gone.
  struct TokenAndUser {
    TokenRow token;
    std::optional<UserRow> user;
  };
  Result<std::optional<TokenAndUser>> TokenAndUserByHash(const std::string& token_hash);
  Result<std::optional<TokenRow>> TokenById(int64_t id);
  // user "" : every token; newest first.
  Result<std::vector<TokenRow>> Tokens(const std::string& user);
  Status TouchToken(int64_t id, int64_t now_ms);
  // NotFound; a token revoked already keeps its first revocation time.
  Status RevokeToken(int64_t id, int64_t now_ms);

 private:
  class Impl;
  explicit SecurityStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::storage
