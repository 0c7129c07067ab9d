// SCAFFOLD: implemented by the PostgreSQL helper (libpq).
#include "storage/pg_db.h"

namespace radflow::storage {

struct PgDb::Impl {};

PgDb::PgDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgDb::~PgDb() = default;

Result<std::unique_ptr<PgDb>> PgDb::Open(const std::string&) {
  return Status(ErrorCode::kUnsupported, "PostgreSQL index not built yet");
}
Status PgDb::Exec(const std::string&) { return Status(ErrorCode::kUnsupported, "pg"); }
Status PgDb::Transaction(const std::function<Status()>&, int) { return Status(ErrorCode::kUnsupported, "pg"); }
Result<Prepared*> PgDb::Prepare(const std::string&) { return Status(ErrorCode::kUnsupported, "pg"); }
Result<std::unique_ptr<Prepared>> PgDb::PrepareOnce(const std::string&) { return Status(ErrorCode::kUnsupported, "pg"); }
int64_t PgDb::Changes() const { return 0; }
int64_t PgDb::LastInsertId() { return 0; }
bool PgDb::LastErrorWasUniqueViolation() const { return false; }
std::string PgDb::LastErrorMessage() const { return ""; }
bool PgDb::InTransaction() const { return false; }
Result<int> PgDb::SchemaVersion() { return Status(ErrorCode::kUnsupported, "pg"); }
Status PgDb::SetSchemaVersion(int) { return Status(ErrorCode::kUnsupported, "pg"); }
Status PgDb::RequireTables(const std::vector<std::string>&, const std::string&, const std::string&) {
  return Status(ErrorCode::kUnsupported, "pg");
}
std::string ToPostgresSql(const std::string& sql) { return sql; }

}  // namespace radflow::storage
