// JobStore: the AI engine's durable state in the index database (schema 003_ai.sql):
// jobs (a queue that survives restarts), findings, and per-app enabled flags.
//
// Its own SQLite connection on index.db (WAL; writes are rare next to instance commits).
// Every write is one transaction with synchronous=FULL: a job acknowledged as queued is
// on disk. Times are unix milliseconds.
//
// Thread-safe (one mutex around the connection). Writes start with BEGIN IMMEDIATE, so
// they wait for the Index's writer (busy timeout) instead of failing with SQLITE_BUSY.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
const char* JobStateName(JobState s);  // "queued", "running", "succeeded", "failed", "cancelled"
std::optional<JobState> ParseJobState(std::string_view name);

struct Job {
  int64_t id = 0;
  std::string app_id;
  std::string app_version;
  std::string study_uid;
  std::string series_uid;
  JobState state = JobState::kQueued;
  int priority = 0;  // higher first
  int attempts = 0;  // started attempts so far
  int max_attempts = 1;
  int64_t not_before = 0;  // a retry waits until then (backoff)
  int64_t created_at = 0;
  int64_t started_at = 0;  // last attempt; 0 = never
  int64_t finished_at = 0;
  std::string trigger;              // "series-stable", "rerun of 12", "api", "cli"
  std::string error;                // last error
  std::string summary;              // the app's one-line summary
  std::string results_json = "[]";  // [{"series_uid":..,"sop_uid":..,"kind":"seg"|"sr"|"derived"}]
  bool cancel_requested = false;
};

struct FindingRow {
  int64_t id = 0;
  int64_t job_id = 0;
  std::string app_id;
  std::string study_uid;
  std::string series_uid;
  std::string type_code;  // "value^scheme" of the finding type
  std::string type_meaning;
  std::string label;
  double x = 0, y = 0, z = 0;  // patient coordinates (LPS, mm)
  double size_mm = 0;
  double volume_ml = 0;
  double score = 0;
  std::string severity;             // info | low | moderate | high | critical
  std::string details_json = "{}";  // measurements etc.
  int64_t created_at = 0;
};

struct JobFilter {
  std::optional<JobState> state;
  std::string app_id, study_uid, series_uid;
  int limit = 100, offset = 0;  // newest first
};

class JobStore {
 public:
  // Opens index.db (the Index must have applied the migrations first). NotFound when the
  // file is missing; DatabaseError when the schema lacks the AI tables (003_ai.sql).
  static Result<std::unique_ptr<JobStore>> Open(const std::string& index_path);
  ~JobStore();

  // Inserts a queued job (id, created_at, state are set); returns the id. Kept from `job`:
  // app_id (required), app_version, study/series UIDs, priority, max_attempts (at least 1),
  // not_before (a delayed start), trigger, and created_at when non-zero (tests, imports).
  Result<int64_t> Enqueue(const Job& job);
  // Enqueue unless HasActive(job.app_id, job.series_uid), both in one transaction (so two
  // triggers racing on one series queue one job); nullopt when an active job exists.
  Result<std::optional<int64_t>> EnqueueUnlessActive(const Job& job);
  // True when a queued or running job of `app_id` on `series_uid` exists (no double queueing).
  Result<bool> HasActive(const std::string& app_id, const std::string& series_uid);
  // The queued jobs with not_before <= now, highest priority first, then oldest; at most
  // `limit`. The scheduler picks among them by its concurrency limits.
  Result<std::vector<Job>> Runnable(int64_t now_ms, int limit);
  // queued → running (attempts+1, started_at = now). False when the job was no longer
  // queued (cancelled meanwhile).
  Result<bool> MarkRunning(int64_t id, int64_t now_ms);
  // running → succeeded (error cleared). NotFound / Conflict when the job is not running.
  Status MarkSucceeded(int64_t id, int64_t now_ms, const std::string& summary,
                       const std::string& results_json);
  // running → queued with not_before = retry_at and the error kept (a retry), or → failed
  // when retry_at is nullopt. A running job whose cancel was requested is not retried: it
  // becomes cancelled. NotFound / Conflict when the job is not running.
  Status MarkFailed(int64_t id, int64_t now_ms, const std::string& error,
                    std::optional<int64_t> retry_at);
  // queued → cancelled at once; running → cancel_requested (the scheduler kills it and then
  // calls MarkCancelled). False for a finished job.
  Result<bool> RequestCancel(int64_t id, int64_t now_ms);
  // queued or running → cancelled (error = reason); Ok when already cancelled, Conflict when
  // it finished otherwise.
  Status MarkCancelled(int64_t id, int64_t now_ms, const std::string& reason);
  // At start-up: every job left running by a previous process goes back to queued (its
  // attempt counts; error = "interrupted by a restart"); returns how many. A job whose
  // cancel was requested becomes cancelled instead (and is not counted).
  Result<int> RequeueInterrupted(int64_t now_ms);
  // A clean stop: running → queued with its attempt given back (the app did not fail; the
  // server stopped). No-op for a job that is not running.
  Status ReturnToQueue(int64_t id, const std::string& reason);
  Result<std::optional<Job>> Get(int64_t id);
  // Newest (highest id) first; empty filter fields match everything; limit <= 0 = no limit.
  Result<std::vector<Job>> List(const JobFilter& filter);
  // Counts per state, for /api/v1/stats-like summaries: all five states in enum order,
  // zeros included.
  Result<std::vector<std::pair<std::string, int64_t>>> CountByState();

  // Findings: all rows of one job in one transaction (replacing the job's earlier rows).
  // job_fk is `job_id` whatever row.job_id says; an empty severity is stored as "info",
  // created_at 0 as now. NotFound for an unknown job; InvalidArgument for a bad severity.
  Status ReplaceFindings(int64_t job_id, const std::vector<FindingRow>& rows);
  // By study or series UID (either may be empty, not both: InvalidArgument; both = AND),
  // highest severity then score first, then insertion order.
  Result<std::vector<FindingRow>> Findings(const std::string& study_uid,
                                           const std::string& series_uid);

  // Routing bookkeeping: a series is routed (its apps' rules evaluated) at `now_ms`.
  Status MarkRouted(const std::string& series_uid, int64_t now_ms);
  // Series stored to since `since_ms` and not routed after their last stored instance
  // (series.updated_at > ai_routed.routed_at, or never routed), oldest first.
  Result<std::vector<std::string>> SeriesToRoute(int64_t since_ms);

  // Per-app enabled flag set through the API; nullopt = never set (use the manifest's default).
  Result<std::optional<bool>> AppEnabled(const std::string& app_id);
  Status SetAppEnabled(const std::string& app_id, bool enabled);

  // Called after a job was queued, finished (succeeded, failed, retried or cancelled) or
  // its cancel requested — on the writing thread, outside the store's lock: the listener
  // must be quick (the worklist queues the job's study for a refresh).
  void SetChangeListener(std::function<void(int64_t job_id)> listener);

 private:
  void Changed(int64_t job_id);
  std::mutex listener_mu_;
  std::function<void(int64_t)> listener_;
  class Impl;
  explicit JobStore(std::unique_ptr<Impl> impl);
  Result<std::optional<int64_t>> Insert(const Job& job, bool unless_active);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::storage
