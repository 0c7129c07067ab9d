#include "storage/pg_db.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

namespace radflow::storage {

namespace {

// Type OIDs of pg_type.dat (stable across versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kTextOid = 25;

// The fixed key of the advisory lock the migrations take (any constant shared by every
// radflow node; "radf" in ASCII).
constexpr int64_t kMigrationLockKey = 0x72616466;

bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The translation of ToPostgresSql, with the number of parameters it found.
std::string Translate(const std::string& sql, int* params) {
  std::string out;
  out.reserve(sql.size() + 16);
  int max = 0;
  const size_t n = sql.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a literal or quoted identifier: '' and "" stay inside
      const size_t end = sql.find(c, i + 1);
      const size_t stop = end == std::string::npos ? n : end + 1;
      out.append(sql, i, stop - i);
      i = stop - 1;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string::npos ? n : end;
      out.append(sql, i, stop - i);
      i = stop - 1;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      const size_t end = sql.find("*/", i + 2);
      const size_t stop = end == std::string::npos ? n : end + 2;
      out.append(sql, i, stop - i);
      i = stop - 1;
    } else if (c == '$' && (i == 0 || !IsIdentChar(sql[i - 1])) && i + 1 < n &&
               !std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      // A dollar-quoted string ($$…$$, $tag$…$tag$) stays as it is.
      size_t t = i + 1;
      while (t < n && (std::isalnum(static_cast<unsigned char>(sql[t])) || sql[t] == '_')) ++t;
      if (t < n && sql[t] == '$') {
        const std::string tag = sql.substr(i, t - i + 1);
        const size_t end = sql.find(tag, t + 1);
        const size_t stop = end == std::string::npos ? n : end + tag.size();
        out.append(sql, i, stop - i);
        i = stop - 1;
      } else {
        out += c;
      }
    } else if (c == '?') {
      // SQLite's numbering: ?NNN is parameter NNN, a bare ? the highest so far plus one.
      size_t d = i + 1;
      while (d < n && std::isdigit(static_cast<unsigned char>(sql[d]))) ++d;
      int number = max + 1;
      if (d > i + 1) number = std::atoi(sql.substr(i + 1, d - i - 1).c_str());
      max = std::max(max, number);
      out += '$';
      out += std::to_string(number);
      i = d - 1;
    } else {
      out += c;
    }
  }
  if (params) *params = max;
  return out;
}

std::string TrimNewline(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

bool IsChangeCommand(const char* tag) {
  return std::strncmp(tag, "INSERT", 6) == 0 || std::strncmp(tag, "UPDATE", 6) == 0 ||
         std::strncmp(tag, "DELETE", 6) == 0 || std::strncmp(tag, "MERGE", 5) == 0;
}

// The connection and what the Db interface reports about its last statements. Shared with
// the PgPrepared objects so that a statement outliving its PgDb never touches freed memory.
struct PgConn {
  PGconn* pg = nullptr;
  int64_t changes = 0;
  std::string last_error;
  std::string last_sqlstate;
  uint64_t failures = 0;  // counts failures: Transaction sees whether its attempt had one
  int next_name = 0;
  std::vector<std::string> to_deallocate;  // PrepareOnce names not yet dropped
  // Counts reconnections: a statement prepared in an earlier one is prepared again.
  uint64_t generation = 0;
  bool reconnecting = false;

  ~PgConn() {
    if (pg) PQfinish(pg);
  }

  // Records the outcome of `res` (not freed here); true when it succeeded.
  bool Note(PGresult* res) {
    const ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
      const char* tag = PQcmdStatus(res);
      if (tag && IsChangeCommand(tag)) changes = std::strtoll(PQcmdTuples(res), nullptr, 10);
      return true;
    }
    ++failures;
    last_error = res ? TrimNewline(PQresultErrorMessage(res)) : TrimNewline(PQerrorMessage(pg));
    if (last_error.empty()) last_error = TrimNewline(PQerrorMessage(pg));
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    last_sqlstate = state ? state : "";
    if (PQstatus(pg) == CONNECTION_BAD) Reconnect();
    return false;
  }

  // The session settings of every connection (Open and after a reconnection).
  Status Configure() {
    // synchronous_commit=on: COMMIT returns once the commit is on disk (and on a synchronous
    // standby, where one is configured) — "acknowledged means durable", as with SQLite's
    // synchronous=FULL. Notices (IF NOT EXISTS …) are not errors: only warnings are sent.
    return Exec("SET client_min_messages = warning; SET synchronous_commit = on;"
                " SET client_encoding = 'UTF8'");
  }

  // The server went away (restart, failover, an administrator's pg_terminate_backend): the
  // failed statement keeps its error, and the connection is made again for the next one, so
  // that a database restart does not need a radflow restart. An open transaction is lost
  // with the old session; its Transaction() call has already failed.
  void Reconnect() {
    if (reconnecting) return;
    reconnecting = true;
    const std::string error = last_error, state = last_sqlstate;
    PQreset(pg);
    if (PQstatus(pg) == CONNECTION_OK) {
      ++generation;
      to_deallocate.clear();  // the old session's statements went with it
      (void)Configure();
    }
    last_error = error;
    last_sqlstate = state;
    reconnecting = false;
  }

  Status Exec(const std::string& sql) {
    PGresult* res = PQexec(pg, sql.c_str());
    const bool ok = Note(res);
    PQclear(res);
    if (ok) return Status::Ok();
    return {ErrorCode::kDatabaseError, "postgresql: " + last_error};
  }

  // Drops the statements PrepareOnce left, outside transactions only: a DEALLOCATE that
  // failed there would abort the caller's transaction. Best effort (a leftover statement
  // costs server memory until the connection closes).
  void DeallocatePending() {
    if (to_deallocate.empty() || PQtransactionStatus(pg) != PQTRANS_IDLE) return;
    std::string sql;
    for (const auto& name : to_deallocate) sql += "DEALLOCATE " + name + ";";
    PQclear(PQexec(pg, sql.c_str()));
    to_deallocate.clear();
  }
};

