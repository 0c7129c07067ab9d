#include "storage/security_store.h"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "storage/db.h"

namespace radflow::storage {

namespace {

constexpr const char* kUserColumns =
    "name, role, display_name, referring_name, password_hash, disabled, failed_count,"
    " first_failure_at, locked_until, created_at, last_login";
constexpr const char* kSessionColumns =
    "id_hash, user_name, role, method, referring_name, display_name, source, created_at,"
    " last_seen, expires_at";
constexpr const char* kTokenColumns =
    "id, user_name, token_hash, label, created_at, expires_at, last_used, revoked_at";

// The user columns from column `at` on.
UserRow ReadUserAt(const Statement& st, int at) {
  UserRow u;
  u.name = st.Text(at + 0);
  u.role = st.Text(at + 1);
  u.display_name = st.Text(at + 2);
  u.referring_name = st.Text(at + 3);
  u.password_hash = st.Text(at + 4);
  u.disabled = st.Int(at + 5) != 0;
  u.failed_count = static_cast<int>(st.Int(at + 6));
  u.first_failure_at = st.Int(at + 7);
  u.locked_until = st.Int(at + 8);
  u.created_at = st.Int(at + 9);
  u.last_login = st.Int(at + 10);
  return u;
}
UserRow ReadUser(const Statement& st) { return ReadUserAt(st, 0); }

// Columns "a, b" as "t.a, t.b" (for a join).
std::string Qualified(const char* columns, const char* alias) {
  std::string out, cols = columns;
  size_t start = 0;
  while (start < cols.size()) {
    size_t end = cols.find(',', start);
    if (end == std::string::npos) end = cols.size();
    std::string c = cols.substr(start, end - start);
    c.erase(0, c.find_first_not_of(' '));
    out += (out.empty() ? "" : ", ") + std::string(alias) + "." + c;
    start = end + 1;
  }
  return out;
}

SessionRow ReadSession(const Statement& st) {
  SessionRow s;
  s.id_hash = st.Text(0);
  s.user = st.Text(1);
  s.role = st.Text(2);
  s.method = st.Text(3);
  s.referring_name = st.Text(4);
  s.display_name = st.Text(5);
  s.source = st.Text(6);
  s.created_at = st.Int(7);
  s.last_seen = st.Int(8);
  s.expires_at = st.Int(9);
  return s;
}

TokenRow ReadToken(const Statement& st) {
  TokenRow t;
  t.id = st.Int(0);
  t.user = st.Text(1);
  t.token_hash = st.Text(2);
  t.label = st.Text(3);
  t.created_at = st.Int(4);
  t.expires_at = st.Int(5);
  t.last_used = st.Int(6);
  t.revoked_at = st.Int(7);
  return t;
}

using Binder = std::function<void(Statement&)>;

}  // namespace

class SecurityStore::Impl {
 public:
  std::mutex write_mu;  // one thread at a time on the writer
  std::unique_ptr<Db> writer;
  std::string path;

  // Reader connections, one per concurrent request, at most kMaxReaders (each holds a
  // page cache and a few descriptors): one shared connection behind a mutex serialised
  // every request; an unbounded pool grew with the peak of HTTP threads and never shrank.
  // Past the cap a request waits for a lease to come back. A connection is used by one
  // thread at a time: the lease's.
  static constexpr size_t kMaxReaders = 16;
  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::vector<std::unique_ptr<Db>> readers;
  size_t open_readers = 0;  // idle + leased
  struct ReaderLease {
    Impl* impl;
    std::unique_ptr<Db> db;
    ReaderLease(Impl* i, std::unique_ptr<Db> d) : impl(i), db(std::move(d)) {}
    ReaderLease(ReaderLease&&) = default;
    ~ReaderLease() {
      if (!db) return;
      {
        std::lock_guard g(impl->pool_mu);
        impl->readers.push_back(std::move(db));
      }
      impl->pool_cv.notify_one();
    }
  };
  Result<ReaderLease> Reader() {
    {
      std::unique_lock g(pool_mu);
      pool_cv.wait(g, [&] { return !readers.empty() || open_readers < kMaxReaders; });
      if (!readers.empty()) {
        ReaderLease l{this, std::move(readers.back())};
        readers.pop_back();
        return l;
      }
      ++open_readers;
    }
    auto db = OpenDb(path);
    if (!db.ok()) {
      {
        std::lock_guard g(pool_mu);
        --open_readers;
      }
      pool_cv.notify_one();
      return db.status();
    }
    return ReaderLease{this, std::move(db.value())};
  }

