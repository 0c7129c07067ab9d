// Engine: runs the app library on the right series, durably (docs/architecture.md,
// "Life of an AI job").
//
//   SeriesStable ─> routing (every enabled app's rules on the series' first instance)
//                ─> JobStore::Enqueue (in the index database: survives a restart)
//   scheduler    ─> picks runnable jobs by priority within a global and a per-app limit
//                ─> one worker process per job (`radflow ai-worker SPEC`): an app that
//                   crashes, leaks or hangs cannot take the hub down; a timeout or a
//                   cancellation kills its process group
//   on exit      ─> the worker's SEG / SR / derived files go through IngestService::Store
//                   (new series of the same study), findings into the index; failures are
//                   retried with exponential backoff up to the manifest's max_attempts.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ai/manifest.h"
#include "base/status.h"
#include "storage/job_store.h"

namespace radflow::storage {
class Index;
class BlobStore;
}  // namespace radflow::storage
namespace radflow::ingest {
class IngestService;
}

namespace radflow::ai {

struct EngineOptions {
  std::vector<std::string> app_folders;  // manifests; later folders override earlier ids
  std::string work_dir;                  // per-job folders (on the blob store's filesystem)
  std::string worker_binary;             // the radflow executable (its `ai-worker` command)
  int max_running = 2;                   // global concurrency limit
  int max_running_per_app = 1;           // per-app concurrency limit
  double retry_backoff_s = 10;           // first retry delay; doubles per attempt
  // Jobs start only while the memory their manifests declare (resources.memory_mb) fits in
  // this budget (a job larger than the whole budget runs alone). 0: 3/4 of physical memory.
  int64_t memory_budget_mb = 0;
  bool route_on_series_stable = true;
  // At start-up, series stored within this many hours and not routed since (a SeriesStable
  // lost to a restart) are routed.
  double catch_up_hours = 24;
};

struct AppStatus {
  AppManifest manifest;
  bool enabled = true;
};

class Engine {
 public:
  Engine(storage::Index& index, storage::BlobStore& blobs, ingest::IngestService& ingest,
         storage::JobStore& jobs, EngineOptions options);
  ~Engine();  // Stop()

  // Loads the apps, re-queues jobs a previous process left running, subscribes to
  // SeriesStable and starts the scheduler.
  Status Start();
  // Kills running workers (their jobs go back to the queue at the next start) and stops.
  void Stop();

  std::vector<AppStatus> Apps() const;
  const std::vector<std::string>& ManifestErrors() const { return manifest_errors_; }
  Result<AppStatus> SetEnabled(const std::string& app_id, bool enabled);

  // Queues `app_id` on a stored series regardless of its rules (API, CLI). `stat` adds 100
  // to the app's priority.
  Result<int64_t> Submit(const std::string& app_id, const std::string& series_uid, bool stat,
                         const std::string& trigger);
  Result<int64_t> Rerun(int64_t job_id);
  Result<bool> Cancel(int64_t job_id);

  storage::JobStore& jobs() { return jobs_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the SeriesStable listener, which ingest may outlive us
  storage::JobStore& jobs_;
  std::vector<std::string> manifest_errors_;
};

}  // namespace radflow::ai
