#include "ai/engine/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "ai/engine/job_runner.h"
#include "ai/engine/worker_process.h"
#include "ai/routing.h"
#include "base/clock.h"
#include "base/log.h"
#include "dicom/tag.h"
#include "ingest/ingest_service.h"
#include "query/matching.h"
#include "storage/ai_admin_store.h"
#include "storage/blob_store.h"
#include "storage/index.h"

namespace radflow::ai {
namespace {

namespace fs = std::filesystem;
using storage::Job;
using storage::JobState;
using SteadyClock = std::chrono::steady_clock;

// A STAT order (PS3.3 C.4.11 RequestedProcedurePriority / C.4.10 ScheduledProcedureStep
// priority) runs before routine work.
int64_t PhysicalMemoryMb() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page / (1024 * 1024) : 4096;
}

bool IsStat(const SeriesFacts& facts) {
  for (const char* key : {"RequestedProcedurePriority", "ScheduledProcedureStepPriority",
                          "PerformedProcedureStepPriority"}) {
    auto it = facts.find(key);
    if (it != facts.end() && (it->second == "STAT" || it->second == "HIGH")) return true;
  }
  return false;
}

// An app's findings as the index keeps them; `seg_uid`: the job's stored SEG, which a
// finding's segment_number points into.
std::vector<storage::FindingRow> FindingRows(const Job& job, const std::vector<Finding>& findings,
                                             const std::string& seg_uid) {
  std::vector<storage::FindingRow> rows;
  for (const Finding& f : findings) {
    storage::FindingRow row;
    row.job_id = job.id;
    row.app_id = job.app_id;
    row.study_uid = job.study_uid;
    row.series_uid = job.series_uid;
    row.type_code = f.type.value + "^" + f.type.scheme;
    row.type_meaning = f.type.meaning;
    row.label = f.label;
    row.x = f.center[0];
    row.y = f.center[1];
    row.z = f.center[2];
    row.size_mm = f.size_mm;
    row.volume_ml = f.volume_ml;
    row.score = f.score;
    static const std::set<std::string> kSeverities{"info", "low", "moderate", "high", "critical"};
    row.severity = kSeverities.count(f.severity) ? f.severity : "info";
    nlohmann::json details{{"measurements", nlohmann::json::array()}};
    for (const auto& m : f.measurements) {
      details["measurements"].push_back({{"name", m.name.meaning}, {"code", m.name.value},
                                         {"scheme", m.name.scheme}, {"value", m.value},
                                         {"unit", m.unit.value}});
    }
    if (f.segment_number > 0 && !seg_uid.empty()) {
      details["segmentation"] = {{"sop_uid", seg_uid}, {"segment_number", f.segment_number}};
    }
    row.details_json = details.dump();
    rows.push_back(std::move(row));
  }
  return rows;
}

// The retry time of a failed attempt (exponential backoff), or nullopt when it was the last.
std::optional<int64_t> RetryAt(const Job& job, double backoff_s) {
  if (job.attempts >= job.max_attempts) return std::nullopt;
  double delay = backoff_s * std::pow(2.0, std::max(0, job.attempts - 1));
  return UnixMillis() + static_cast<int64_t>(delay * 1000);
}

}  // namespace

struct Running {
  Job job;
  int64_t memory_mb = 0;  // declared by the manifest
  pid_t pid = 0;
  SteadyClock::time_point deadline;
  std::string out_dir;
  std::set<std::string> files;  // the series' files at this attempt's start
  bool timed_out = false;
  bool cancelled = false;
  bool exited = false;  // the process has ended (not yet reaped): never signal it again
  bool done = false;
  std::thread monitor;
};

struct Engine::Impl {
  storage::Index& index;
  storage::BlobStore& blobs;
  ingest::IngestService& ingest;
  storage::JobStore& jobs;
  EngineOptions options;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool stopping = false;
  std::map<std::string, std::vector<AppManifest>> apps;  // id → installed versions, newest first
  std::map<std::string, std::string> pins;              // id → pinned version
  std::deque<std::pair<std::string, int64_t>> to_route;  // series UID, when it became stable
  std::map<int64_t, int64_t> stable_at;                  // job id → SeriesStable time
  std::map<int64_t, std::unique_ptr<Running>> running;
  std::set<std::string> app_series;  // series the engine itself stored: never routed
  // A SeriesStable that found the app's job on the series still queued or running: when
  // that job ends, the app is queued again if the series gained files after it started
  // (e.g. a slide level that arrived while the job ran). In memory: after a restart the
  // interrupted job runs again and reads the whole series.
  struct Deferred {
    int64_t stable_ms = 0;
    bool stat = false;
  };
  std::map<std::pair<std::string, std::string>, Deferred> deferred;  // (app id, series UID)
  std::thread scheduler;
  SteadyClock::time_point last_reconcile = SteadyClock::now();
  SteadyClock::time_point last_lease_sweep = SteadyClock::now();
  SteadyClock::time_point last_lease_renewal = SteadyClock::now();

  int64_t memory_budget_mb;
  // lease_owner of this node's jobs: "" alone on the index, "node:<id>" among several.
  const std::string owner = options.node_id.empty() ? "" : "node:" + options.node_id;
  // A node's lease: renewed every 5 s, so only a node gone (or stalled) for 30 s loses it.
  static constexpr int64_t kNodeLeaseMs = 30000;

