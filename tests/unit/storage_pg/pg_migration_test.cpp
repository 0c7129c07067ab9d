// The numbered migrations on PostgreSQL: applied to an empty database, idempotent, safe when
// two nodes open one database at once, and giving the same tables and columns as SQLite's.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <thread>

#include "../test_data.h"
#include "pg_env.h"
#include "storage/db.h"
#include "storage/index.h"
#include "storage/schema_sql.h"

namespace radflow::storage {

namespace {

using Columns = std::vector<std::pair<std::string, std::string>>;  // name, normalised type
using Schema = std::map<std::string, Columns>;

std::vector<std::vector<std::string>> Rows(Db& db, const std::string& sql) {
  std::vector<std::vector<std::string>> out;
  auto p = db.PrepareOnce(sql);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return out;
  Status s;
  while (p.value()->Step(&s)) {
    std::vector<std::string> row;
    for (int c = 0; c < p.value()->Columns(); ++c) row.push_back(p.value()->Text(c));
    out.push_back(std::move(row));
  }
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// SQLite's declared type → the PostgreSQL type the contract maps it to.
std::string PgTypeOf(const std::string& sqlite_type) {
  if (sqlite_type == "INTEGER") return "bigint";
  if (sqlite_type == "REAL") return "double precision";
  if (sqlite_type == "BLOB") return "bytea";
  if (sqlite_type == "TEXT") return "text";
  return "unknown " + sqlite_type;
}

Schema SqliteSchema(Db& db) {
  Schema out;
  for (const auto& t : Rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                " AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
    for (const auto& c : Rows(db, "PRAGMA table_info(" + t[0] + ")")) {
      out[t[0]].emplace_back(c[1], PgTypeOf(c[2]));
    }
  }
  return out;
}

Schema PgSchema(Db& db) {
  Schema out;
  for (const auto& c : Rows(db, "SELECT table_name, column_name, data_type FROM"
                                " information_schema.columns WHERE table_schema = current_schema()"
                                " AND table_name <> 'radflow_schema_version'"
                                " ORDER BY table_name, ordinal_position")) {
    out[c[0]].emplace_back(c[1], c[2]);
  }
  return out;
}

std::vector<std::string> SqliteIndexes(Db& db) {
  std::vector<std::string> out;
  for (const auto& r : Rows(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND name"
                                " NOT LIKE 'sqlite_autoindex%' ORDER BY name")) {
    out.push_back(r[0]);
  }
  return out;
}

// Named indexes only: PostgreSQL names the ones of PRIMARY KEY and UNIQUE constraints
// itself (table_pkey, table_col_key), as SQLite does (sqlite_autoindex_…).
std::vector<std::string> PgIndexes(Db& db) {
  std::vector<std::string> out;
  for (const auto& r : Rows(db, "SELECT i.indexname FROM pg_indexes i WHERE i.schemaname ="
                                " current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                                " WHERE c.conname = i.indexname) ORDER BY i.indexname")) {
    out.push_back(r[0]);
  }
  return out;
}

int LatestVersion() {
  int v = 0;
  for (const auto& m : kMigrations) v = std::max(v, m.version);
  return v;
}

}  // namespace

class PgMigrationTest : public PgTest {};

TEST_F(PgMigrationTest, AppliedOnEmptyDatabaseAndIdempotent) {
  const std::string uri = NewDbUri();
  ASSERT_FALSE(uri.empty());
  {
    auto index = Index::Open(uri);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
  }
  auto db = OpenDb(uri);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.value()->SchemaVersion().value(), LatestVersion());
  const Schema before = PgSchema(*db.value());
  auto again = Index::Open(uri);  // nothing left to apply
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(db.value()->SchemaVersion().value(), LatestVersion());
  EXPECT_EQ(PgSchema(*db.value()), before);
  EXPECT_EQ(Rows(*db.value(), "SELECT COUNT(*) FROM radflow_schema_version")[0][0], "1");
}

TEST_F(PgMigrationTest, TwoNodesStartingAtOnceMigrateOnce) {
  const std::string uri = NewDbUri();
  ASSERT_FALSE(uri.empty());
  constexpr int kNodes = 4;
  std::vector<Status> results(kNodes);
  std::vector<std::thread> nodes;
  for (int n = 0; n < kNodes; ++n) {
    nodes.emplace_back([&, n] {
      auto index = Index::Open(uri);
      results[n] = index.ok() ? Status::Ok() : index.status();
    });
  }
  for (auto& t : nodes) t.join();
  for (const auto& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  auto db = OpenDb(uri);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db.value()->SchemaVersion().value(), LatestVersion());
}

TEST_F(PgMigrationTest, SameTablesColumnsAndIndexesAsSqlite) {
  const std::string uri = NewDbUri();
  ASSERT_FALSE(uri.empty());
  radflow::testing::ScratchDir dir;
  const std::string path = dir.str() + "/index.db";
  ASSERT_TRUE(Index::Open(path).ok());
  ASSERT_TRUE(Index::Open(uri).ok());
  auto lite = OpenDb(path);
  auto pg = OpenDb(uri);
  ASSERT_TRUE(lite.ok() && pg.ok());
  const Schema a = SqliteSchema(*lite.value()), b = PgSchema(*pg.value());
  ASSERT_GT(a.size(), 30u);
  for (const auto& [table, columns] : a) {
    auto it = b.find(table);
    if (it == b.end()) {
      ADD_FAILURE() << "table " << table << " is missing on PostgreSQL";
      continue;
    }
    EXPECT_EQ(it->second, columns) << "columns (name, type) of " << table << " differ";
  }
  for (const auto& [table, columns] : b) {
    EXPECT_TRUE(a.count(table)) << "table " << table << " exists only on PostgreSQL";
  }
  // Where an index is spelt differently on PostgreSQL (a NOCASE collation is an expression
  // index on lower(col), plus a trigram index for ILIKE), the names each migration uses.
  const std::map<std::string, std::vector<std::string>> kPostgresSpelling = {
      {"patients_name_nocase", {"patients_name_lower", "patients_name_trgm"}},  // 014 (H4)
  };
  const auto pg_indexes = PgIndexes(*pg.value()), lite_indexes = SqliteIndexes(*lite.value());
  auto on_pg = [&](const std::string& name) {
    return std::count(pg_indexes.begin(), pg_indexes.end(), name) > 0;
  };
  std::vector<std::string> spelt;  // PostgreSQL names that stand for an SQLite index
  for (const auto& name : lite_indexes) {
    auto it = kPostgresSpelling.find(name);
    if (it == kPostgresSpelling.end() || on_pg(name)) {
      EXPECT_TRUE(on_pg(name)) << "index " << name << " is missing on PostgreSQL";
      continue;
    }
    for (const auto& pg_name : it->second) {
      EXPECT_TRUE(on_pg(pg_name)) << "index " << pg_name << " (for " << name
                                  << ") is missing on PostgreSQL";
      spelt.push_back(pg_name);
    }
  }
  for (const auto& name : pg_indexes) {
    EXPECT_TRUE(std::count(lite_indexes.begin(), lite_indexes.end(), name) ||
                std::count(spelt.begin(), spelt.end(), name))
        << "index " << name << " exists only on PostgreSQL";
  }
}

TEST_F(PgMigrationTest, IndexOpenOnPostgresCreatesNoFile) {
  const std::string uri = NewDbUri();
  ASSERT_FALSE(uri.empty());
  const auto cwd = std::filesystem::current_path();
  radflow::testing::ScratchDir dir;
  std::filesystem::current_path(dir.str());
  auto index = Index::Open(uri);
  std::filesystem::current_path(cwd);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_TRUE(std::filesystem::is_empty(dir.str()));
}

}  // namespace radflow::storage
