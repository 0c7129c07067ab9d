#include "storage/db.h"

#include <algorithm>
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
  std::string out = location;
  // scheme://user:password@host → scheme://user:***@host
  const size_t scheme = out.find("://") + 3;
  const size_t query = out.find('?', scheme);
  const size_t at = out.find('@', scheme);
  if (at != std::string::npos && at < query) {
    const size_t colon = out.find(':', scheme);
    if (colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // …?password=secret&… → …?password=***&… (libpq reads the password there too)
  for (size_t key = out.find('?', scheme); key != std::string::npos; key = out.find('&', key)) {
    ++key;
    if (out.compare(key, 9, "password=") != 0) continue;
    const size_t value = key + 9;
    const size_t end = std::min(out.find('&', value), out.size());
    out.replace(value, end - value, "***");
  }
  return out;
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
