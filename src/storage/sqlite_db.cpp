#include "storage/sqlite_db.h"

#include "storage/fuzzy.h"

#include <chrono>
#include <filesystem>
#include <thread>

namespace radflow::storage {

namespace {
void FuzzyPersonNameSql(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto text = [](sqlite3_value* v) {
    auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
    return std::string_view(p ? p : "", p ? static_cast<size_t>(sqlite3_value_bytes(v)) : 0);
  };
  sqlite3_result_int(ctx, FuzzyPersonNameMatch(text(argv[0]), text(argv[1])) ? 1 : 0);
}
}  // namespace

bool Statement::Step(Status* status) {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE && status->ok()) {
    *status = Status(ErrorCode::kDatabaseError,
                     std::string("sqlite: ") + sqlite3_errmsg(sqlite3_db_handle(s_)));
  }
  return false;
}

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
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
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

Status SqliteDb::Transaction(const std::function<Status()>& fn, int begin_attempts) {
  Status begin;
  for (int attempt = 0; attempt < begin_attempts; ++attempt) {
    begin = Exec("BEGIN IMMEDIATE");
    if (begin.ok()) break;
    const int rc = sqlite3_errcode(db_) & 0xff;
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) return begin;
    if (attempt + 1 == begin_attempts) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
  }
  if (!begin.ok()) return begin;
  Status s = fn();
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok() && !sqlite3_get_autocommit(db_)) (void)Exec("ROLLBACK");
  return s;
}

Result<sqlite3_stmt*> SqliteDb::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second;
  auto r = PrepareOnce(sql);
  if (r.ok()) cache_.emplace(sql, r.value());
  return r;
}

Result<sqlite3_stmt*> SqliteDb::PrepareOnce(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return Error("prepare '" + sql.substr(0, 80) + "'");
  }
  return stmt;
}

Status SqliteDb::RequireTables(const std::vector<std::string>& tables, const std::string& path,
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
              path + " lacks the " + what + " tables (open it with storage::Index first)"};
    }
  }
  return Status::Ok();
}

Status SqliteDb::Error(const std::string& what) const {
  return {ErrorCode::kDatabaseError, "sqlite " + what + ": " + sqlite3_errmsg(db_)};
}

Result<StoreConnections> OpenStoreConnections(const std::string& index_path, const std::vector<std::string>& tables,
                                              const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::exists(index_path, ec)) {
    return Status(ErrorCode::kNotFound, "no index database at " + index_path);
  }
  StoreConnections c;
  for (auto* slot : {&c.writer, &c.reader}) {
    auto db = SqliteDb::Open(index_path);
    if (!db.ok()) return db.status();
    *slot = std::move(db.value());
  }
  RADFLOW_RETURN_IF_ERROR(c.reader->RequireTables(tables, index_path, what));
  return c;
}

}  // namespace radflow::storage
