// The one SQL connection interface every store uses (docs/architecture.md "Storage"): SQLite
// (sqlite_db.cpp, the embedded default) and PostgreSQL through libpq (pg_db.cpp) implement it,
// so that no store knows which database runs. Internal to the storage module: no other module
// sees SQL.
//
// The stores write one SQL text for both backends (docs/postgresql.md "Portable SQL"): `?`
// placeholders (PostgreSQL's implementation numbers them $1…), ON CONFLICT upserts, COALESCE,
// RETURNING; where the dialects differ, sql_dialect.h gives the backend's spelling.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

enum class Backend { kSqlite, kPostgres };

// One prepared statement of a backend. Parameters are 1-based, columns 0-based.
class Prepared {
 public:
  virtual ~Prepared() = default;
  virtual void BindText(int i, std::string_view v) = 0;
  virtual void BindInt(int i, int64_t v) = 0;
  virtual void BindDouble(int i, double v) = 0;
  virtual void BindNull(int i) = 0;
  // Runs the statement on the first call; true while a row is current, false at the end or
  // on an error (which goes to *status, unless *status already holds one).
  virtual bool Step(Status* status) = 0;
  virtual std::string Text(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual double Double(int col) const = 0;
  virtual bool IsNull(int col) const = 0;
  virtual int Columns() const = 0;
  // Back to before the first Step, bindings cleared (the statement is reused).
  virtual void Reset() = 0;
};

// A use of a prepared statement; reset when it goes out of scope.
class Statement {
 public:
  explicit Statement(Prepared* p) : p_(p) {}
  ~Statement() { p_->Reset(); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& Bind(int i, const std::string& v) { p_->BindText(i, v); return *this; }
  Statement& Bind(int i, std::string_view v) { p_->BindText(i, v); return *this; }
  Statement& Bind(int i, const char* v) { p_->BindText(i, v); return *this; }
  Statement& Bind(int i, int64_t v) { p_->BindInt(i, v); return *this; }
  Statement& Bind(int i, int v) { p_->BindInt(i, v); return *this; }
  Statement& BindDouble(int i, double v) { p_->BindDouble(i, v); return *this; }
  Statement& BindNull(int i) { p_->BindNull(i); return *this; }
  bool Step(Status* status) { return p_->Step(status); }
  std::string Text(int col) const { return p_->Text(col); }
  int64_t Int(int col) const { return p_->Int(col); }
  double Double(int col) const { return p_->Double(col); }
  bool IsNull(int col) const { return p_->IsNull(col); }
  int Columns() const { return p_->Columns(); }

 private:
  Prepared* p_;
};

// One connection. Not thread-safe: one thread at a time (the stores' mutexes and pools).
class Db {
 public:
  virtual ~Db() = default;
  virtual Backend backend() const = 0;
  // Runs one or more statements without results (DDL, BEGIN/COMMIT).
  virtual Status Exec(const std::string& sql) = 0;
  // Runs `fn` in a transaction; rolls back when fn or the commit fails. SQLite: BEGIN
  // IMMEDIATE, a busy BEGIN retried `attempts` times with backoff. PostgreSQL: the whole
  // transaction retried up to `attempts` times (at least 3) when it fails with a
  // serialization failure or deadlock (SQLSTATE 40001/40P01), so fn must be repeatable.
  virtual Status Transaction(const std::function<Status()>& fn, int attempts = 1) = 0;
  // Cached prepared statement; valid until the connection closes.
  virtual Result<Prepared*> Prepare(const std::string& sql) = 0;
  // Uncached, for one-off dynamic SQL.
  virtual Result<std::unique_ptr<Prepared>> PrepareOnce(const std::string& sql) = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE run on this connection.
  virtual int64_t Changes() const = 0;
  // The id the last INSERT on this connection gave its table's integer primary key.
  virtual int64_t LastInsertId() = 0;
  // Whether the last failed statement broke a UNIQUE or PRIMARY KEY constraint.
  virtual bool LastErrorWasUniqueViolation() const = 0;
  // Whether the last failure was a serialization failure or a deadlock (PostgreSQL SQLSTATE
  // 40001/40P01): the transaction may succeed when run again. Code that confines a failure
  // with a savepoint returns such a failure instead, so that Transaction reruns it all.
  virtual bool LastErrorWasRetryable() const { return false; }
  // The last error's text, as the backend says it.
  virtual std::string LastErrorMessage() const = 0;
  // Whether a transaction is open on this connection.
  virtual bool InTransaction() const = 0;
  // The schema version the migrations reached (0: none), and recording a new one (inside
  // the migration's transaction).
  virtual Result<int> SchemaVersion() = 0;
  virtual Status SetSchemaVersion(int version) = 0;
  // DatabaseError "<where> lacks the <what> tables (open it with storage::Index first)"
  // unless every table of `tables` exists.
  virtual Status RequireTables(const std::vector<std::string>& tables, const std::string& where,
                               const std::string& what) = 0;
  // Inside a migration's transaction: keeps other processes from migrating the same database
  // until it ends (PostgreSQL: an advisory lock, as several nodes may start at once; SQLite:
  // nothing to do, BEGIN IMMEDIATE already excludes other writers).
  virtual Status LockForMigration() { return Status::Ok(); }
  // DatabaseError naming what failed and the backend's message.
  Status Error(const std::string& what) const;
};

// Whether `location` names a PostgreSQL database (postgresql:// or postgres:// URI, libpq's
// form) rather than an SQLite file path.
bool IsPostgresLocation(const std::string& location);
// Opens a connection: a PostgreSQL URI through libpq, anything else as an SQLite file.
Result<std::unique_ptr<Db>> OpenDb(const std::string& location);
// A location for messages: the URI without its password.
std::string RedactLocation(const std::string& location);

// A store's two connections: one for its writes, one for reads, so that a read never waits
// for a write.
struct StoreConnections {
  std::unique_ptr<Db> writer, reader;
};
// Opens them after checking that the database exists (NotFound; an SQLite file) and that the
// Index has migrated the store's `tables` (RequireTables; `what` names the store).
Result<StoreConnections> OpenStoreConnections(const std::string& location,
                                              const std::vector<std::string>& tables,
                                              const std::string& what);

}  // namespace radflow::storage