class PgPrepared final : public Prepared {
 public:
  PgPrepared(std::shared_ptr<PgConn> conn, std::string name, std::string text,
             std::vector<Oid> types, bool once)
      : conn_(std::move(conn)), name_(std::move(name)), text_(std::move(text)),
        types_(std::move(types)), values_(types_.size()), once_(once),
        generation_(conn_->generation) {}
  ~PgPrepared() override {
    PQclear(res_);
    if (once_ && generation_ == conn_->generation) {
      conn_->to_deallocate.push_back(name_);
      conn_->DeallocatePending();
    }
  }

  void BindText(int i, std::string_view v) override { Slot(i) = std::string(v); }
  void BindInt(int i, int64_t v) override { Slot(i) = std::to_string(v); }
  void BindDouble(int i, double v) override {
    if (std::isnan(v)) {
      Slot(i) = "NaN";
    } else if (std::isinf(v)) {
      Slot(i) = v > 0 ? "Infinity" : "-Infinity";
    } else {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof(buf), v);  // shortest text that reads back v
      Slot(i) = std::string(buf, r.ptr);
    }
  }
  void BindNull(int i) override { Slot(i).reset(); }

  bool Step(Status* status) override {
    if (!executed_) {
      executed_ = true;
      if (generation_ != conn_->generation && !PrepareAgain(status)) return false;
      // As many values as the statement has parameters (SQLite ignores a binding beyond).
      std::vector<const char*> ptrs(types_.size());
      for (size_t i = 0; i < ptrs.size(); ++i) {
        ptrs[i] = values_[i] ? values_[i]->c_str() : nullptr;
      }
      res_ = PQexecPrepared(conn_->pg, name_.c_str(), static_cast<int>(ptrs.size()),
                            ptrs.data(), nullptr, nullptr, 0);
      if (!conn_->Note(res_)) {
        PQclear(res_);
        res_ = nullptr;
        if (status->ok()) {
          *status = Status(ErrorCode::kDatabaseError, "postgresql: " + conn_->last_error);
        }
        return false;
      }
      rows_ = PQresultStatus(res_) == PGRES_TUPLES_OK ? PQntuples(res_) : 0;
      row_ = -1;
    }
    if (row_ < rows_) ++row_;
    return row_ < rows_;
  }

  std::string Text(int col) const override {
    if (!Current(col)) return "";
    const char* v = PQgetvalue(res_, row_, col);
    const Oid type = PQftype(res_, col);
    if (type == kBoolOid) return v[0] == 't' ? "1" : "0";  // as SQLite gives a comparison
    if (type == kByteaOid) {
      size_t len = 0;
      unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(v), &len);
      std::string out(reinterpret_cast<const char*>(raw), raw ? len : 0);
      PQfreemem(raw);
      return out;
    }
    return std::string(v, static_cast<size_t>(PQgetlength(res_, row_, col)));
  }
  int64_t Int(int col) const override {
    if (!Current(col)) return 0;
    const char* v = PQgetvalue(res_, row_, col);
    if (PQftype(res_, col) == kBoolOid) return v[0] == 't' ? 1 : 0;
    char* end = nullptr;
    const long long n = std::strtoll(v, &end, 10);
    if (end && (*end == '.' || *end == 'e' || *end == 'E')) {  // a numeric or float: truncated
      return static_cast<int64_t>(std::strtod(v, nullptr));
    }
    return n;
  }
  double Double(int col) const override {
    if (!Current(col)) return 0;
    const char* v = PQgetvalue(res_, row_, col);
    if (PQftype(res_, col) == kBoolOid) return v[0] == 't' ? 1 : 0;
    return std::strtod(v, nullptr);  // also reads "Infinity" and "NaN"
  }
  bool IsNull(int col) const override { return !Current(col) || PQgetisnull(res_, row_, col); }
  int Columns() const override {
    if (res_) return PQnfields(res_);
    if (columns_ < 0) {  // before the first Step: the server describes the statement
      PGresult* d = PQdescribePrepared(conn_->pg, name_.c_str());
      columns_ = PQresultStatus(d) == PGRES_COMMAND_OK ? PQnfields(d) : 0;
      PQclear(d);
    }
    return columns_;
  }
  void Reset() override {
    PQclear(res_);
    res_ = nullptr;
    executed_ = false;
    row_ = -1;
    rows_ = 0;
    for (auto& v : values_) v.reset();
  }

 private:
  // After a reconnection: the new session does not know the statement yet.
  bool PrepareAgain(Status* status) {
    PGresult* res = PQprepare(conn_->pg, name_.c_str(), text_.c_str(),
                              static_cast<int>(types_.size()), types_.empty() ? nullptr : types_.data());
    const bool ok = conn_->Note(res);
    PQclear(res);
    if (ok) {
      generation_ = conn_->generation;
    } else if (status->ok()) {
      *status = Status(ErrorCode::kDatabaseError, "postgresql: " + conn_->last_error);
    }
    return ok;
  }
  std::optional<std::string>& Slot(int i) {
    if (i < 1) i = 1;
    if (static_cast<size_t>(i) > values_.size()) values_.resize(static_cast<size_t>(i));
    return values_[static_cast<size_t>(i - 1)];
  }
  bool Current(int col) const {
    return res_ && row_ >= 0 && row_ < rows_ && col >= 0 && col < PQnfields(res_);
  }

  std::shared_ptr<PgConn> conn_;
  std::string name_;
  std::string text_;         // the PostgreSQL text, for PrepareAgain
  std::vector<Oid> types_;   // 0: inferred by the server; one per parameter
  std::vector<std::optional<std::string>> values_;  // text form; nullopt is SQL NULL
  bool once_;
  uint64_t generation_;
  PGresult* res_ = nullptr;
  bool executed_ = false;
  int row_ = -1, rows_ = 0;
  mutable int columns_ = -1;
};

}  // namespace

