// The real OpenID provider of the tests (tests/oidc/provider.mjs over npm oidc-provider),
// started as a child process on a free port. Needs `npm ci` in tests/oidc (scripts/setup_web.sh).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "oidc/http_client.h"

namespace radflow::oidc::testing {

inline std::string ProviderDir() { return std::string(RADFLOW_SOURCE_DIR) + "/tests/oidc"; }

inline bool ProviderInstalled() {
  return std::filesystem::exists(ProviderDir() + "/node_modules/oidc-provider/package.json");
}

inline int FreePort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
  close(s);
  return ntohs(a.sin_port);
}

// Runs argv, returns its exit status.
inline int Run(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// `node provider.mjs genkey` into dir/name.json.
inline std::string GenerateKey(const std::string& dir, const std::string& kid, const std::string& alg = "RS256") {
  std::string path = dir + "/" + kid + ".json";
  Run({"node", ProviderDir() + "/provider.mjs", "genkey", path, "--alg", alg, "--kid", kid});
  return path;
}

class TestProvider {
 public:
  TestProvider() = default;
  TestProvider(const TestProvider&) = delete;
  ~TestProvider() { Stop(); }

  // Starts the provider; keys: comma-separated JWK files (the first signs). Waits for READY.
  bool Start(const std::string& keys, const std::string& redirect, int port = 0,
             const std::vector<std::string>& extra = {}) {
    port_ = port ? port : FreePort();
    int out[2];
    if (pipe(out) != 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      std::vector<std::string> argv = {"node",
                                       ProviderDir() + "/provider.mjs",
                                       "--port",
                                       std::to_string(port_),
                                       "--keys",
                                       keys,
                                       "--client-redirect",
                                       redirect};
      argv.insert(argv.end(), extra.begin(), extra.end());
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp("node", args.data());
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[512];
    bool ready = false;
    while (fgets(line, sizeof line, f)) {
      if (std::string(line).rfind("READY ", 0) == 0) {
        ready = true;
        break;
      }
    }
    stdout_ = f;  // kept open so that the provider's writes never hit a closed pipe
    return ready;
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (stdout_) {
      fclose(stdout_);
      stdout_ = nullptr;
    }
  }

  int port() const { return port_; }
  std::string issuer() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // A client_credentials access token (RFC 6749 4.4) for `resource` (RFC 8707).
  std::string ClientToken(const std::string& client = "ai-worker", const std::string& resource = "",
                          const std::string& secret = "ai-worker-test-secret") const {
    HttpCall call;
    call.method = "POST";
    call.url = issuer() + "/token";
    call.basic_user = client;
    call.basic_password = secret;
    call.headers = {"Content-Type: application/x-www-form-urlencoded"};
    std::vector<std::pair<std::string, std::string>> form = {{"grant_type", "client_credentials"}};
    if (!resource.empty()) form.push_back({"resource", resource});
    call.body = FormEncode(form);
    auto r = Fetch(call);
    if (!r.ok() || r->status != 200) return "";
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    return j.is_object() ? j.value("access_token", "") : "";
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  FILE* stdout_ = nullptr;
};

}  // namespace radflow::oidc::testing