  // Runs one statement to completion; *changes gets the rows changed. A constraint
  // violation becomes Conflict `conflict` when that is not empty.
  static Status Run(Db& db, const std::string& sql, const Binder& bind, int* changes = nullptr,
                    const std::string& conflict = "") {
    auto p = db.Prepare(sql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    bind(st);
    Status s;
    st.Step(&s);
    if (!s.ok() && !conflict.empty() && db.LastErrorWasUniqueViolation()) {
      return {ErrorCode::kConflict, conflict};
    }
    if (changes) *changes = db.Changes();
    return s;
  }

  template <typename Row, typename Read>
  static Result<std::vector<Row>> Rows(Db& db, const std::string& sql, const Binder& bind, Read read) {
    auto p = db.Prepare(sql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    bind(st);
    Status s;
    std::vector<Row> out;
    while (st.Step(&s)) out.push_back(read(st));
    if (!s.ok()) return s;
    return out;
  }

  template <typename Row, typename Read>
  static Result<std::optional<Row>> One(Db& db, const std::string& sql, const Binder& bind, Read read) {
    auto rows = Rows<Row>(db, sql, bind, read);
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return std::optional<Row>();
    return std::optional<Row>(rows->front());
  }

  static Result<std::optional<UserRow>> User(Db& db, const std::string& name) {
    return One<UserRow>(db, std::string("SELECT ") + kUserColumns + " FROM users WHERE name = ?",
                        [&](Statement& st) { st.Bind(1, name); }, ReadUser);
  }

  static Status Insert(Db& db, const UserRow& u) {
    return Run(
        db,
        std::string("INSERT INTO users (") + kUserColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [&](Statement& st) {
          st.Bind(1, u.name).Bind(2, u.role).Bind(3, u.display_name).Bind(4, u.referring_name);
          st.Bind(5, u.password_hash).Bind(6, int64_t{u.disabled ? 1 : 0});
          st.Bind(7, static_cast<int64_t>(u.failed_count)).Bind(8, u.first_failure_at);
          st.Bind(9, u.locked_until).Bind(10, u.created_at).Bind(11, u.last_login);
        },
        nullptr, "user " + u.name + " exists");
  }

  // A write transaction on the writer connection (retried when another process writes).
  Status Write(const std::function<Status()>& fn) {
    std::lock_guard lock(write_mu);
    return writer->Transaction(fn, 5);
  }
};

SecurityStore::SecurityStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SecurityStore::~SecurityStore() = default;

Result<std::unique_ptr<SecurityStore>> SecurityStore::Open(const std::string& index_path) {
  auto conns = OpenStoreConnections(index_path, {"users", "sessions", "api_tokens"}, "security");
  if (!conns.ok()) return conns.status();
  auto impl = std::make_unique<Impl>();
  impl->writer = std::move(conns->writer);
  impl->path = index_path;
  impl->readers.push_back(std::move(conns->reader));
  return std::unique_ptr<SecurityStore>(new SecurityStore(std::move(impl)));
}

// ------------------------------------------------------------------------------ users

Result<bool> SecurityStore::HasUsers() {
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.status();
  auto rows = Impl::Rows<int64_t>(*reader.value().db, "SELECT COUNT(*) FROM users", [](Statement&) {},
                                  [](const Statement& st) { return st.Int(0); });
  if (!rows.ok()) return rows.status();
  return !rows->empty() && rows->front() > 0;
}

Status SecurityStore::InsertUser(const UserRow& user) {
  return impl_->Write([&] { return Impl::Insert(*impl_->writer, user); });
}

Status SecurityStore::InsertFirstUser(const UserRow& user) {
  return impl_->Write([&]() -> Status {
    auto count = Impl::Rows<int64_t>(*impl_->writer, "SELECT COUNT(*) FROM users", [](Statement&) {},
                                     [](const Statement& st) { return st.Int(0); });
    if (!count.ok()) return count.status();
    if (!count->empty() && count->front() > 0) return {ErrorCode::kConflict, "an account exists already"};
    return Impl::Insert(*impl_->writer, user);
  });
}

Result<std::optional<UserRow>> SecurityStore::GetUser(const std::string& name) {
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.status();
  return Impl::User(*reader.value().db, name);
}

Result<std::vector<UserRow>> SecurityStore::Users() {
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.status();
  return Impl::Rows<UserRow>(*reader.value().db, std::string("SELECT ") + kUserColumns + " FROM users ORDER BY name",
                             [](Statement&) {}, ReadUser);
}

Result<UserRow> SecurityStore::UpdateUser(const std::string& name, const UserUpdate& update) {
  UserRow out;
  Status s = impl_->Write([&]() -> Status {
    auto row = Impl::User(*impl_->writer, name);
    if (!row.ok()) return row.status();
    if (!row.value()) return {ErrorCode::kNotFound, "no user " + name};
    UserRow u = **row;
    if (update.role) u.role = *update.role;
    if (update.display_name) u.display_name = *update.display_name;
    if (update.referring_name) u.referring_name = *update.referring_name;
    if (update.password_hash) u.password_hash = *update.password_hash;
    if (update.disabled) u.disabled = *update.disabled;
    RADFLOW_RETURN_IF_ERROR(Impl::Run(
        *impl_->writer,
        "UPDATE users SET role = ?, display_name = ?, referring_name = ?, password_hash = ?,"
        " disabled = ? WHERE name = ?",
        [&](Statement& st) {
          st.Bind(1, u.role).Bind(2, u.display_name).Bind(3, u.referring_name).Bind(4, u.password_hash);
          st.Bind(5, int64_t{u.disabled ? 1 : 0}).Bind(6, name);
        }));
    out = u;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<UserRow> SecurityStore::RecordFailure(const std::string& name, int64_t now_ms,
                                             const FailurePolicy& policy) {
  UserRow out;
  Status s = impl_->Write([&]() -> Status {
    auto row = Impl::User(*impl_->writer, name);
    if (!row.ok()) return row.status();
    if (!row.value()) return {ErrorCode::kNotFound, "no user " + name};
    UserRow u = **row;
    if (u.failed_count == 0 || now_ms - u.first_failure_at > policy.window_ms) {
      u.failed_count = 1;
      u.first_failure_at = now_ms;
    } else {
      ++u.failed_count;
    }
    if (u.failed_count >= policy.failures) {
      u.locked_until = now_ms + policy.lock_ms;
      u.failed_count = 0;
      u.first_failure_at = 0;
    }
    RADFLOW_RETURN_IF_ERROR(Impl::Run(
        *impl_->writer, "UPDATE users SET failed_count = ?, first_failure_at = ?, locked_until = ? WHERE name = ?",
        [&](Statement& st) {
          st.Bind(1, static_cast<int64_t>(u.failed_count)).Bind(2, u.first_failure_at);
          st.Bind(3, u.locked_until).Bind(4, name);
        }));
    out = u;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Status SecurityStore::RecordSuccess(const std::string& name, int64_t now_ms) {
  return impl_->Write([&] {
    return Impl::Run(*impl_->writer,
                     "UPDATE users SET failed_count = 0, first_failure_at = 0, last_login = ? WHERE name = ?",
                     [&](Statement& st) { st.Bind(1, now_ms).Bind(2, name); });
  });
}

Status SecurityStore::Unlock(const std::string& name) {
  return impl_->Write([&]() -> Status {
    int changes = 0;
    RADFLOW_RETURN_IF_ERROR(Impl::Run(
        *impl_->writer, "UPDATE users SET failed_count = 0, first_failure_at = 0, locked_until = 0 WHERE name = ?",
        [&](Statement& st) { st.Bind(1, name); }, &changes));
    if (changes == 0) return {ErrorCode::kNotFound, "no user " + name};
    return Status::Ok();
  });
}

// --------------------------------------------------------------------------- sessions

Status SecurityStore::InsertSession(const SessionRow& r) {
  return impl_->Write([&] {
    return Impl::Run(
        *impl_->writer,
        std::string("INSERT INTO sessions (") + kSessionColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [&](Statement& st) {
          st.Bind(1, r.id_hash).Bind(2, r.user).Bind(3, r.role).Bind(4, r.method).Bind(5, r.referring_name);
          st.Bind(6, r.display_name).Bind(7, r.source).Bind(8, r.created_at).Bind(9, r.last_seen);
          st.Bind(10, r.expires_at);
        },
        nullptr, "session id collision");
  });
}

Result<std::optional<SessionRow>> SecurityStore::GetSession(const std::string& id_hash) {
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.status();
  return Impl::One<SessionRow>(*reader.value().db,
                               std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE id_hash = ?",
                               [&](Statement& st) { st.Bind(1, id_hash); }, ReadSession);
}

Result<std::optional<SecurityStore::SessionAndUser>> SecurityStore::SessionAndUserByHash(const std::string& id_hash) {
  // Columns 0-9 the session, 10 whether the account exists, 11-21 the account.
  static const std::string sql = "SELECT " + Qualified(kSessionColumns, "s") + ", u.name IS NOT NULL, " +
                                 Qualified(kUserColumns, "u") +
                                 " FROM sessions s LEFT JOIN users u ON u.name = s.user_name"
                                 " WHERE s.id_hash = ?";
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.status();
  return Impl::One<SessionAndUser>(*reader.value().db, sql, [&](Statement& st) { st.Bind(1, id_hash); },
                                   [](const Statement& st) {
                                     SessionAndUser r{ReadSession(st), std::nullopt};
                                     if (st.Int(10) != 0) r.user = ReadUserAt(st, 11);
                                     return r;
                                   });
}

Status SecurityStore::TouchSession(const std::string& id_hash, int64_t now_ms) {
  return impl_->Write([&] {
    return Impl::Run(*impl_->writer, "UPDATE sessions SET last_seen = ? WHERE id_hash = ? AND last_seen < ?",
                     [&](Statement& st) { st.Bind(1, now_ms).Bind(2, id_hash).Bind(3, now_ms); });
  });
}

Status SecurityStore::DeleteSession(const std::string& id_hash) {
  return impl_->Write([&] {
    return Impl::Run(*impl_->writer, "DELETE FROM sessions WHERE id_hash = ?",
                     [&](Statement& st) { st.Bind(1, id_hash); });
  });
}

Status SecurityStore::DeleteUserSessions(const std::string& user) {
  return impl_->Write([&] {
    return Impl::Run(*impl_->writer, "DELETE FROM sessions WHERE user_name = ?",
                     [&](Statement& st) { st.Bind(1, user); });
  });
}

Status SecurityStore::DeleteExpiredSessions(int64_t now_ms, int64_t idle_ms) {
  return impl_->Write([&] {
    return Impl::Run(*impl_->writer, "DELETE FROM sessions WHERE expires_at <= ? OR last_seen + ? <= ?",
                     [&](Statement& st) { st.Bind(1, now_ms).Bind(2, idle_ms).Bind(3, now_ms); });
  });
}

// ----------------------------------------------------------------------------- tokens

Result<int64_t> SecurityStore::InsertToken(const TokenRow& t) {
  int64_t id = 0;
  Status s = impl_->Write([&]() -> Status {
    RADFLOW_RETURN_IF_ERROR(Impl::Run(
        *impl_->writer,
        "INSERT INTO api_tokens (user_name, token_hash, label, created_at, expires_at, last_used, revoked_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [&](Statement& st) {
          st.Bind(1, t.user).Bind(2, t.token_hash).Bind(3, t.label).Bind(4, t.created_at);
          st.Bind(5, t.expires_at).Bind(6, t.last_used).Bind(7, t.revoked_at);
        },
        nullptr, "token collision"));
    id = impl_->writer->LastInsertId();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

Result<std::optional<TokenRow>> SecurityStore::TokenByHash(const std::string& token_hash) {
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.status();
  return Impl::One<TokenRow>(*reader.value().db,
                             std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE token_hash = ?",
                             [&](Statement& st) { st.Bind(1, token_hash); }, ReadToken);
}

Result<std::optional<SecurityStore::TokenAndUser>> SecurityStore::TokenAndUserByHash(const std::string& token_hash) {
  // Columns 0-7 the token, 8 whether the account exists, 9-19 the account.
  static const std::string sql = "SELECT " + Qualified(kTokenColumns, "t") + ", u.name IS NOT NULL, " +
                                 Qualified(kUserColumns, "u") +
                                 " FROM api_tokens t LEFT JOIN users u ON u.name = t.user_name"
                                 " WHERE t.token_hash = ?";
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.status();
  return Impl::One<TokenAndUser>(*reader.value().db, sql, [&](Statement& st) { st.Bind(1, token_hash); },
                                 [](const Statement& st) {
                                   TokenAndUser r{ReadToken(st), std::nullopt};
                                   if (st.Int(8) != 0) r.user = ReadUserAt(st, 9);
                                   return r;
                                 });
}

Result<std::optional<TokenRow>> SecurityStore::TokenById(int64_t id) {
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.status();
  return Impl::One<TokenRow>(*reader.value().db, std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE id = ?",
                             [&](Statement& st) { st.Bind(1, id); }, ReadToken);
}

Result<std::vector<TokenRow>> SecurityStore::Tokens(const std::string& user) {
  auto reader = impl_->Reader();
  if (!reader.ok()) return reader.status();
  return Impl::Rows<TokenRow>(
      *reader.value().db,
      std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE ? = '' OR user_name = ? ORDER BY id DESC",
      [&](Statement& st) { st.Bind(1, user).Bind(2, user); }, ReadToken);
}

Status SecurityStore::TouchToken(int64_t id, int64_t now_ms) {
  return impl_->Write([&] {
    return Impl::Run(*impl_->writer, "UPDATE api_tokens SET last_used = ? WHERE id = ? AND last_used < ?",
                     [&](Statement& st) { st.Bind(1, now_ms).Bind(2, id).Bind(3, now_ms); });
  });
}

Status SecurityStore::RevokeToken(int64_t id, int64_t now_ms) {
  return impl_->Write([&]() -> Status {
    auto row = Impl::One<TokenRow>(*impl_->writer,
                                   std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE id = ?",
                                   [&](Statement& st) { st.Bind(1, id); }, ReadToken);
    if (!row.ok()) return row.status();
    if (!row.value()) return {ErrorCode::kNotFound, "no token " + std::to_string(id)};
    return Impl::Run(*impl_->writer, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0",
                     [&](Statement& st) { st.Bind(1, now_ms).Bind(2, id); });
  });
}

}  // namespace radflow::storage
