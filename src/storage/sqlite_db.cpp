#include "storage/sqlite_db.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "storage/fuzzy.h"

namespace radflow::storage {

namespace {

void FuzzyPersonNameSql(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto text = [](sqlite3_value* v) {
    auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
    return std::string_view(p ? p : "", p ? static_cast<size_t>(sqlite3_value_bytes(v)) : 0);
  };
  sqlite3_result_int(ctx, FuzzyPersonNameMatch(text(argv[0]), text(argv[1])) ? 1 : 0);
}

class SqlitePrepared final : public Prepared {
 public:
  explicit SqlitePrepared(sqlite3_stmt* s) : s_(s) {}
  ~SqlitePrepared() override { sqlite3_finalize(s_); }
  void BindText(int i, std::string_view v) override {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindInt(int i, int64_t v) override { sqlite3_bind_int64(s_, i, v); }
  void BindDouble(int i, double v) override { sqlite3_bind_double(s_, i, v); }
  void BindNull(int i) override { sqlite3_bind_null(s_, i); }
  bool Step(Status* status) override {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE && status->ok()) {
      *status = Status(ErrorCode::kDatabaseError,
                       std::string("sqlite: ") + sqlite3_errmsg(sqlite3_db_handle(s_)));
    }
    return false;
  }
  std::string Text(int col) const override {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : "";
  }
  int64_t Int(int col) const override { return sqlite3_column_int64(s_, col); }
  double Double(int col) const override { return sqlite3_column_double(s_, col); }
  bool IsNull(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int Columns() const override { return sqlite3_column_count(s_); }
  void Reset() override {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

 private:
  sqlite3_stmt* s_;
};

}  // namespace

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return {ErrorCode::kDatabaseError, "cannot open index " + path + ": " + msg};
  }
  auto out = std::unique_ptr<SqliteDb>(new SqliteDb(db));
  sqlite3_create_function(db, "radflow_fuzzy_pn", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                          nullptr, FuzzyPersonNameSql, nullptr, nullptr);
  sqlite3_busy_timeout(db, 10000);
  // WAL: readers never block the writer. synchronous=FULL: a commit is on disk when
  // sqlite3_step returns, which is what "acknowledged means durable" needs.
  RADFLOW_RETURN_IF_ERROR(out->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                    " PRAGMA foreign_keys=OFF; PRAGMA cache_size=-32000;"));
  return out;
}

SqliteDb::~SqliteDb() {
  cache_.clear();  // statements finalized before the connection closes
  sqlite3_close(db_);
}

Status SqliteDb::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return {ErrorCode::kDatabaseError, "sqlite: " + msg};
  }
  return Status::Ok();
}

Status SqliteDb::Transaction(const std::function<Status()>& fn, int attempts) {
  Status begin;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    begin = Exec("BEGIN IMMEDIATE");
    if (begin.ok()) break;
    const int rc = sqlite3_errcode(db_) & 0xff;
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) return begin;
    if (attempt + 1 == attempts) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
  }
  if (!begin.ok()) return begin;
  Status s = fn();
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok() && !sqlite3_get_autocommit(db_)) (void)Exec("ROLLBACK");
  return s;
}

Result<Prepared*> SqliteDb::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  auto r = PrepareOnce(sql);
  if (!r.ok()) return r.status();
  Prepared* p = r.value().get();
  cache_.emplace(sql, std::move(r.value()));
  return p;
}

Result<std::unique_ptr<Prepared>> SqliteDb::PrepareOnce(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return Error("prepare '" + sql.substr(0, 80) + "'");
  }
  return std::unique_ptr<Prepared>(new SqlitePrepared(stmt));
}

bool SqliteDb::LastErrorWasUniqueViolation() const {
  const int rc = sqlite3_extended_errcode(db_);
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

Result<int> SqliteDb::SchemaVersion() {
  auto p = PrepareOnce("PRAGMA user_version");
  if (!p.ok()) return p.status();
  Status s;
  int version = 0;
  if (p.value()->Step(&s)) version = static_cast<int>(p.value()->Int(0));
  if (!s.ok()) return s;
  return version;
}

Status SqliteDb::SetSchemaVersion(int version) {
  return Exec("PRAGMA user_version = " + std::to_string(version));
}

Status SqliteDb::RequireTables(const std::vector<std::string>& tables, const std::string& where,
                               const std::string& what) {
  auto p = Prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
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

}  // namespace radflow::storage
