// A throw-away PostgreSQL 15 cluster for tests (docs/postgresql.md): initdb into a fresh
// temporary folder, started on a free port of 127.0.0.1 with trust authentication, database
// `radflow` created; stopped and removed in the destructor. Tests run as root and initdb
// refuses root, so the cluster runs as the `postgres` system user of the Debian package
// (scripts/setup.sh installs postgresql-15). A watchdog process stops the cluster when the
// test process dies without running the destructor (a crash, a timeout). RADFLOW_TEST_PG_KEEP=1 in the environment keeps
// the folder (its server.log names every failed statement).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

namespace radflow::testing {

class PgServer {
 public:
  // Unavailable (with the reason and the server log) when the binaries are missing or the
  // cluster does not come up within 30 s; never a silent skip.
  static Result<std::unique_ptr<PgServer>> Start();
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // postgresql://postgres@127.0.0.1:PORT/radflow
  std::string uri() const { return UriOf("radflow"); }
  int port() const { return port_; }
  // CREATE DATABASE `name` (letters, digits and '_'); returns its URI.
  Result<std::string> NewDatabase(const std::string& name);

 private:
  PgServer() = default;
  std::string UriOf(const std::string& db) const;
  void StartWatchdog();
  std::string dir_;  // the temporary folder: data/, the socket and the log
  int port_ = 0;
  bool running_ = false;
  int watchdog_pid_ = 0;  // stops the cluster if this process dies without the destructor
  int watchdog_fd_ = -1;
};

}  // namespace radflow::testing
