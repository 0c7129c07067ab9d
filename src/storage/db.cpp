#include "storage/db.h"

#include <filesystem>

#include "storage/pg_db.h"
#include "storage/sqlite_db.h"

namespace radflow::storage {

Status Db::Error(const std::string& what) const {
  return {ErrorCode::kDatabaseError,
          std::string(backend() == Backend::kSqlite ? "sqlite " : "postgresql ") + what + ": " +
              LastErrorMessage()};
}

bool IsPostgresLocation(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::string RedactLocation(const std::string& location) {
  if (!IsPostgresLocation(location)) return location;
  // scheme://user:password@host → scheme://user:***@host
  const size_t scheme = location.find("://") + 3;
  const size_t at = location.find('@', scheme);
  if (at == std::string::npos) return location;
  const size_t colon = location.find(':', scheme);
  if (colon == std::string::npos || colon > at) return location;
  return location.substr(0, colon + 1) + "***" + location.substr(at);
}

Result<std::unique_ptr<Db>> OpenDb(const std::string& location) {
  if (IsPostgresLocation(location)) {
    auto db = PgDb::Open(location);
    if (!db.ok()) return db.status();
    return std::unique_ptr<Db>(std::move(db.value()));
  }
  auto db = SqliteDb::Open(location);
  if (!db.ok()) return db.status();
  return std::unique_ptr<Db>(std::move(db.value()));
}

Result<StoreConnections> OpenStoreConnections(const std::string& location,
                                              const std::vector<std::string>& tables,
                                              const std::string& what) {
  std::error_code ec;
  if (!IsPostgresLocation(location) && !std::filesystem::exists(location, ec)) {
    return Status(ErrorCode::kNotFound, "no index database at " + location);
  }
  StoreConnections c;
  for (auto* slot : {&c.writer, &c.reader}) {
    auto db = OpenDb(location);
    if (!db.ok()) return db.status();
    *slot = std::move(db.value());
  }
  RADFLOW_RETURN_IF_ERROR(c.reader->RequireTables(tables, RedactLocation(location), what));
  return c;
}

}  // namespace radflow::storage
