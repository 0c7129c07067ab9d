// Thin RAII over one SQLite connection with a prepared-statement cache. Internal to the
// storage module: no other module sees SQLite.
#pragma once

#include <sqlite3.h>

#include <memory>

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

class Statement {
 public:
  explicit Statement(sqlite3_stmt* s) : s_(s) {}
  ~Statement() { sqlite3_reset(s_); sqlite3_clear_bindings(s_); }
  Statement& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
  // SQLITE_ROW → true, SQLITE_DONE → false; errors go to status.
  bool Step(Status* status);
  std::string Text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : "";
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  int Columns() const { return sqlite3_column_count(s_); }

 private:
  sqlite3_stmt* s_;
};

class SqliteDb {
 public:
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb();
  Status Exec(const std::string& sql);
  // Runs `fn` between BEGIN IMMEDIATE and COMMIT; rolls back when fn or the commit fails.
  // The busy timeout covers waiting for another writer (the index and the job store share
  // index.db); with begin_attempts > 1, a BEGIN still busy after it is retried with backoff
  // (the job store; the index's writers, C-STOREs among them, wait one timeout at most).
  Status Transaction(const std::function<Status()>& fn, int begin_attempts = 1);
  // Cached prepared statement; valid until the connection closes.
  Result<sqlite3_stmt*> Prepare(const std::string& sql);
  // Uncached, for one-off dynamic SQL; finalize with sqlite3_finalize.
  Result<sqlite3_stmt*> PrepareOnce(const std::string& sql);
  Status Error(const std::string& what) const;
  // DatabaseError "<path> lacks the <what> tables (open it with storage::Index first)"
  // unless every table of `tables` exists: a store opened on a database the Index has not
  // migrated.
  Status RequireTables(const std::vector<std::string>& tables, const std::string& path,
                       const std::string& what);
  sqlite3* raw() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// A store's two connections on index.db: one for its writes (BEGIN IMMEDIATE), one for reads,
// so that a read never waits for a write.
struct StoreConnections {
  std::unique_ptr<SqliteDb> writer, reader;
};
// Opens them after checking that index.db exists (NotFound) and that the Index has migrated
// the store's `tables` (RequireTables; `what` names the store in the error).
Result<StoreConnections> OpenStoreConnections(const std::string& index_path, const std::vector<std::string>& tables,
                                              const std::string& what);

}  // namespace radflow::storage