struct PgDb::Impl {
  std::shared_ptr<PgConn> conn = std::make_shared<PgConn>();
  std::unordered_map<std::string, std::unique_ptr<Prepared>> cache;

  // PQprepare with the types the server infers (paramTypes 0). A parameter whose type it
  // cannot infer ("? IS NULL", "SELECT ?": SQLSTATE 42P18 names it) is declared text, as
  // SQLite would take the value, and the statement prepared again. Inside a transaction a
  // savepoint keeps a failed prepare from aborting it (SQLite's prepare leaves it alone).
  Result<std::unique_ptr<PgPrepared>> Make(const std::string& sql, bool once) {
    conn->DeallocatePending();
    int params = 0;
    const std::string text = Translate(sql, &params);
    std::string name = (once ? "rf_once_" : "rf_") + std::to_string(++conn->next_name);
    const bool in_tx = PQtransactionStatus(conn->pg) == PQTRANS_INTRANS;
    if (in_tx) (void)conn->Exec("SAVEPOINT radflow_prepare");
    std::vector<Oid> types(static_cast<size_t>(params), 0);
    bool ok = false;
    for (int attempt = 0; attempt <= params; ++attempt) {
      PGresult* res = PQprepare(conn->pg, name.c_str(), text.c_str(), params,
                                params ? types.data() : nullptr);
      ok = conn->Note(res);
      PQclear(res);
      if (ok || conn->last_sqlstate != "42P18") break;
      const size_t at = conn->last_error.find("parameter $");
      const int n = at == std::string::npos ? 0 : std::atoi(conn->last_error.c_str() + at + 11);
      if (n < 1 || n > params || types[static_cast<size_t>(n - 1)] != 0) break;
      types[static_cast<size_t>(n - 1)] = kTextOid;
      if (in_tx) (void)conn->Exec("ROLLBACK TO radflow_prepare");
    }
    if (in_tx) {
      const std::string error = conn->last_error, state = conn->last_sqlstate;
      (void)conn->Exec(ok ? "RELEASE radflow_prepare"
                          : "ROLLBACK TO radflow_prepare; RELEASE radflow_prepare");
      conn->last_error = error;
      conn->last_sqlstate = state;
    }
    if (!ok) {
      return Status(ErrorCode::kDatabaseError,
                    "postgresql prepare '" + sql.substr(0, 80) + "': " + conn->last_error);
    }
    return std::make_unique<PgPrepared>(conn, std::move(name), text, std::move(types), once);
  }
};