  Impl(storage::Index& i, storage::BlobStore& b, ingest::IngestService& g, storage::JobStore& j,
       EngineOptions o)
      : index(i), blobs(b), ingest(g), jobs(j), options(std::move(o)),
        memory_budget_mb(options.memory_budget_mb > 0 ? options.memory_budget_mb
                                                      : PhysicalMemoryMb() * 3 / 4) {}

  // Called with mu held. The pinned version when it is installed, else the newest; nullptr
  // for an unknown id.
  const AppManifest* RunningLocked(const std::string& id) const {
    auto it = apps.find(id);
    if (it == apps.end() || it->second.empty()) return nullptr;
    if (auto pin = pins.find(id); pin != pins.end()) {
      for (const auto& m : it->second) {
        if (CompareVersions(m.version, pin->second) == 0) return &m;
      }
    }
    return &it->second.front();
  }

  // Called with mu held. The version a job was queued with, or the running one when that
  // version is no longer installed.
  const AppManifest* ForJobLocked(const Job& job) const {
    auto it = apps.find(job.app_id);
    if (it == apps.end()) return nullptr;
    for (const auto& m : it->second) {
      if (!job.app_version.empty() && CompareVersions(m.version, job.app_version) == 0) return &m;
    }
    return RunningLocked(job.app_id);
  }

  bool Enabled(const AppManifest& m) {
    auto flag = jobs.AppEnabled(m.id);
    return flag.ok() && flag->has_value() ? **flag : m.enabled;
  }

  Result<std::pair<std::string, std::vector<std::string>>> SeriesFiles(const std::string& series_uid) {
    auto found = query::LocateSeries(index, series_uid);
    if (!found.ok()) return found.status();
    std::vector<std::string> files;
    for (const auto& l : found.value()) {
      auto path = blobs.LocalPath(l.blob_path);  // S3: fetched into the read cache
      if (!path.ok()) return path.status();
      files.push_back(path.value());
    }
    return std::make_pair(found->front().study_uid, files);
  }

  Result<std::vector<int64_t>> Route(const std::string& series_uid, const std::string& trigger,
                                     int64_t stable_ms) {
    {
      std::lock_guard lock(mu);
      if (app_series.count(series_uid)) return std::vector<int64_t>{};
    }
    auto located = SeriesFiles(series_uid);
    if (!located.ok()) return located.status();
    auto facts = ReadSeriesFacts(located->second);
    if (!facts.ok()) return facts.status();
    std::vector<AppManifest> candidates;
    {
      std::lock_guard lock(mu);
      for (const auto& [id, versions] : apps) candidates.push_back(*RunningLocked(id));
    }
    std::vector<int64_t> queued;
    const int64_t routed_at = UnixMillis();
    {
      // Claimed first (a shared index; SQLite: always true, no SQL). The start-up catch-up
      // (stable_ms 0) runs on every node at once: a series another node routed since it was
      // listed is left alone. A SeriesStable is once across nodes already
      // (Index::ClaimSeriesStable), but a series a dead node left unfired can be routed both
      // by a node's start-up catch-up and by the survivors' sweep firing it
      // (IngestService::SweepStableSeries): routed once since its last instance, not twice.
      auto claimed = jobs.ClaimRouting(series_uid, routed_at);
      if (!claimed.ok()) return claimed.status();
      if (!claimed.value()) {
        log::Debug("ai: series " + series_uid + " routed since its last instance already");
        return queued;
      }
    }
    const bool stat = IsStat(facts.value());
    for (const AppManifest& m : candidates) {
      if (!Enabled(m)) continue;
      RuleVerdict v = EvaluateRules(m.rules, facts.value());
      if (!v.matched) {
        log::Debug("ai: " + m.id + " not for series " + series_uid + ": " + v.reason);
        continue;
      }
      // One job per app and series at a time: a series that becomes stable again while
      // its job is queued or running is not queued twice; it is remembered (before the
      // check, so that a job ending meanwhile sees it) and queued again when that job
      // ends, if the series gained files after the job started (RequeueIfGrown).
      const auto key = std::make_pair(m.id, series_uid);
      {
        std::lock_guard lock(mu);
        deferred[key] = Deferred{stable_ms, stat};
      }
      auto id = jobs.EnqueueUnlessActive(NewJob(m, located->first, series_uid, stat, trigger));
      if (!id.ok()) return id.status();
      std::lock_guard lock(mu);
      if (!id->has_value()) {
        log::Info("ai: series " + series_uid + " became stable again while a " + m.id +
                  " job on it is queued or running: queued again when that job ends if the series"
                  " gained instances after it started");
        continue;
      }
      deferred.erase(key);
      log::Info("ai: queued job " + std::to_string(**id) + " (" + m.id + ") on series " + series_uid);
      queued.push_back(**id);
      if (stable_ms > 0) stable_at[**id] = stable_ms;
    }
    Status marked = jobs.MarkRouted(series_uid, routed_at);
    if (!marked.ok()) log::Warn("ai: recording the routing of " + series_uid + ": " + marked.ToString());
    std::lock_guard lock(mu);
    cv.notify_all();
    return queued;
  }

  static Job NewJob(const AppManifest& m, const std::string& study, const std::string& series,
                    bool stat, const std::string& trigger) {
    Job job;
    job.app_id = m.id;
    job.app_version = m.version;
    job.study_uid = study;
    job.series_uid = series;
    job.priority = m.priority + (stat ? 100 : 0);
    job.max_attempts = std::max(1, m.max_attempts);
    job.trigger = trigger;
    return job;
  }

