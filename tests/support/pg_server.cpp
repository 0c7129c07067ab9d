#include "support/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace radflow::testing {

namespace {

namespace fs = std::filesystem;
const char* kBin = "/usr/lib/postgresql/15/bin";

// Runs `cmd` through the shell; its output goes to `log`.
int Run(const std::string& cmd, const std::string& log) {
  const std::string full = cmd + " >>" + log + " 2>&1";
  const int rc = std::system(full.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
}

// A port the kernel says is free now (bind to 0). Another process could take it before
// the server does; Start then fails with the log, which names the port.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 60) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

std::string PgServer::UriOf(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

Result<std::unique_ptr<PgServer>> PgServer::Start() {
  if (!fs::exists(std::string(kBin) + "/initdb") || !fs::exists(std::string(kBin) + "/pg_ctl")) {
    return Status(ErrorCode::kUnavailable, std::string("PostgreSQL 15 is not installed (no ") +
                                               kBin + "/initdb): run scripts/setup.sh");
  }
  char tmpl[] = "/tmp/radflow-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Status(ErrorCode::kIoError, "mkdtemp failed");
  auto server = std::unique_ptr<PgServer>(new PgServer());
  server->dir_ = tmpl;
  const std::string& dir = server->dir_;
  const std::string log = dir + "/setup.log";
  const std::string server_log = dir + "/server.log";
  // initdb refuses root: the folder belongs to postgres, which runs every command.
  const std::string as_pg = geteuid() == 0 ? "runuser -u postgres -- " : "";
  if (geteuid() == 0 && Run("chown postgres:postgres " + dir, "/dev/null") != 0) {
    return Status(ErrorCode::kUnavailable, "cannot chown " + dir + " to the postgres user");
  }
  if (Run(as_pg + kBin + "/initdb -D " + dir + "/data -U postgres -A trust -E UTF8 --locale=C"
              " --no-sync",
          log) != 0) {
    return Status(ErrorCode::kUnavailable, "initdb failed: " + Slurp(log));
  }
  for (int attempt = 0; attempt < 3 && !server->running_; ++attempt) {
    server->port_ = FreePort();
    const std::string opts = "-p " + std::to_string(server->port_) + " -k " + dir +
                             " -c listen_addresses=127.0.0.1 -c fsync=off"
                             " -c max_connections=200";
    // -w: pg_ctl waits until the server accepts connections (or fails), -t: at most 30 s.
    if (Run(as_pg + kBin + "/pg_ctl -D " + dir + "/data -l " + server_log + " -w -t 30 -o \"" +
                opts + "\" start",
            log) == 0) {
      server->running_ = true;
    }
  }
  if (!server->running_) {
    return Status(ErrorCode::kUnavailable,
                  "PostgreSQL did not start: " + Slurp(log) + "\nserver log: " + Slurp(server_log));
  }
  server->StartWatchdog();
  auto db = server->NewDatabase("radflow");
  if (!db.ok()) return db.status();
  return server;
}

Result<std::string> PgServer::NewDatabase(const std::string& name) {
  if (!ValidName(name)) return Status(ErrorCode::kInvalidArgument, "bad database name " + name);
  const std::string log = dir_ + "/setup.log";
  const std::string cmd = std::string(kBin) + "/psql -X -q -h 127.0.0.1 -p " +
                          std::to_string(port_) + " -U postgres -d postgres -c 'CREATE DATABASE " +
                          name + "'";
  if (Run(cmd, log) != 0) {
    return Status(ErrorCode::kUnavailable, "CREATE DATABASE " + name + " failed: " + Slurp(log));
  }
  return UriOf(name);
}

// A test process that crashes (or is killed by a timeout) never runs the destructor, and its
// cluster would run on: a child process waits for the end of a pipe whose other end only
// this process holds (close-on-exec, so that the server does not inherit it), then stops the
// cluster and removes the folder. The destructor ends the watchdog first.
void PgServer::StartWatchdog() {
  int fds[2];
  if (pipe(fds) != 0) return;
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  const std::string as_pg = geteuid() == 0 ? "runuser -u postgres -- " : "";
  const std::string cmd = as_pg + kBin + "/pg_ctl -D " + dir_ + "/data -m fast -w stop" +
                          " >/dev/null 2>&1; rm -rf " + dir_;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[1]);
    char c;
    while (read(fds[0], &c, 1) > 0) {
    }
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(0);
  }
  close(fds[0]);
  if (pid < 0) {
    close(fds[1]);
    return;
  }
  watchdog_pid_ = pid;
  watchdog_fd_ = fds[1];
}

PgServer::~PgServer() {
  if (watchdog_pid_ > 0) {
    kill(watchdog_pid_, SIGKILL);
    waitpid(watchdog_pid_, nullptr, 0);
    close(watchdog_fd_);
  }
  const std::string as_pg = geteuid() == 0 ? "runuser -u postgres -- " : "";
  if (running_) {
    (void)Run(as_pg + kBin + "/pg_ctl -D " + dir_ + "/data -m fast -w stop", "/dev/null");
  }
  // RADFLOW_TEST_PG_KEEP=1 keeps the folder: server.log has each failed statement.
  if (std::getenv("RADFLOW_TEST_PG_KEEP")) {
    std::fprintf(stderr, "PgServer: kept %s (server.log)\n", dir_.c_str());
    return;
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

}  // namespace radflow::testing