PgDb::PgDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PgDb::~PgDb() {
  impl_->cache.clear();  // statements go before the connection (unless one outlives us)
}

Result<std::unique_ptr<PgDb>> PgDb::Open(const std::string& uri) {
  auto impl = std::make_unique<Impl>();
  impl->conn->pg = PQconnectdb(uri.c_str());
  if (impl->conn->pg == nullptr || PQstatus(impl->conn->pg) != CONNECTION_OK) {
    const std::string msg =
        impl->conn->pg ? TrimNewline(PQerrorMessage(impl->conn->pg)) : "out of memory";
    return Status(ErrorCode::kDatabaseError,
                  "cannot connect to PostgreSQL " + RedactLocation(uri) + ": " + msg);
  }
  Status s = impl->conn->Configure();
  if (!s.ok()) {
    return Status(ErrorCode::kDatabaseError,
                  "cannot configure PostgreSQL " + RedactLocation(uri) + ": " + s.message());
  }
  return std::unique_ptr<PgDb>(new PgDb(std::move(impl)));
}

Status PgDb::Exec(const std::string& sql) { return impl_->conn->Exec(sql); }

Status PgDb::Transaction(const std::function<Status()>& fn, int attempts) {
  PgConn& c = *impl_->conn;
  if (InTransaction()) {
    // As SQLite's BEGIN inside a transaction: PostgreSQL would only warn and then commit
    // the outer transaction at our COMMIT.
    return {ErrorCode::kDatabaseError, "postgresql: a transaction is already open"};
  }
  attempts = std::max(attempts, 3);
  Status s;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    const uint64_t failures = c.failures;
    s = c.Exec("BEGIN");
    if (!s.ok()) return s;
    s = fn();
    if (s.ok() && PQtransactionStatus(c.pg) == PQTRANS_INERROR) {
      // A statement failed and fn went on; COMMIT would answer "ROLLBACK" without an error.
      s = Status(ErrorCode::kDatabaseError, "postgresql: transaction aborted: " + c.last_error);
    }
    if (s.ok()) s = c.Exec("COMMIT");
    if (s.ok()) return s;
    if (InTransaction()) (void)c.Exec("ROLLBACK");
    const bool retry = c.failures != failures && LastErrorWasRetryable();
    if (!retry || attempt + 1 == attempts) return s;
    // Serialization failure or deadlock: the other transaction won; run ours again, after
    // a pause that grows (10 ms, 20 ms … at most 640 ms) and differs between the
    // contenders, so that they do not meet again in the same order.
    thread_local std::minstd_rand jitter(std::random_device{}());
    const int base = 10 << std::min(attempt, 6);
    std::this_thread::sleep_for(std::chrono::milliseconds(base + jitter() % base));
  }
  return s;
}

Result<Prepared*> PgDb::Prepare(const std::string& sql) {
  auto it = impl_->cache.find(sql);
  if (it != impl_->cache.end()) return it->second.get();
  auto r = impl_->Make(sql, false);
  if (!r.ok()) return r.status();
  Prepared* p = r.value().get();
  impl_->cache.emplace(sql, std::move(r.value()));
  return p;
}