  Result<int64_t> Enqueue(const AppManifest& m, const std::string& study, const std::string& series,
                          bool stat, const std::string& trigger) {
    auto id = jobs.Enqueue(NewJob(m, study, series, stat, trigger));
    if (id.ok()) log::Info("ai: queued job " + std::to_string(id.value()) + " (" + m.id + ") on series " + series);
    return id;
  }

  // Called with mu held. This process is the data directory's only server (radflow.lock):
  // a job the database calls running that no worker of ours runs lost its state update to a
  // write error; it goes back to the queue.
  void Reconcile() {
    storage::JobFilter filter;
    filter.state = JobState::kRunning;
    filter.limit = 0;
    auto listed = jobs.List(filter);
    if (!listed.ok()) return;
    for (const Job& job : listed.value()) {
      // A remote worker's job or another node's (a lease) is not ours: ExpireLeases looks
      // after it.
      if (job.lease_owner != owner) continue;
      if (running.count(job.id) == 0) {
        log::Warn("ai: job " + std::to_string(job.id) + " was marked running without a worker; re-queued");
        (void)jobs.ReturnToQueue(job.id, "re-queued: its state was not recorded", owner);
      }
    }
  }

  // Called with mu held.
  void Schedule() {
    if (static_cast<int>(running.size()) >= options.max_running) return;
    auto runnable = jobs.Runnable(UnixMillis(), 1000);
    if (!runnable.ok()) {
      log::Error("ai: reading the job queue: " + runnable.status().ToString());
      return;
    }
    for (const Job& job : runnable.value()) {
      if (static_cast<int>(running.size()) >= options.max_running) break;
      const AppManifest* app = ForJobLocked(job);
      if (app == nullptr) {
        auto marked = jobs.MarkRunning(job.id, UnixMillis(), owner, kNodeLeaseMs);
        if (marked.ok() && marked.value()) {
          (void)jobs.MarkFailed(job.id, UnixMillis(), "app '" + job.app_id + "' is no longer installed",
                                std::nullopt, owner);
        }
        continue;
      }
      if (std::find(options.remote_only_apps.begin(), options.remote_only_apps.end(), job.app_id) !=
          options.remote_only_apps.end()) {
        continue;  // left to the remote workers
      }
      int same_app = 0;
      int64_t memory_mb = 0;
      for (const auto& [id, r] : running) {
        same_app += (r->job.app_id == job.app_id);
        memory_mb += r->memory_mb;
      }
      if (same_app >= options.max_running_per_app) continue;
      const int64_t wanted = std::max<int64_t>(0, app->resources.memory_mb);
      if (!running.empty() && memory_mb + wanted > memory_budget_mb) continue;
      const int64_t started_at = UnixMillis();
      auto marked = jobs.MarkRunning(job.id, started_at, owner, kNodeLeaseMs);
      if (!marked.ok() || !marked.value()) continue;
      if (job.attempts > job.max_attempts) {
        // Only a job interrupted by restarts gets here (failures stop at max_attempts): one
        // extra attempt is allowed, so that an app that kills the hub cannot loop for ever.
        (void)jobs.MarkFailed(job.id, UnixMillis(), "gave up after " + std::to_string(job.attempts) +
                                                   " interrupted attempts", std::nullopt, owner);
        continue;
      }
      if (CompareVersions(app->version, job.app_version) != 0) {
        log::Warn("ai: job " + std::to_string(job.id) + " was queued for " + job.app_id + " " + job.app_version +
                  ", no longer installed; running " + app->version);
      }
      Launch(job, *app, started_at);
    }
  }

  // Called with mu held.
  void Launch(Job job, const AppManifest& app, int64_t started_at) {
    ++job.attempts;
    job.started_at = started_at;
    auto located = SeriesFiles(job.series_uid);
    if (!located.ok()) {
      (void)jobs.MarkFailed(job.id, UnixMillis(), "series not available: " + located.status().message(),
                            std::nullopt, owner);
      return;
    }
    auto r = std::make_unique<Running>();
    r->job = job;
    r->memory_mb = app.resources.memory_mb;
    r->out_dir = options.work_dir + "/job-" + std::to_string(job.id) + "-" + std::to_string(job.attempts);
    r->files.insert(located->second.begin(), located->second.end());
    std::error_code ec;
    fs::remove_all(r->out_dir, ec);
    fs::create_directories(r->out_dir, ec);
    auto pid = StartWorker(options.worker_binary, job.id, app, options.app_folders, located->second, r->out_dir);
    if (!pid.ok()) {
      Fail(job, "cannot start the worker: " + pid.status().message());
      fs::remove_all(r->out_dir, ec);
      return;
    }
    r->pid = pid.value();
    r->deadline = SteadyClock::now() + std::chrono::milliseconds(
                                           static_cast<int64_t>(std::max(0.1, app.timeout_s) * 1000));
    log::Info("ai: job " + std::to_string(job.id) + " (" + job.app_id + ") started, attempt " +
              std::to_string(job.attempts) + ", worker pid " + std::to_string(r->pid));
    Running* raw = r.get();
    r->monitor = std::thread([this, raw] { Monitor(raw); });
    running[job.id] = std::move(r);
  }

  // Retry with exponential backoff, or fail for good.
  void Fail(const Job& job, const std::string& error) {
    std::optional<int64_t> retry_at = RetryAt(job, options.retry_backoff_s);
    log::Warn("ai: job " + std::to_string(job.id) + " (" + job.app_id + ") attempt " +
              std::to_string(job.attempts) + " failed: " + error +
              (retry_at ? " — will retry" : " — giving up"));
    (void)jobs.MarkFailed(job.id, UnixMillis(), error, retry_at, owner);
  }

