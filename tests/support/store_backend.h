// Running a store's unit tests on SQLite and on PostgreSQL (docs/postgresql.md): a fixture
// parameterised by storage::Backend (RADFLOW_BOTH_BACKENDS) asks NewIndexLocation for a fresh
// database migrated by storage::Index — an index.db in the test's scratch folder, or a new
// database on the one PostgreSQL cluster of the test binary (PgServer, started at first use
// and stopped at exit, so an SQLite-only run starts none). A cluster that cannot start fails
// the PostgreSQL tests with the reason; it never skips them.
//
// ExecSql/QueryInts reach the tables directly through storage::Db, for tests that set up or
// check rows no store API writes or reads.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "storage/db.h"
#include "storage/index.h"
#include "support/pg_server.h"

namespace radflow::testing {

inline std::string BackendName(const ::testing::TestParamInfo<storage::Backend>& info) {
  return info.param == storage::Backend::kSqlite ? "SQLite" : "PostgreSQL";
}

// The test binary's PostgreSQL cluster; nullptr (and the reason in *error) when it cannot start.
inline PgServer* SharedPgServer(std::string* error = nullptr) {
  static std::string start_error;
  static std::unique_ptr<PgServer> server = [] {
    auto s = PgServer::Start();
    if (!s.ok()) {
      start_error = s.status().ToString();
      return std::unique_ptr<PgServer>();
    }
    return std::move(s.value());
  }();
  if (!server && error) *error = start_error;
  return server.get();
}

// A fresh, empty database: `sqlite_path` (a file that does not exist yet) or a new database on
// the cluster. "" after a failed expectation when the cluster is unavailable.
inline std::string NewEmptyLocation(storage::Backend b, const std::string& sqlite_path) {
  if (b == storage::Backend::kSqlite) return sqlite_path;
  std::string error;
  PgServer* server = SharedPgServer(&error);
  EXPECT_NE(server, nullptr) << "no PostgreSQL test cluster: " << error;
  if (server == nullptr) return "";
  static int n = 0;
  auto uri = server->NewDatabase("store_test_" + std::to_string(++n));
  EXPECT_TRUE(uri.ok()) << uri.status().ToString();
  return uri.ok() ? uri.value() : "";
}

// NewEmptyLocation migrated by storage::Index; the Index stays open in *index when given.
inline std::string NewIndexLocation(storage::Backend b, const std::string& sqlite_path,
                                    std::unique_ptr<storage::Index>* index = nullptr) {
  std::string location = NewEmptyLocation(b, sqlite_path);
  if (location.empty()) return "";
  auto idx = storage::Index::Open(location);
  EXPECT_TRUE(idx.ok()) << idx.status().ToString();
  if (!idx.ok()) return "";
  if (index) *index = std::move(idx.value());
  return location;
}

// Runs SQL without results on `location` (a new connection each call).
inline void ExecSql(const std::string& location, const std::string& sql) {
  auto db = storage::OpenDb(location);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  Status s = db.value()->Exec(sql);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << sql;
}

// The first column of every row of a query, as integers.
inline std::vector<int64_t> QueryInts(const std::string& location, const std::string& sql) {
  std::vector<int64_t> out;
  auto db = storage::OpenDb(location);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return out;
  auto p = db.value()->PrepareOnce(sql);
  EXPECT_TRUE(p.ok()) << p.status().ToString() << "\n" << sql;
  if (!p.ok()) return out;
  Status s;
  {
    storage::Statement st(p.value().get());
    while (st.Step(&s)) out.push_back(st.Int(0));
  }
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << sql;
  return out;
}

}  // namespace radflow::testing

namespace radflow::storage {
// gtest prints a parameter with this (test names in ctest: "… # GetParam() = PostgreSQL").
inline void PrintTo(Backend b, std::ostream* os) { *os << (b == Backend::kSqlite ? "SQLite" : "PostgreSQL"); }
}  // namespace radflow::storage

// Instantiates a TEST_P fixture (a ::testing::TestWithParam<storage::Backend>) once per backend:
// Backends/Fixture.Test/SQLite and Backends/Fixture.Test/PostgreSQL.
#define RADFLOW_BOTH_BACKENDS(Fixture)                                                      \
  INSTANTIATE_TEST_SUITE_P(Backends, Fixture,                                               \
                           ::testing::Values(::radflow::storage::Backend::kSqlite,          \
                                             ::radflow::storage::Backend::kPostgres),       \
                           ::radflow::testing::BackendName)
