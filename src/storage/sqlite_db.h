// The SQLite implementation of storage::Db (the embedded default): one connection with a
// prepared-statement cache. Internal to the storage module: no other module sees SQLite.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "storage/db.h"

namespace radflow::storage {

class SqliteDb final : public Db {
 public:
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb() override;
  Backend backend() const override { return Backend::kSqlite; }
  Status Exec(const std::string& sql) override;
  // BEGIN IMMEDIATE … COMMIT. The busy timeout covers waiting for another writer (the index
  // and the stores share index.db); with attempts > 1, a BEGIN still busy after it is
  // retried with backoff (the job store; the index's writers, C-STOREs among them, wait one
  // timeout at most).
  Status Transaction(const std::function<Status()>& fn, int attempts = 1) override;
  Result<Prepared*> Prepare(const std::string& sql) override;
  Result<std::unique_ptr<Prepared>> PrepareOnce(const std::string& sql) override;
  int64_t Changes() const override { return sqlite3_changes(db_); }
  int64_t LastInsertId() override { return sqlite3_last_insert_rowid(db_); }
  bool LastErrorWasUniqueViolation() const override;
  std::string LastErrorMessage() const override { return sqlite3_errmsg(db_); }
  bool InTransaction() const override { return !sqlite3_get_autocommit(db_); }
  Result<int> SchemaVersion() override;
  Status SetSchemaVersion(int version) override;
  Status RequireTables(const std::vector<std::string>& tables, const std::string& where,
                       const std::string& what) override;

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Prepared>> cache_;
};

}  // namespace radflow::storage