  void FailFinal(const Job& job, const std::string& error, bool final) {
    if (!final) return Fail(job, error);
    log::Warn("ai: job " + std::to_string(job.id) + " (" + job.app_id + ") failed after storing results: " + error);
    (void)jobs.MarkFailed(job.id, UnixMillis(), error + " (some results were stored; not retried)", std::nullopt,
                          owner);
  }

  void Monitor(Running* r) {
    WaitWorkerExit(r->pid);  // without reaping: the pid stays ours until `exited` is set
    {
      std::lock_guard lock(mu);
      r->exited = true;
    }
    const int status = WaitWorker(r->pid);
    const auto exited = SteadyClock::now();
    bool cancelled, timed_out, shutting_down;
    {
      std::lock_guard lock(mu);
      cancelled = r->cancelled;
      timed_out = r->timed_out;
      shutting_down = stopping;
    }
    const Job& job = r->job;
    if (shutting_down) {
      // The server stops: the job goes back to the queue with its attempt given back.
      (void)jobs.ReturnToQueue(job.id, "stopped with the server", owner);
    } else if (cancelled) {
      (void)jobs.MarkCancelled(job.id, UnixMillis(), "cancelled while running");
    } else if (timed_out) {
      std::lock_guard lock(mu);
      const AppManifest* app = ForJobLocked(job);
      double limit = app != nullptr ? app->timeout_s : 0;
      Fail(job, "timed out after " + std::to_string(static_cast<int>(std::ceil(limit))) + " s (worker killed)");
    } else {
      Finish(*r, status, exited);
    }
    std::error_code ec;
    if (!shutting_down) fs::remove_all(r->out_dir, ec);
    if (!shutting_down) RequeueIfGrown(*r, cancelled);
    std::lock_guard lock(mu);
    stable_at.erase(job.id);
    r->done = true;
    cv.notify_all();
  }

  // After a job's attempt: the SeriesStable remembered while it was active (Route) queues
  // the app again when the series gained files the attempt did not get. A retry (the job
  // queued again) reads the whole series when it starts: the entry waits for its end. A
  // cancelled job is not followed by another.
  void RequeueIfGrown(const Running& r, bool cancelled) {
    const Job& job = r.job;
    auto now = jobs.Get(job.id);
    if (now.ok() && now->has_value() && (*now)->state == JobState::kQueued) return;
    Deferred d;
    {
      std::lock_guard lock(mu);
      auto it = deferred.find({job.app_id, job.series_uid});
      if (it == deferred.end()) return;
      d = it->second;
      deferred.erase(it);
    }
    if (cancelled) return;
    auto located = SeriesFiles(job.series_uid);
    if (!located.ok()) return;
    size_t added = 0;
    for (const auto& f : located->second) added += r.files.count(f) == 0;
    if (added == 0) return;
    AppManifest m;
    {
      std::lock_guard lock(mu);
      const AppManifest* app = RunningLocked(job.app_id);
      if (app == nullptr) return;
      m = *app;
    }
    if (!Enabled(m)) return;
    const std::string trigger = "series-stable (" + std::to_string(added) + " instance(s) stored while job " +
                                std::to_string(job.id) + " ran)";
    auto id = jobs.EnqueueUnlessActive(NewJob(m, located->first, job.series_uid, d.stat, trigger));
    if (!id.ok()) {
      log::Warn("ai: queueing " + m.id + " again on series " + job.series_uid + ": " + id.status().ToString());
      return;
    }
    if (!id->has_value()) return;
    log::Info("ai: queued job " + std::to_string(**id) + " (" + m.id + ") on series " + job.series_uid + ": " +
              trigger);
    std::lock_guard lock(mu);
    if (d.stable_ms > 0) stable_at[**id] = d.stable_ms;
    cv.notify_all();
  }

