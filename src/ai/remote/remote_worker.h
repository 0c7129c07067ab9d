// `radflow worker`: runs the hub's AI jobs on another machine (docs/remote-workers.md).
//
//   claim (POST /api/v1/ai/worker/claim, the app ids this worker has installed)
//   → the series by WADO-RS (multipart/related, as stored) into a job folder
//   → the app in a `radflow ai-worker` child process, exactly as the hub runs it
//     (SpawnWorker + RunWorker: the same isolation, timeout and result.json)
//   → the results by STOW-RS into the job's study → complete with the summary, the result
//     UIDs and the findings.
// A lease is renewed every third of its length while the job runs; a lost lease (the hub
// gave the job to another worker) kills the app and discards its results. SIGTERM/SIGINT:
// running apps are stopped and their jobs given back (re-queued, attempt not counted). The
// worker keeps no database: a killed worker's job returns to the queue when its lease ends.
#pragma once

#include <string>
#include <vector>

namespace radflow::ai::remote {

struct WorkerOptions {
  std::string hub_url;                   // http(s)://host:port
  std::string token;                     // an API token of an ai-service account
  std::string ca_file;                   // PEM CA for an https hub ("" = system store)
  std::string id;                        // the worker's name in leases and logs
  std::vector<std::string> app_folders;  // manifests this worker can run
  double lease_s = 60;
  int concurrency = 1;      // jobs at once
  double poll_s = 2;        // wait between claims that found nothing
  std::string work_dir;     // job folders (the series and the app's results)
  std::string binary;       // this executable (its `ai-worker` command)
};

// Runs until SIGTERM/SIGINT. Returns the exit code: 0 after a signal, 2 when the hub refuses
// the credentials (401/403), 1 when no app could be loaded.
int RunRemoteWorker(const WorkerOptions& options);

}  // namespace radflow::ai::remote
