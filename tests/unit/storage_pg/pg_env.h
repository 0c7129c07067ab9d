// One PostgreSQL test cluster for the whole suite (started by the first test that needs it,
// stopped at exit); each test gets a database of its own. A cluster that cannot start fails
// the tests with the reason: PostgreSQL is part of the build's requirements (setup.sh).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/pg_server.h"

namespace radflow::storage {

class PgTest : public ::testing::Test {
 protected:
  static radflow::testing::PgServer* Server() {
    static auto* server = [] {
      auto s = radflow::testing::PgServer::Start();
      if (!s.ok()) {
        start_error() = s.status().ToString();
        return static_cast<radflow::testing::PgServer*>(nullptr);
      }
      return s.value().release();  // lives until exit; ~Cluster below stops it
    }();
    static Cluster stop_at_exit{server};
    return server;
  }
  // A fresh database's URI (test_<n>); "" after a failed assertion.
  std::string NewDbUri() {
    auto* server = Server();
    EXPECT_NE(server, nullptr) << "no PostgreSQL test cluster: " << start_error();
    if (server == nullptr) return "";
    static int n = 0;
    auto uri = server->NewDatabase("test_" + std::to_string(++n));
    EXPECT_TRUE(uri.ok()) << uri.status().ToString();
    return uri.ok() ? uri.value() : "";
  }

 private:
  struct Cluster {
    radflow::testing::PgServer* server;
    ~Cluster() { delete server; }
  };
  static std::string& start_error() {
    static std::string e;
    return e;
  }
};

}  // namespace radflow::storage