  void Finish(Running& r, int status, SteadyClock::time_point exited) {
    const Job& job = r.job;
    auto run = ReadWorkerRun(r.out_dir, status, "worker");
    if (!run.ok()) {
      std::lock_guard lock(mu);
      Fail(job, run.status().message());
      return;
    }
    // Results enter like any other instance: one chokepoint, same durability. The checks
    // (paths in the job's folder, UIDs not stored yet) run before anything is stored.
    // The paths stored are the checked ones, inside the folder, never the worker's strings.
    std::vector<std::string> checked;
    std::error_code folder_ec;
    const auto folder = fs::weakly_canonical(r.out_dir, folder_ec);
    for (const auto& o : run->objects) {
      std::error_code ec;
      auto rel = fs::relative(fs::weakly_canonical(o.path, ec), folder, ec);
      if (folder_ec || ec || rel.empty() || *rel.begin() == "..") {
        std::lock_guard lock(mu);
        Fail(job, "the worker named a result outside its folder: " + o.path);
        return;
      }
      checked.push_back((folder / rel).string());
    }
    // A result needs a SOP Instance UID of its own (PS3.3 C.12.1.1.1): one already stored
    // (a source's, an earlier result's) would be kept, not stored.
    for (const auto& o : run->objects) {
      auto found = index.FindInstance(o.sop_instance_uid);
      if (found.ok() && found->has_value()) {
        std::lock_guard lock(mu);
        Fail(job, "its " + o.kind + " result's SOPInstanceUID " + o.sop_instance_uid + " is already stored");
        return;
      }
    }
    nlohmann::json objects = nlohmann::json::array();
    bool stored_any = false;
    std::set<std::string> output_series;
    std::string seg_uid;
    for (size_t i = 0; i < run->objects.size(); ++i) {
      const auto& o = run->objects[i];
      {
        std::lock_guard lock(mu);
        app_series.insert(o.series_instance_uid);
      }
      ingest::Origin origin;
      origin.kind = ingest::Origin::Kind::kApp;
      origin.detail = job.app_id + " job " + std::to_string(job.id);
      origin.expected_study_instance_uid = job.study_uid;
      auto stored = ingest.Store(checked[i], origin);
      if (!stored.ok()) {
        std::lock_guard lock(mu);
        // A retry would store new copies of what is already in: fail for good then.
        FailFinal(job, "storing its " + o.kind + " result: " + stored.status().ToString(), stored_any);
        return;
      }
      if (stored->outcome == ingest::StoreOutcome::kAlreadyStored ||
          stored->outcome == ingest::StoreOutcome::kKeptExisting) {
        // Stored meanwhile under the same UID: ingest kept that instance, not this result.
        std::lock_guard lock(mu);
        FailFinal(job, "storing its " + o.kind + " result: SOPInstanceUID " + o.sop_instance_uid +
                           " is already stored (" + ingest::OutcomeName(stored->outcome) + "); the result was not stored",
                  stored_any);
        return;
      }
      stored_any = true;
      output_series.insert(o.series_instance_uid);
      if (o.kind == "seg") seg_uid = o.sop_instance_uid;
      objects.push_back({{"kind", o.kind}, {"series_uid", o.series_instance_uid},
                         {"sop_uid", o.sop_instance_uid}, {"sop_class_uid", o.sop_class_uid}});
    }
    // Also after a restart, the engine's own series are never routed (start-up catch-up).
    for (const auto& series : output_series) (void)jobs.MarkRouted(series, UnixMillis());
    Status s = jobs.ReplaceFindings(job.id, FindingRows(job, run->findings, seg_uid));
    if (!s.ok()) {
      std::lock_guard lock(mu);
      FailFinal(job, "recording findings: " + s.ToString(), stored_any);
      return;
    }
    const int64_t stored_ms = UnixMillis();
    nlohmann::json timings{{"load_ms", run->load_ms}, {"app_ms", run->app_ms},
                           {"write_ms", run->write_ms},
                           {"exit_to_stored_ms", std::chrono::duration<double, std::milli>(
                                                     SteadyClock::now() - exited).count()},
                           {"app_return_to_stored_ms", stored_ms - run->app_finished_at_ms}};
    {
      std::lock_guard lock(mu);
      auto it = stable_at.find(job.id);  // Monitor erases it once the job is settled
      if (it != stable_at.end()) {
        timings["stable_to_start_ms"] = job.started_at - it->second;
        // Including the worker process's start and the series' loading.
        timings["stable_to_app_call_ms"] = run->app_started_at_ms - it->second;
      }
    }
    nlohmann::json results{{"objects", objects}, {"timings", timings}};
    s = jobs.MarkSucceeded(job.id, stored_ms, run->summary, results.dump(), owner);
    if (!s.ok()) log::Error("ai: recording job " + std::to_string(job.id) + ": " + s.ToString());
    log::Info("ai: job " + std::to_string(job.id) + " (" + job.app_id + ") done: " + run->summary);
  }

  // Running jobs of remote workers whose lease passed go back to the queue (or fail at
  // their last attempt). Called with mu held.
  void ExpireLeases() {
    auto expired = jobs.ExpireLeases(UnixMillis());
    if (!expired.ok()) {
      log::Error("ai: expiring worker leases: " + expired.status().ToString());
      return;
    }
    for (int64_t id : expired.value()) {
      auto job = jobs.Get(id);
      if (job.ok() && job->has_value()) {
        log::Warn("ai: job " + std::to_string(id) + " (" + (*job)->app_id + "): " + (*job)->error + "; now " +
                  storage::JobStateName((*job)->state));
      }
    }
  }

  // Every 5 s on the scheduler's thread (Loop; last_lease_renewal is its own): the leases
  // of this node's running jobs. Nothing to do alone on the index (owner "").
  void RenewNodeLeasesIfDue(SteadyClock::time_point now) {
    if (owner.empty() || now - last_lease_renewal <= std::chrono::seconds(5)) return;
    last_lease_renewal = now;
    Status renewed = jobs.RenewNodeLeases(owner, UnixMillis(), kNodeLeaseMs);
    if (!renewed.ok()) log::Warn("ai: renewing this node's job leases: " + renewed.ToString());
  }

  void Loop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      while (!stopping && !to_route.empty()) {
        auto [series, when] = to_route.front();
        to_route.pop_front();
        lock.unlock();
        auto routed = Route(series, "series-stable", when);
        if (!routed.ok()) log::Warn("ai: routing series " + series + ": " + routed.status().ToString());
        RenewNodeLeasesIfDue(SteadyClock::now());  // a long catch-up must not let them lapse
        lock.lock();
      }
      const auto now = SteadyClock::now();
      for (auto it = running.begin(); it != running.end();) {
        Running& r = *it->second;
        if (r.done) {
          lock.unlock();
          r.monitor.join();
          lock.lock();
          it = running.erase(it);
          continue;
        }
        if (!r.timed_out && !r.cancelled && !r.exited && now > r.deadline) {
          r.timed_out = true;
          KillWorker(r.pid);
        }
        ++it;
      }
      RenewNodeLeasesIfDue(now);
      if (now - last_lease_sweep > std::chrono::seconds(1)) {
        last_lease_sweep = now;
        ExpireLeases();
      }
      if (now - last_reconcile > std::chrono::seconds(10)) {
        last_reconcile = now;
        Reconcile();
      }
      Schedule();
      cv.wait_for(lock, std::chrono::milliseconds(250));
    }
  }
};

