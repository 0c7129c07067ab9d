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
//   remote       ─> `radflow worker` processes on other machines take jobs from the same
//                   queue with a lease (ClaimRemote … CompleteRemote, docs/remote-workers.md);
//                   the scheduler re-queues jobs whose lease passed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ai/engine/job_runner.h"
#include "ai/manifest.h"
#include "base/status.h"
#include "storage/job_store.h"

namespace radflow::storage {
class Index;
class BlobStore;
class AiAdminStore;
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
  // Apps the hub never runs itself: only remote workers take their jobs (max_running 0:
  // the hub runs none).
  std::vector<std::string> remote_only_apps;
  double retry_backoff_s = 10;           // first retry delay; doubles per attempt
  // Jobs start only while the memory their manifests declare (resources.memory_mb) fits in
  // this budget (a job larger than the whole budget runs alone). 0: 3/4 of physical memory.
  int64_t memory_budget_mb = 0;
  bool route_on_series_stable = true;
  // At start-up, series stored within this many hours and not routed since (a SeriesStable
  // lost to a restart) are routed.
  double catch_up_hours = 24;
  // Several nodes on one PostgreSQL index (docs/postgresql.md "Several nodes: events and
  // stability"): this node's id. Its jobs carry lease_owner "node:<id>", renewed while they
  // run, so that the other nodes neither re-queue them (start-up, Reconcile) nor lose them
  // when this node dies (ExpireLeases). "": the only node; jobs without a lease, as before.
  std::string node_id;
};

// An installed app: several versions of one id may be installed (LoadApps); the newest
// runs unless an administrator pinned one (docs/app-library.md).
struct AppStatus {
  AppManifest manifest;                       // the running version's
  bool enabled = true;
  std::vector<AppManifest> installed;         // every installed version, newest first
  std::optional<std::string> pinned_version;  // as pinned (also when no longer installed)
};

class Engine {
 public:
  // `admin` (may be null: no pins kept across restarts, no audit) holds the pinned versions
  // and records every enable, disable, pin and unpin with its actor.
  Engine(storage::Index& index, storage::BlobStore& blobs, ingest::IngestService& ingest,
         storage::JobStore& jobs, EngineOptions options, storage::AiAdminStore* admin = nullptr);
  ~Engine();  // Stop()

  // Loads the apps, re-queues jobs a previous process left running, subscribes to
  // SeriesStable and starts the scheduler.
  Status Start();
  // Kills running workers (their jobs go back to the queue at the next start) and stops.
  void Stop();

  std::vector<AppStatus> Apps() const;
  Result<AppStatus> App(const std::string& app_id) const;  // NotFound for an unknown id
  const std::vector<std::string>& ManifestErrors() const { return manifest_errors_; }
  // Each change is recorded (AiAdminStore audit) with `actor` — the signed-in user of the
  // request — in the same transaction as the state it changes. NotFound for an unknown app.
  Result<AppStatus> SetEnabled(const std::string& app_id, bool enabled, const std::string& actor = "");
  // Pins an installed version: it runs from the next job on (InvalidArgument naming the
  // installed versions when `version` is not one of them). Unpin: the newest runs again.
  Result<AppStatus> Pin(const std::string& app_id, const std::string& version, const std::string& actor);
  Result<AppStatus> Unpin(const std::string& app_id, const std::string& actor);

  // Queues `app_id` on a stored series regardless of its rules (API, CLI). `stat` adds 100
  // to the app's priority.
  // Jobs are queued with the app's running version and run that version when it starts
  // (the running one again if it is no longer installed).
  Result<int64_t> Submit(const std::string& app_id, const std::string& series_uid, bool stat,
                         const std::string& trigger);
  // A rerun runs the version running now, which may differ from the original job's.
  Result<int64_t> Rerun(int64_t job_id);
  Result<bool> Cancel(int64_t job_id);

  // --- remote workers (docs/remote-workers.md); `worker` is the worker's id ---
  // Up to `max_jobs` runnable jobs of `app_ids` with a lease of lease_s seconds (clamped to
  // 2..3600), as JobStore::Claim.
  Result<std::vector<storage::Job>> ClaimRemote(const std::string& worker, const std::vector<std::string>& app_ids,
                                                double lease_s, int max_jobs);
  // Renews the lease (Conflict when no longer held). `result_series`: the series the worker
  // is about to store by STOW-RS — never routed to apps (the engine's own results are not).
  Result<storage::Job> RenewRemote(int64_t job_id, const std::string& worker, double lease_s,
                                   const std::vector<std::string>& result_series);
  // The worker's results, stored by STOW-RS before this call, and its findings. Each object
  // must be stored, in the job's study and not in its source series (InvalidArgument naming
  // the object otherwise); the lease must still be the worker's (Conflict).
  Status CompleteRemote(int64_t job_id, const std::string& worker, const AppRun& run);
  // The app failed (retried with backoff while attempts remain) or, `give_back`, the worker
  // stops and returns the job to the queue with its attempt given back.
  // `retry` false: no retry whatever attempts remain (some results were stored already).
  Status FailRemote(int64_t job_id, const std::string& worker, const std::string& error, bool give_back,
                    bool retry = true);

  storage::JobStore& jobs() { return jobs_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the SeriesStable listener, which ingest may outlive us
  storage::JobStore& jobs_;
  storage::AiAdminStore* admin_;
  std::vector<std::string> manifest_errors_;
};

}  // namespace radflow::ai