Result<std::unique_ptr<Prepared>> PgDb::PrepareOnce(const std::string& sql) {
  auto r = impl_->Make(sql, true);
  if (!r.ok()) return r.status();
  return std::unique_ptr<Prepared>(std::move(r.value()));
}

int64_t PgDb::Changes() const { return impl_->conn->changes; }

// lastval(): the value nextval() last returned in this session, which is the identity
// sequence of this session's last INSERT into a table with a generated key (the same
// meaning as sqlite3_last_insert_rowid for radflow's tables). Inside a transaction a
// savepoint keeps its "not yet defined" error from aborting the transaction.
int64_t PgDb::LastInsertId() {
  PgConn& c = *impl_->conn;
  const PGTransactionStatusType tx = PQtransactionStatus(c.pg);
  if (tx == PQTRANS_INERROR) return 0;
  const bool in_tx = tx == PQTRANS_INTRANS;
  if (in_tx && !c.Exec("SAVEPOINT radflow_lastval").ok()) return 0;
  PGresult* res = PQexec(c.pg, "SELECT lastval()");
  int64_t id = 0;
  const bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
  if (ok) id = std::strtoll(PQgetvalue(res, 0, 0), nullptr, 10);
  PQclear(res);
  if (in_tx) {
    (void)c.Exec(ok ? "RELEASE radflow_lastval"
                    : "ROLLBACK TO radflow_lastval; RELEASE radflow_lastval");
  }
  return id;
}

bool PgDb::LastErrorWasUniqueViolation() const { return impl_->conn->last_sqlstate == "23505"; }

bool PgDb::LastErrorWasRetryable() const {
  return impl_->conn->last_sqlstate == "40001" || impl_->conn->last_sqlstate == "40P01";
}

std::string PgDb::LastErrorMessage() const { return impl_->conn->last_error; }

bool PgDb::InTransaction() const {
  const PGTransactionStatusType tx = PQtransactionStatus(impl_->conn->pg);
  return tx == PQTRANS_INTRANS || tx == PQTRANS_INERROR;
}

Result<int> PgDb::SchemaVersion() {
  // Read without creating the table: two nodes starting at once would race on CREATE
  // TABLE; SetSchemaVersion creates it under the migration lock. pg_tables, not
  // to_regclass: a catalog query sees what another node committed since this transaction
  // began (to_regclass may answer from this session's stale relation cache).
  PGresult* res = PQexec(impl_->conn->pg,
                         "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE"
                         " schemaname = current_schema() AND tablename = 'radflow_schema_version')"
                         " THEN 0 ELSE -1 END");
  bool ok = impl_->conn->Note(res);
  const bool exists = ok && PQntuples(res) == 1 && std::strcmp(PQgetvalue(res, 0, 0), "0") == 0;
  PQclear(res);
  if (!ok) return Error("schema version");
  if (!exists) return 0;
  res = PQexec(impl_->conn->pg, "SELECT COALESCE(MAX(version), 0) FROM radflow_schema_version");
  ok = impl_->conn->Note(res);
  const int version = ok && PQntuples(res) == 1 ? std::atoi(PQgetvalue(res, 0, 0)) : 0;
  PQclear(res);
  if (!ok) return Error("schema version");
  return version;
}

Status PgDb::SetSchemaVersion(int version) {
  return Exec(
      "CREATE TABLE IF NOT EXISTS radflow_schema_version (version INTEGER NOT NULL);"
      " DELETE FROM radflow_schema_version;"
      " INSERT INTO radflow_schema_version (version) VALUES (" +
      std::to_string(version) + ")");
}

Status PgDb::LockForMigration() {
  return Exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")");
}

Status PgDb::RequireTables(const std::vector<std::string>& tables, const std::string& where,
                           const std::string& what) {
  auto p = Prepare(
      "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
      " AND table_name = ?");
  if (!p.ok()) return p.status();
  for (const auto& table : tables) {
    Statement st(p.value());
    st.Bind(1, table);
    Status s;
    const bool present = st.Step(&s) && st.Int(0) == 1;
    RADFLOW_RETURN_IF_ERROR(s);
    if (!present) {
      return {ErrorCode::kDatabaseError,
              where + " lacks the " + what + " tables (open it with storage::Index first)"};
    }
  }
  return Status::Ok();
}

std::string ToPostgresSql(const std::string& sql) { return Translate(sql, nullptr); }

}  // namespace radflow::storage