Engine::Engine(storage::Index& index, storage::BlobStore& blobs, ingest::IngestService& ingest,
               storage::JobStore& jobs, EngineOptions options, storage::AiAdminStore* admin)
    : impl_(std::make_shared<Impl>(index, blobs, ingest, jobs, std::move(options))), jobs_(jobs), admin_(admin) {}

Engine::~Engine() { Stop(); }

Status Engine::Start() {
  LoadedApps loaded = LoadApps(impl_->options.app_folders);
  manifest_errors_ = loaded.errors;
  for (const auto& e : loaded.errors) log::Warn("ai: manifest rejected: " + e);
  std::error_code ec;
  fs::create_directories(impl_->options.work_dir, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot create " + impl_->options.work_dir + ": " + ec.message());
  // Work folders of a previous process are stale: their jobs are re-queued below.
  for (const auto& entry : fs::directory_iterator(impl_->options.work_dir, ec)) fs::remove_all(entry.path(), ec);
  auto requeued = jobs_.RequeueInterrupted(UnixMillis(), impl_->owner);
  if (!requeued.ok()) return requeued.status();
  if (!impl_->owner.empty()) {
    // Among several nodes every job runs under a node's lease: one left running without an
    // owner was a single node's before the upgrade, and no node's sweep would ever take it.
    auto unowned = jobs_.RequeueInterrupted(UnixMillis(), "");
    if (!unowned.ok()) return unowned.status();
    requeued.value() += unowned.value();
  }
  if (requeued.value() > 0) log::Info("ai: re-queued " + std::to_string(requeued.value()) + " interrupted job(s)");
  // Series whose SeriesStable was lost to a restart (or stored while no server ran).
  auto missed = jobs_.SeriesToRoute(UnixMillis() - static_cast<int64_t>(impl_->options.catch_up_hours * 3600e3));
  if (!missed.ok()) return missed.status();
  if (!missed->empty()) log::Info("ai: routing " + std::to_string(missed->size()) + " series not routed before the restart");
  std::map<std::string, std::string> pins;
  if (admin_ != nullptr) {
    auto stored = admin_->Pins();
    if (!stored.ok()) return stored.status();
    pins = std::move(stored.value());
  }
  {
    std::lock_guard lock(impl_->mu);
    for (auto& m : loaded.versions) impl_->apps[m.id].push_back(std::move(m));  // newest first
    impl_->pins = std::move(pins);
    for (const auto& [id, version] : impl_->pins) {
      const AppManifest* running = impl_->RunningLocked(id);
      if (running != nullptr && CompareVersions(running->version, version) != 0) {
        log::Warn("ai: " + id + " is pinned to version " + version + ", which is not installed; running " +
                  running->version);
      }
    }
    for (const auto& series : missed.value()) impl_->to_route.emplace_back(series, 0);
    impl_->started = true;
  }
  log::Info("ai: " + std::to_string(loaded.apps.size()) + " app(s) loaded (" +
            std::to_string(loaded.versions.size()) + " version(s))");
  if (impl_->options.route_on_series_stable) {
    std::shared_ptr<Impl> impl = impl_;
    impl_->ingest.Subscribe([impl](const ingest::Event& e) {
      if (e.type != ingest::Event::Type::kSeriesStable) return;
      std::lock_guard lock(impl->mu);
      if (impl->stopping) return;
      impl->to_route.emplace_back(e.series_instance_uid, UnixMillis());
      impl->cv.notify_all();
    });
  }
  impl_->scheduler = std::thread([this] { impl_->Loop(); });
  return Status::Ok();
}

void Engine::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->started || impl_->stopping) return;
    impl_->stopping = true;
    for (auto& [id, r] : impl_->running) {
      if (!r->exited) KillWorker(r->pid);
    }
    impl_->cv.notify_all();
  }
  if (impl_->scheduler.joinable()) impl_->scheduler.join();
  // The scheduler has stopped: only the monitors still touch `running`, and only their own entry.
  for (auto& [id, r] : impl_->running) {
    if (r->monitor.joinable()) r->monitor.join();
  }
  std::lock_guard lock(impl_->mu);
  impl_->running.clear();
}

namespace {

std::string VersionList(const std::vector<AppManifest>& installed) {
  std::string out;
  for (const auto& m : installed) out += (out.empty() ? "" : ", ") + m.version;
  return out;
}

}  // namespace

std::vector<AppStatus> Engine::Apps() const {
  std::vector<AppStatus> out;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [id, versions] : impl_->apps) {
      AppStatus a;
      a.manifest = *impl_->RunningLocked(id);
      a.installed = versions;
      if (auto pin = impl_->pins.find(id); pin != impl_->pins.end()) a.pinned_version = pin->second;
      out.push_back(std::move(a));
    }
  }
  for (auto& a : out) a.enabled = impl_->Enabled(a.manifest);
  return out;
}

