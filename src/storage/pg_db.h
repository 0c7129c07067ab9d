// The PostgreSQL implementation of storage::Db, through libpq (docs/postgresql.md
// "PostgreSQL implementation"): server-side prepared statements with text parameters,
// `?` → `$N`, transactions rerun on serialization failure or deadlock, a reconnection when
// the server ends the session. Internal to the storage module: no other module sees libpq.
#pragma once

#include <memory>
#include <string>

#include "storage/db.h"

namespace radflow::storage {

class PgDb final : public Db {
 public:
  // `uri`: libpq's connection URI, postgresql://[user[:password]@]host[:port]/dbname[?…].
  static Result<std::unique_ptr<PgDb>> Open(const std::string& uri);
  ~PgDb() override;
  Backend backend() const override { return Backend::kPostgres; }
  Status Exec(const std::string& sql) override;
  Status Transaction(const std::function<Status()>& fn, int attempts = 1) override;
  Result<Prepared*> Prepare(const std::string& sql) override;
  Result<std::unique_ptr<Prepared>> PrepareOnce(const std::string& sql) override;
  int64_t Changes() const override;
  // SELECT lastval(): the identity this session's last INSERT generated (0 when none yet).
  int64_t LastInsertId() override;
  bool LastErrorWasUniqueViolation() const override;
  bool LastErrorWasRetryable() const override;
  std::string LastErrorMessage() const override;
  bool InTransaction() const override;
  Result<int> SchemaVersion() override;
  Status SetSchemaVersion(int version) override;
  Status RequireTables(const std::vector<std::string>& tables, const std::string& where,
                       const std::string& what) override;
  // pg_advisory_xact_lock on a fixed key: until this transaction ends, no other radflow
  // node migrates the same database.
  Status LockForMigration() override;

  struct Impl;

 private:
  explicit PgDb(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The SQL text for PostgreSQL of one written for both backends (docs/postgresql.md
// "Portable SQL"): `?` placeholders numbered $1…, outside quotes, comments and dollar-quoted
// text; SQLite's `?NNN` becomes $NNN and a later bare `?` continues from the highest.
std::string ToPostgresSql(const std::string& sql);

}  // namespace radflow::storage
