#include "ai/remote/worker_command.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "ai/remote/remote_worker.h"
#include "server/server.h"

namespace radflow::ai::remote {
namespace {

struct WorkerArgs {
  WorkerOptions options;
  std::string token_file, token_env;
};

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

std::string DefaultId() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "worker");
  return std::string(host) + "-" + std::to_string(::getpid());
}

int Run(WorkerArgs& a) {
  WorkerOptions& o = a.options;
  if (a.token_file.empty() == a.token_env.empty()) {
    std::cerr << "radflow worker: give exactly one of --token FILE and --token-env VAR\n";
    return 2;
  }
  if (!a.token_file.empty()) {
    std::ifstream in(a.token_file);
    if (!in) {
      std::cerr << "radflow worker: cannot read the token file " << a.token_file << "\n";
      return 2;
    }
    o.token = Trim(std::string((std::istreambuf_iterator<char>(in)), {}));
  } else {
    const char* v = std::getenv(a.token_env.c_str());
    o.token = Trim(v ? v : "");
  }
  if (o.token.empty()) {
    std::cerr << "radflow worker: the token is empty\n";
    return 2;
  }
  if (o.hub_url.rfind("http://", 0) != 0 && o.hub_url.rfind("https://", 0) != 0) {
    std::cerr << "radflow worker: --hub must be an http:// or https:// URL\n";
    return 2;
  }
  if (o.id.empty()) o.id = DefaultId();
  if (o.work_dir.empty()) o.work_dir = (std::filesystem::temp_directory_path() / ("radflow-worker-" + o.id)).string();
  if (o.binary.empty()) o.binary = server::SelfExecutable();
  return RunRemoteWorker(o);
}

}  // namespace

void AddWorkerCommands(CLI::App& app, std::function<int()>& run_selected) {
  auto args = std::make_shared<WorkerArgs>();
  auto* w = app.add_subcommand("worker", "run the hub's AI jobs on this machine (docs/remote-workers.md)");
  w->add_option("--hub", args->options.hub_url, "the hub's URL, http(s)://host:port")->required();
  w->add_option("--token", args->token_file, "file holding an API token of an ai-service account");
  w->add_option("--token-env", args->token_env, "environment variable holding that token");
  w->add_option("--apps", args->options.app_folders, "folder of app manifests this worker runs (repeatable)")
      ->required();
  w->add_option("--ca", args->options.ca_file, "PEM file of the CA that signed an https hub's certificate");
  w->add_option("--id", args->options.id, "the worker's name in leases and logs (default: host-pid)");
  w->add_option("--lease-seconds", args->options.lease_s, "lease length; renewed every third of it")
      ->check(CLI::Range(2.0, 3600.0))
      ->capture_default_str();
  w->add_option("--concurrency", args->options.concurrency, "jobs at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  w->add_option("--poll-seconds", args->options.poll_s, "wait between claims that found no job")
      ->check(CLI::Range(0.05, 60.0))
      ->capture_default_str();
  w->add_option("--work-dir", args->options.work_dir, "job folders (default: a folder under the temp dir)");
  w->callback([args, &run_selected] { run_selected = [args] { return Run(*args); }; });
}

}  // namespace radflow::ai::remote