Result<AppStatus> Engine::App(const std::string& app_id) const {
  AppStatus a;
  {
    std::lock_guard lock(impl_->mu);
    const AppManifest* running = impl_->RunningLocked(app_id);
    if (running == nullptr) return Status(ErrorCode::kNotFound, "no app '" + app_id + "'");
    a.manifest = *running;
    a.installed = impl_->apps.at(app_id);
    if (auto pin = impl_->pins.find(app_id); pin != impl_->pins.end()) a.pinned_version = pin->second;
  }
  a.enabled = impl_->Enabled(a.manifest);
  return a;
}

Result<AppStatus> Engine::SetEnabled(const std::string& app_id, bool enabled, const std::string& actor) {
  auto app = App(app_id);
  if (!app.ok()) return app.status();
  const std::string note = app->enabled == enabled ? std::string("was already ") + (enabled ? "enabled" : "disabled") : "";
  Status s = admin_ != nullptr ? admin_->SetEnabled(app_id, enabled, actor, app->manifest.version, note)
                               : jobs_.SetAppEnabled(app_id, enabled);
  if (!s.ok()) return s;
  log::Info("ai: " + app_id + (enabled ? " enabled" : " disabled") + (actor.empty() ? "" : " by " + actor));
  app->enabled = enabled;
  return app;
}

Result<AppStatus> Engine::Pin(const std::string& app_id, const std::string& version, const std::string& actor) {
  std::string pinned;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->apps.find(app_id);
    if (it == impl_->apps.end()) return Status(ErrorCode::kNotFound, "no app '" + app_id + "'");
    auto m = std::find_if(it->second.begin(), it->second.end(),
                          [&](const AppManifest& x) { return CompareVersions(x.version, version) == 0; });
    if (m == it->second.end()) {
      return Status(ErrorCode::kInvalidArgument, "version: '" + version + "' is not an installed version of " +
                                                     app_id + " (installed: " + VersionList(it->second) + ")");
    }
    pinned = m->version;  // as the manifest spells it
  }
  if (admin_ != nullptr) {
    Status s = admin_->SetPin(app_id, pinned, actor, "");
    if (!s.ok()) return s;
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->pins[app_id] = pinned;
  }
  log::Info("ai: " + app_id + " pinned to " + pinned + (actor.empty() ? "" : " by " + actor));
  return App(app_id);
}

Result<AppStatus> Engine::Unpin(const std::string& app_id, const std::string& actor) {
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->apps.count(app_id)) return Status(ErrorCode::kNotFound, "no app '" + app_id + "'");
  }
  if (admin_ != nullptr) {
    Status s = admin_->ClearPin(app_id, actor, "");
    if (!s.ok()) return s;
  }
  {
    std::lock_guard lock(impl_->mu);
    impl_->pins.erase(app_id);
  }
  log::Info("ai: " + app_id + " unpinned" + (actor.empty() ? "" : " by " + actor));
  return App(app_id);
}

Result<int64_t> Engine::Submit(const std::string& app_id, const std::string& series_uid, bool stat,
                               const std::string& trigger) {
  AppManifest m;
  {
    std::lock_guard lock(impl_->mu);
    const AppManifest* running = impl_->RunningLocked(app_id);
    if (running == nullptr) return Status(ErrorCode::kNotFound, "no app '" + app_id + "'");
    m = *running;
  }
  auto located = impl_->SeriesFiles(series_uid);
  if (!located.ok()) return located.status();
  auto id = impl_->Enqueue(m, located->first, series_uid, stat, trigger);
  std::lock_guard lock(impl_->mu);
  impl_->cv.notify_all();
  return id;
}

Result<int64_t> Engine::Rerun(int64_t job_id) {
  auto job = jobs_.Get(job_id);
  if (!job.ok()) return job.status();
  if (!job->has_value()) return Status(ErrorCode::kNotFound, "no job " + std::to_string(job_id));
  Job again = **job;
  {
    std::lock_guard lock(impl_->mu);
    const AppManifest* running = impl_->RunningLocked(again.app_id);
    if (running == nullptr) return Status(ErrorCode::kNotFound, "no app '" + again.app_id + "'");
    again.app_version = running->version;
  }
  // Enqueue keeps app, series, priority, attempts allowed, not_before, created_at, trigger.
  again.not_before = again.created_at = 0;
  again.trigger = "rerun of " + std::to_string(job_id);
  auto id = jobs_.Enqueue(again);
  std::lock_guard lock(impl_->mu);
  impl_->cv.notify_all();
  return id;
}

Result<bool> Engine::Cancel(int64_t job_id) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->running.find(job_id);
  if (it != impl_->running.end() && it->second->exited) return false;  // its results are being stored
  auto requested = jobs_.RequestCancel(job_id, UnixMillis());
  if (!requested.ok() || !requested.value()) return requested;
  if (it != impl_->running.end() && !it->second->done) {
    it->second->cancelled = true;
    KillWorker(it->second->pid);
  }
  return true;
}


// --- remote workers (docs/remote-workers.md) ---

namespace {

int64_t LeaseMs(double lease_s) { return static_cast<int64_t>(std::clamp(lease_s, 2.0, 3600.0) * 1000); }

}  // namespace

Result<std::vector<Job>> Engine::ClaimRemote(const std::string& worker, const std::vector<std::string>& app_ids,
                                             double lease_s, int max_jobs) {
  // Expired leases first: a worker polling for work finds a job its dead peer left.
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->started && !impl_->stopping) impl_->ExpireLeases();
  }
  auto claimed = jobs_.Claim(worker, app_ids, UnixMillis(), LeaseMs(lease_s), std::clamp(max_jobs, 1, 16));
  if (!claimed.ok()) return claimed.status();
  for (const Job& job : claimed.value()) {
    log::Info("ai: job " + std::to_string(job.id) + " (" + job.app_id + ") taken by worker " + worker +
              ", attempt " + std::to_string(job.attempts));
  }
  return claimed;
}

