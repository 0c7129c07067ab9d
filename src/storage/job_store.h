// JobStore: the AI engine's durable state in the index database (schema 003_ai.sql, leases
// 015_job_leases.sql): jobs (a queue that survives restarts), findings, and per-app enabled
// flags.
//
// Its own connection on the index (an SQLite file, WAL, synchronous=FULL; or PostgreSQL).
// Every write is one transaction: a job acknowledged as queued is durable. Times are unix
// milliseconds (the hub's clock, also for leases).
//
// Two kinds of runner take jobs from the one queue: the hub's own scheduler (Runnable +
// MarkRunning; no lease) and remote workers (Claim; a lease renewed while the app runs,
// docs/remote-workers.md). Both take a job with a conditional UPDATE on state = 'queued',
// so whichever comes first runs it and the other sees it gone.
//
// Thread-safe (one mutex around the connection). SQLite writes start with BEGIN IMMEDIATE,
// so they wait for the Index's writer (busy timeout) instead of failing with SQLITE_BUSY.
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
  // Remote workers: the worker that holds the running job, or held it last ('' = the hub's
  // own scheduler ran it, or nobody yet), and until when (unix ms; 0 = no lease now).
  std::string lease_owner;
  int64_t lease_expires_at = 0;
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
  // queued (cancelled meanwhile). `node_owner` (several nodes on one PostgreSQL index,
  // "node:<id>"; "" for a single node) holds it with a lease of lease_ms that the node
  // renews (RenewNodeLeases): a node that dies leaves its jobs to ExpireLeases on the others,
  // and no node mistakes another's running job for one it lost.
  Result<bool> MarkRunning(int64_t id, int64_t now_ms, const std::string& node_owner = "",
                           int64_t lease_ms = 0);
  // The leases of every job `node_owner` runs, to now + lease_ms ("" : nothing to do).
  Status RenewNodeLeases(const std::string& node_owner, int64_t now_ms, int64_t lease_ms);

  // --- remote workers (leases) ---
  // Takes up to `limit` runnable jobs (queued, not_before <= now, attempts <= max_attempts)
  // of the given app ids, highest priority first then oldest, in one statement: → running,
  // attempts + 1, started_at = now, lease_owner = worker, lease_expires_at = now + lease_ms.
  // Several hubs or workers claiming at once never get the same job (PostgreSQL: the rows
  // are picked FOR UPDATE SKIP LOCKED; SQLite: the write lock serialises the statement).
  // Returns the claimed jobs as they are now, in that order; empty when none is runnable.
  Result<std::vector<Job>> Claim(const std::string& worker, const std::vector<std::string>& app_ids,
                                 int64_t now_ms, int64_t lease_ms, int limit);
  // Extends the lease of a job `worker` holds to now + lease_ms. Conflict (naming why) when
  // the job is not running, is held by another, or the worker's lease already passed (the
  // job is then re-queued by ExpireLeases and may be running elsewhere); NotFound when no
  // such job. The job as it is now (its cancel_requested tells the worker to stop).
  Result<Job> RenewLease(int64_t id, const std::string& worker, int64_t now_ms, int64_t lease_ms);
  // The lease holder's end of a job, each checked as RenewLease checks (Conflict for a late
  // worker: nothing is written). Complete: → succeeded with the summary, results and the
  // findings (replacing the job's earlier rows) in one transaction. Fail: as MarkFailed.
  // Release: back to the queue with the attempt given back (the worker stopped; the app did
  // not fail).
  Status CompleteLeased(int64_t id, const std::string& worker, int64_t now_ms, const std::string& summary,
                        const std::string& results_json, const std::vector<FindingRow>& findings);
  Status FailLeased(int64_t id, const std::string& worker, int64_t now_ms, const std::string& error,
                    std::optional<int64_t> retry_at);
  Status ReleaseLeased(int64_t id, const std::string& worker, int64_t now_ms, const std::string& reason);
  // Running jobs whose lease passed (lease_expires_at < now): back to the queue with their
  // attempt kept and error "lease expired (worker W)" — or failed when that attempt was the
  // last one allowed (an interrupted job gets one attempt beyond max_attempts, as a hub
  // restart gives it), or cancelled when a cancel was requested. Also fails queued jobs
  // with more attempts than that (no runner would take them). Returns the ids changed.
  Result<std::vector<int64_t>> ExpireLeases(int64_t now_ms);
  // running → succeeded (error cleared). NotFound / Conflict when the job is not running,
  // or runs for another lease_owner than `node_owner` (MarkRunning's: a node whose lease
  // expired while it stalled does not finish a job that was re-queued and taken elsewhere).
  Status MarkSucceeded(int64_t id, int64_t now_ms, const std::string& summary,
                       const std::string& results_json, const std::string& node_owner = "");
  // running → queued with not_before = retry_at and the error kept (a retry), or → failed
  // when retry_at is nullopt. A running job whose cancel was requested is not retried: it
  // becomes cancelled. NotFound / Conflict as MarkSucceeded.
  Status MarkFailed(int64_t id, int64_t now_ms, const std::string& error,
                    std::optional<int64_t> retry_at, const std::string& node_owner = "");
  // queued → cancelled at once; running → cancel_requested (the scheduler kills it and then
  // calls MarkCancelled). False for a finished job.
  Result<bool> RequestCancel(int64_t id, int64_t now_ms);
  // queued or running → cancelled (error = reason); Ok when already cancelled, Conflict when
  // it finished otherwise.
  Status MarkCancelled(int64_t id, int64_t now_ms, const std::string& reason);
  // At start-up: every job left running by a previous process goes back to queued (its
  // attempt counts; error = "interrupted by a restart"); returns how many. A job whose
  // cancel was requested becomes cancelled instead (and is not counted). Jobs held by
  // remote workers (a lease) are left to their workers and to ExpireLeases. Only the jobs of
  // `node_owner` (MarkRunning's; "" for a single node): other nodes' are running.
  Result<int> RequeueInterrupted(int64_t now_ms, const std::string& node_owner = "");
  // A clean stop: running → queued with its attempt given back (the app did not fail; the
  // server stopped). No-op for a job that is not running or that a remote worker or another
  // node (lease_owner other than `node_owner`) holds.
  Status ReturnToQueue(int64_t id, const std::string& reason, const std::string& node_owner = "");
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
  // The routing claim of SeriesStable and of the start-up catch-up (several nodes on one
  // PostgreSQL database; a restarted node's catch-up and its stable sweep may meet):
  // records the routing at `now_ms` and returns true, unless the series was routed after its
  // last stored instance already (false: another node routed it; nothing recorded).
  // SQLite (one node): true, nothing written.
  Result<bool> ClaimRouting(const std::string& series_uid, int64_t now_ms);
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