Result<Job> Engine::RenewRemote(int64_t job_id, const std::string& worker, double lease_s,
                                const std::vector<std::string>& result_series) {
  auto job = jobs_.RenewLease(job_id, worker, UnixMillis(), LeaseMs(lease_s));
  if (!job.ok()) return job.status();
  if (!result_series.empty()) {
    std::lock_guard lock(impl_->mu);
    for (const auto& series : result_series) {
      if (series == job->series_uid) {
        return Status(ErrorCode::kInvalidArgument,
                      "result series " + series + " is the job's source series: results need a series of their own");
      }
      impl_->app_series.insert(series);
    }
  }
  return job;
}

Status Engine::CompleteRemote(int64_t job_id, const std::string& worker, const AppRun& run) {
  auto got = jobs_.Get(job_id);
  if (!got.ok()) return got.status();
  if (!got->has_value()) return Status(ErrorCode::kNotFound, "no job " + std::to_string(job_id));
  const Job job = **got;
  if (job.state != JobState::kRunning || job.lease_owner != worker) {
    // The store's own check below names the reason; this one spares the index lookups.
    return jobs_.CompleteLeased(job_id, worker, UnixMillis(), "", "[]", {});
  }
  // Every result must already be in the index (STOW-RS before complete), in the job's study,
  // in a series of its own, and be what the worker says it is.
  nlohmann::json objects = nlohmann::json::array();
  std::set<std::string> output_series;
  std::string seg_uid;
  std::set<std::string> seen;
  for (const auto& o : run.objects) {
    const std::string what = o.kind + " result " + o.sop_instance_uid;
    if (o.kind != "seg" && o.kind != "sr" && o.kind != "derived") {
      return Status(ErrorCode::kInvalidArgument, what + ": kind must be seg, sr or derived");
    }
    if (!seen.insert(o.sop_instance_uid).second) {
      return Status(ErrorCode::kInvalidArgument, what + " is listed twice");
    }
    auto found = impl_->index.FindInstance(o.sop_instance_uid);
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      return Status(ErrorCode::kInvalidArgument, what + " is not stored: send it by STOW-RS before completing");
    }
    const storage::InstanceLocation& at = **found;
    if (at.study_uid != job.study_uid) {
      return Status(ErrorCode::kInvalidArgument, what + " belongs to study " + at.study_uid + ", not to the job's study " +
                                                     job.study_uid);
    }
    if (at.series_uid == job.series_uid) {
      return Status(ErrorCode::kInvalidArgument, what + " is in the job's source series " + job.series_uid +
                                                     ": results need a series of their own");
    }
    if (!o.sop_class_uid.empty() && o.sop_class_uid != at.sop_class_uid) {
      return Status(ErrorCode::kInvalidArgument, what + " is stored as SOP class " + at.sop_class_uid + ", not " +
                                                     o.sop_class_uid);
    }
    output_series.insert(at.series_uid);
    if (o.kind == "seg") seg_uid = o.sop_instance_uid;
    objects.push_back({{"kind", o.kind}, {"series_uid", at.series_uid}, {"sop_uid", at.sop_uid},
                       {"sop_class_uid", at.sop_class_uid}});
  }
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& series : output_series) impl_->app_series.insert(series);
  }
  for (const auto& series : output_series) (void)jobs_.MarkRouted(series, UnixMillis());
  const int64_t stored_ms = UnixMillis();
  nlohmann::json timings{{"load_ms", run.load_ms}, {"app_ms", run.app_ms}, {"write_ms", run.write_ms},
                         {"app_return_to_stored_ms", stored_ms - run.app_finished_at_ms}};
  nlohmann::json results{{"objects", objects}, {"timings", timings}, {"worker", worker}};
  Status s = jobs_.CompleteLeased(job_id, worker, stored_ms, run.summary, results.dump(),
                                  FindingRows(job, run.findings, seg_uid));
  if (s.ok()) log::Info("ai: job " + std::to_string(job_id) + " (" + job.app_id + ") done by worker " + worker + ": " + run.summary);
  return s;
}

Status Engine::FailRemote(int64_t job_id, const std::string& worker, const std::string& error, bool give_back,
                          bool retry) {
  if (give_back) {
    Status s = jobs_.ReleaseLeased(job_id, worker, UnixMillis(), "given back by worker " + worker + ": " + error);
    if (s.ok()) {
      log::Info("ai: job " + std::to_string(job_id) + " given back by worker " + worker + ": " + error);
      std::lock_guard lock(impl_->mu);
      impl_->cv.notify_all();
    }
    return s;
  }
  auto got = jobs_.Get(job_id);
  if (!got.ok()) return got.status();
  if (!got->has_value()) return Status(ErrorCode::kNotFound, "no job " + std::to_string(job_id));
  const auto retry_at = retry ? RetryAt(**got, impl_->options.retry_backoff_s) : std::nullopt;
  Status s = jobs_.FailLeased(job_id, worker, UnixMillis(), error + " (worker " + worker + ")", retry_at);
  if (s.ok()) {
    log::Warn("ai: job " + std::to_string(job_id) + " (" + (*got)->app_id + ") attempt " +
              std::to_string((*got)->attempts) + " failed on worker " + worker + ": " + error +
              (retry_at ? " — will retry" : " — giving up"));
  }
  return s;
}

}  // namespace radflow::ai
