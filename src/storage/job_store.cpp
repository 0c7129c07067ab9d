#include "storage/job_store.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "storage/db.h"
#include "storage/sql_dialect.h"

namespace radflow::storage {

namespace {

constexpr const char* kStateNames[] = {"queued", "running", "succeeded", "failed", "cancelled"};
constexpr const char* kSeverities[] = {"info", "low", "moderate", "high", "critical"};

constexpr const char* kJobColumns =
    "id, app_id, app_version, study_uid, series_uid, state, priority, attempts, max_attempts,"
    " not_before, created_at, started_at, finished_at, trigger, error, summary, results_json,"
    " cancel_requested, lease_owner, lease_expires_at";

// LIMIT takes a number on both backends (PostgreSQL has no LIMIT -1): "no limit" is this.
constexpr int64_t kNoLimit = int64_t{1} << 62;

Job ReadJob(const Statement& st) {
  Job j;
  j.id = st.Int(0);
  j.app_id = st.Text(1);
  j.app_version = st.Text(2);
  j.study_uid = st.Text(3);
  j.series_uid = st.Text(4);
  // The CHECK constraint keeps the column to the five names.
  j.state = ParseJobState(st.Text(5)).value_or(JobState::kFailed);
  j.priority = static_cast<int>(st.Int(6));
  j.attempts = static_cast<int>(st.Int(7));
  j.max_attempts = static_cast<int>(st.Int(8));
  j.not_before = st.Int(9);
  j.created_at = st.Int(10);
  j.started_at = st.Int(11);
  j.finished_at = st.Int(12);
  j.trigger = st.Text(13);
  j.error = st.Text(14);
  j.summary = st.Text(15);
  j.results_json = st.Text(16);
  j.cancel_requested = st.Int(17) != 0;
  j.lease_owner = st.Text(18);
  j.lease_expires_at = st.Int(19);
  return j;
}

// A count, not EXISTS: PostgreSQL answers EXISTS with a boolean, not an integer.
constexpr const char* kActiveSql =
    "SELECT COUNT(*) FROM (SELECT 1 FROM ai_jobs WHERE series_uid = ? AND app_id = ?"
    " AND state IN ('queued', 'running') LIMIT 1) active";

// The lease condition of a holder's update: bound as (id, worker, now).
constexpr const char* kHeldBy =
    " WHERE id = ? AND state = 'running' AND lease_owner = ? AND lease_expires_at >= ?";

constexpr const char* kFindingColumns =
    "id, job_fk, app_id, study_uid, series_uid, type_code, type_meaning, label, x, y, z,"
    " size_mm, volume_ml, score, severity, details_json, created_at";

FindingRow ReadFinding(Prepared* raw, const Statement& st) {
  FindingRow f;
  f.id = st.Int(0);
  f.job_id = st.Int(1);
  f.app_id = st.Text(2);
  f.study_uid = st.Text(3);
  f.series_uid = st.Text(4);
  f.type_code = st.Text(5);
  f.type_meaning = st.Text(6);
  f.label = st.Text(7);
  f.x = raw->Double(8);
  f.y = raw->Double(9);
  f.z = raw->Double(10);
  f.size_mm = raw->Double(11);
  f.volume_ml = raw->Double(12);
  f.score = raw->Double(13);
  f.severity = st.Text(14);
  f.details_json = st.Text(15);
  f.created_at = st.Int(16);
  return f;
}

}  // namespace

const char* JobStateName(JobState s) { return kStateNames[static_cast<int>(s)]; }

std::optional<JobState> ParseJobState(std::string_view name) {
  for (int i = 0; i < 5; ++i) {
    if (name == kStateNames[i]) return static_cast<JobState>(i);
  }
  return std::nullopt;
}

class JobStore::Impl {
 public:
  std::mutex mu;  // SqliteDb is opened NOMUTEX: one thread at a time on the connection
  std::unique_ptr<Db> db;

  // A BEGIN still busy after the busy timeout is retried (5 attempts with backoff).
  Status Transaction(const std::function<Status()>& fn) { return db->Transaction(fn, 5); }

  // Whether a queued or running job of the app exists on the series (mu held).
  Result<bool> Active(const std::string& app_id, const std::string& series_uid) {
    auto p = db->Prepare(kActiveSql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, series_uid).Bind(2, app_id);
    Status s;
    const bool active = st.Step(&s) && st.Int(0) != 0;
    if (!s.ok()) return s;
    return active;
  }

  // Executes a prepared write; *changes gets the number of rows it changed.
  Status Run(const std::string& sql, const std::function<void(Prepared*, Statement&)>& bind,
             int* changes = nullptr) {
    auto p = db->Prepare(sql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    bind(p.value(), st);
    Status s;
    st.Step(&s);
    if (changes) *changes = db->Changes();
    return s;
  }

  // The job's state, or nullopt when no such job.
  Result<std::optional<JobState>> StateOf(int64_t id) {
    auto p = db->Prepare("SELECT state FROM ai_jobs WHERE id = ?");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, id);
    Status s;
    std::optional<JobState> out;
    if (st.Step(&s)) out = ParseJobState(st.Text(0));
    if (!s.ok()) return s;
    return out;
  }

  // Why a conditional update changed nothing: NotFound, or Conflict naming the state.
  Status NotInState(int64_t id, const char* wanted) {
    auto state = StateOf(id);
    if (!state.ok()) return state.status();
    if (!state.value()) return {ErrorCode::kNotFound, "no job " + std::to_string(id)};
    return {ErrorCode::kConflict, "job " + std::to_string(id) + " is " +
                                      JobStateName(*state.value()) + ", not " + wanted};
  }

  // Why MarkSucceeded / MarkFailed of `owner` (MarkRunning's) changed nothing: as
  // NotInState, or Conflict when the job runs for another holder (this node's lease expired
  // and another node, or a remote worker, took it).
  Status NotRunningFor(int64_t id, const std::string& owner) {
    auto p = db->Prepare("SELECT lease_owner FROM ai_jobs WHERE id = ? AND state = 'running'");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, id);
    Status s;
    if (st.Step(&s) && st.Text(0) != owner) {
      const std::string holder = st.Text(0);
      return {ErrorCode::kConflict, "job " + std::to_string(id) + " is running for " +
                                        (holder.empty() ? std::string("the hub") : holder) + ", not for " +
                                        (owner.empty() ? std::string("the hub") : owner)};
    }
    if (!s.ok()) return s;
    return NotInState(id, "running");
  }

  // Why a holder's update (kHeldBy) changed nothing: NotFound, or Conflict naming the reason.
  Status NotHeld(int64_t id, const std::string& worker, int64_t now_ms) {
    auto p = db->Prepare("SELECT state, lease_owner, lease_expires_at FROM ai_jobs WHERE id = ?");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, id);
    Status s;
    if (!st.Step(&s)) {
      if (!s.ok()) return s;
      return {ErrorCode::kNotFound, "no job " + std::to_string(id)};
    }
    const std::string job = "job " + std::to_string(id);
    const std::string state = st.Text(0), owner = st.Text(1);
    const int64_t expires = st.Int(2);
    if (state == "running" && owner == worker && expires < now_ms) {
      return {ErrorCode::kConflict, "the lease of worker " + worker + " on " + job + " expired " +
                                        std::to_string((now_ms - expires) / 1000) + " s ago"};
    }
    if (owner != worker) {
      return {ErrorCode::kConflict, job + " is " + state + " and held by " +
                                        (owner.empty() ? std::string("the hub") : "worker " + owner) +
                                        ", not by worker " + worker};
    }
    return {ErrorCode::kConflict, job + " is " + state + ", no longer running for worker " + worker};
  }

  // A job's findings, replacing its earlier rows (mu held, inside a transaction).
  Status WriteFindings(int64_t job_id, const std::vector<FindingRow>& rows, int64_t now) {
    // Foreign keys are off on radflow's connections: the job's old rows go here.
    RADFLOW_RETURN_IF_ERROR(Run("DELETE FROM ai_findings WHERE job_fk = ?",
                                [&](Prepared*, Statement& st) { st.Bind(1, job_id); }));
    for (const auto& r : rows) {
      RADFLOW_RETURN_IF_ERROR(Run(
          "INSERT INTO ai_findings (job_fk, app_id, study_uid, series_uid, type_code,"
          " type_meaning, label, x, y, z, size_mm, volume_ml, score, severity, details_json,"
          " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          [&](Prepared* raw, Statement& st) {
            st.Bind(1, job_id).Bind(2, r.app_id).Bind(3, r.study_uid).Bind(4, r.series_uid);
            st.Bind(5, r.type_code).Bind(6, r.type_meaning).Bind(7, r.label);
            const double reals[] = {r.x, r.y, r.z, r.size_mm, r.volume_ml, r.score};
            for (int k = 0; k < 6; ++k) raw->BindDouble(8 + k, reals[k]);
            st.Bind(14, r.severity.empty() ? std::string("info") : r.severity);
            st.Bind(15, r.details_json.empty() ? std::string("{}") : r.details_json);
            st.Bind(16, r.created_at > 0 ? r.created_at : now);
          }));
    }
    return Status::Ok();
  }

  // Runs an UPDATE … RETURNING id and collects the ids (mu held).
  Status UpdateReturningIds(const std::string& sql, const std::function<void(Statement&)>& bind,
                            std::vector<int64_t>* ids) {
    auto p = db->Prepare(sql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    bind(st);
    Status s;
    while (st.Step(&s)) ids->push_back(st.Int(0));
    return s;
  }

  Result<std::vector<Job>> SelectJobs(const std::string& sql,
                                      const std::function<void(Statement&)>& bind) {
    auto p = db->Prepare(sql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    bind(st);
    std::vector<Job> out;
    Status s;
    while (st.Step(&s)) out.push_back(ReadJob(st));
    if (!s.ok()) return s;
    return out;
  }
};

JobStore::JobStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JobStore::~JobStore() = default;

void JobStore::SetChangeListener(std::function<void(int64_t job_id)> listener) {
  std::lock_guard<std::mutex> g(listener_mu_);
  listener_ = std::move(listener);
}

void JobStore::Changed(int64_t job_id) {
  std::function<void(int64_t)> listener;
  {
    std::lock_guard<std::mutex> g(listener_mu_);
    listener = listener_;
  }
  if (listener) listener(job_id);
}

Result<std::unique_ptr<JobStore>> JobStore::Open(const std::string& index_path) {
  std::error_code ec;
  if (!IsPostgresLocation(index_path) && !std::filesystem::exists(index_path, ec)) {
    return {ErrorCode::kNotFound, "no index database at " + index_path};
  }
  // SqliteDb::Open sets synchronous=FULL (a queued job must be on disk); PostgreSQL commits
  // durably by default.
  auto db = OpenDb(index_path);
  if (!db.ok()) return db.status();
  auto impl = std::make_unique<Impl>();
  impl->db = std::move(db.value());
  RADFLOW_RETURN_IF_ERROR(
      impl->db->RequireTables({"ai_jobs", "ai_findings", "ai_apps"}, RedactLocation(index_path), "AI"));
  return std::unique_ptr<JobStore>(new JobStore(std::move(impl)));
}

// The insert behind Enqueue and EnqueueUnlessActive; nullopt when `unless_active` found a
// queued or running job of the app on the series (checked in the same transaction).
Result<std::optional<int64_t>> JobStore::Insert(const Job& job, bool unless_active) {
  if (job.app_id.empty()) return {ErrorCode::kInvalidArgument, "job without app_id"};
  std::unique_lock<std::mutex> g(impl_->mu);
  std::optional<int64_t> id;
  Status s = impl_->Transaction([&]() -> Status {
    if (unless_active) {
      // Several nodes on one PostgreSQL database may route the same series at once (their
      // start-up catch-up): a lock on the (app, series) pair until this transaction ends
      // makes the second wait and then see the first one's job (READ COMMITTED: the next
      // statement's snapshot). SQLite's BEGIN IMMEDIATE already serializes the writers.
      if (impl_->db->backend() == Backend::kPostgres) {
        RADFLOW_RETURN_IF_ERROR(impl_->Run(
            // Class 29287 ("rg"): not leader.cpp's 29286, whose session locks are held for
            // hours; a hash that matched a duty's would wait that long.
            "SELECT pg_advisory_xact_lock(29287, hashtext(?))",
            [&](Prepared*, Statement& st) { st.Bind(1, job.app_id + "\n" + job.series_uid); }));
      }
      auto active = impl_->Active(job.app_id, job.series_uid);
      if (!active.ok()) return active.status();
      if (active.value()) return Status::Ok();
    }
    RADFLOW_RETURN_IF_ERROR(impl_->Run(
        "INSERT INTO ai_jobs (app_id, app_version, study_uid, series_uid, state, priority,"
        " max_attempts, not_before, created_at, trigger, results_json)"
        " VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, '[]')",
        [&](Prepared*, Statement& st) {
          st.Bind(1, job.app_id).Bind(2, job.app_version).Bind(3, job.study_uid);
          st.Bind(4, job.series_uid).Bind(5, int64_t{job.priority});
          st.Bind(6, int64_t{std::max(job.max_attempts, 1)}).Bind(7, job.not_before);
          st.Bind(8, job.created_at > 0 ? job.created_at : UnixMillis()).Bind(9, job.trigger);
        }));
    id = impl_->db->LastInsertId();
    return Status::Ok();
  });
  g.unlock();
  if (!s.ok()) return s;
  if (id) Changed(*id);
  return id;
}

Result<int64_t> JobStore::Enqueue(const Job& job) {
  auto id = Insert(job, false);
  if (!id.ok()) return id.status();
  return id->value();
}

Result<std::optional<int64_t>> JobStore::EnqueueUnlessActive(const Job& job) {
  return Insert(job, true);
}

Result<bool> JobStore::HasActive(const std::string& app_id, const std::string& series_uid) {
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->Active(app_id, series_uid);
}

Status JobStore::MarkRouted(const std::string& series_uid, int64_t now_ms) {
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->Transaction([&]() -> Status {
    return impl_->Run(
        "INSERT INTO ai_routed (series_uid, routed_at) VALUES (?, ?)"
        " ON CONFLICT (series_uid) DO UPDATE SET routed_at = excluded.routed_at",
        [&](Prepared*, Statement& st) { st.Bind(1, series_uid).Bind(2, now_ms); }, nullptr);
  });
}

Result<bool> JobStore::ClaimRouting(const std::string& series_uid, int64_t now_ms) {
  std::lock_guard<std::mutex> g(impl_->mu);
  // One SQLite node: SeriesToRoute listed it, nobody else routes; MarkRouted records the
  // routing once its jobs are queued, as before.
  if (impl_->db->backend() != Backend::kPostgres) return true;
  int changed = 0;
  Status s = impl_->Transaction([&]() -> Status {
    // One statement: of two nodes claiming at once, the second waits on the first one's
    // row and then finds it routed after the series' last instance.
    return impl_->Run(
        "INSERT INTO ai_routed (series_uid, routed_at) VALUES (?1, ?2)"
        " ON CONFLICT (series_uid) DO UPDATE SET routed_at = excluded.routed_at"
        " WHERE ai_routed.routed_at < COALESCE((SELECT updated_at FROM series"
        " WHERE series_uid = excluded.series_uid), 0)",
        [&](Prepared*, Statement& st) { st.Bind(1, series_uid).Bind(2, now_ms); }, &changed);
  });
  if (!s.ok()) return s;
  return changed > 0;
}

Result<std::vector<std::string>> JobStore::SeriesToRoute(int64_t since_ms) {
  std::lock_guard<std::mutex> g(impl_->mu);
  // The index's own table, read on this connection (same database file, WAL snapshot).
  auto p = impl_->db->Prepare(
      "SELECT s.series_uid FROM series s LEFT JOIN ai_routed r ON r.series_uid = s.series_uid"
      " WHERE s.updated_at >= ? AND (r.routed_at IS NULL OR r.routed_at < s.updated_at)"
      " ORDER BY s.updated_at");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, since_ms);
  std::vector<std::string> out;
  Status s;
  while (st.Step(&s)) out.push_back(st.Text(0));
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<Job>> JobStore::Runnable(int64_t now_ms, int limit) {
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->SelectJobs(
      std::string("SELECT ") + kJobColumns +
          " FROM ai_jobs WHERE state = 'queued' AND not_before <= ?"
          " ORDER BY priority DESC, id ASC LIMIT ?",
      [&](Statement& st) { st.Bind(1, now_ms).Bind(2, limit > 0 ? int64_t{limit} : kNoLimit); });
}

Result<bool> JobStore::MarkRunning(int64_t id, int64_t now_ms, const std::string& node_owner,
                                   int64_t lease_ms) {
  std::lock_guard<std::mutex> g(impl_->mu);
  int changed = 0;
  Status s = impl_->Transaction([&] {
    return impl_->Run(
        "UPDATE ai_jobs SET state = 'running', attempts = attempts + 1, started_at = ?,"
        " lease_owner = ?, lease_expires_at = ? WHERE id = ? AND state = 'queued'",
        [&](Prepared*, Statement& st) {
          st.Bind(1, now_ms).Bind(2, node_owner).Bind(3, node_owner.empty() ? int64_t{0} : now_ms + lease_ms);
          st.Bind(4, id);
        },
        &changed);
  });
  if (!s.ok()) return s;
  return changed > 0;
}

Status JobStore::RenewNodeLeases(const std::string& node_owner, int64_t now_ms, int64_t lease_ms) {
  if (node_owner.empty()) return Status::Ok();
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->Transaction([&] {
    return impl_->Run(
        "UPDATE ai_jobs SET lease_expires_at = ? WHERE state = 'running' AND lease_owner = ?",
        [&](Prepared*, Statement& st) { st.Bind(1, now_ms + lease_ms).Bind(2, node_owner); });
  });
}

Status JobStore::MarkSucceeded(int64_t id, int64_t now_ms, const std::string& summary,
                               const std::string& results_json, const std::string& node_owner) {
  Status done;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    done = impl_->Transaction([&]() -> Status {
      int changed = 0;
      RADFLOW_RETURN_IF_ERROR(impl_->Run(
          "UPDATE ai_jobs SET state = 'succeeded', finished_at = ?, summary = ?,"
          " results_json = ?, error = '' WHERE id = ? AND state = 'running' AND lease_owner = ?",
          [&](Prepared*, Statement& st) {
            st.Bind(1, now_ms).Bind(2, summary);
            st.Bind(3, results_json.empty() ? std::string("[]") : results_json).Bind(4, id);
            st.Bind(5, node_owner);
          },
          &changed));
      return changed > 0 ? Status::Ok() : impl_->NotRunningFor(id, node_owner);
    });
  }
  if (done.ok()) Changed(id);
  return done;
}

Status JobStore::MarkFailed(int64_t id, int64_t now_ms, const std::string& error,
                            std::optional<int64_t> retry_at, const std::string& node_owner) {
  Status done;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    done = impl_->Transaction([&]() -> Status {
      int changed = 0;
      if (retry_at) {
        RADFLOW_RETURN_IF_ERROR(impl_->Run(
            "UPDATE ai_jobs SET state = 'queued', not_before = ?, error = ?"
            " WHERE id = ? AND state = 'running' AND lease_owner = ? AND cancel_requested = 0",
            [&](Prepared*, Statement& st) {
              st.Bind(1, *retry_at).Bind(2, error).Bind(3, id).Bind(4, node_owner);
            },
            &changed));
        if (changed > 0) return Status::Ok();
      }
      // No retry, or a cancel was requested meanwhile: the job ends here.
      RADFLOW_RETURN_IF_ERROR(impl_->Run(
          "UPDATE ai_jobs SET state = CASE cancel_requested WHEN 1 THEN 'cancelled' ELSE 'failed'"
          " END, finished_at = ?, error = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
          [&](Prepared*, Statement& st) { st.Bind(1, now_ms).Bind(2, error).Bind(3, id).Bind(4, node_owner); },
          &changed));
      return changed > 0 ? Status::Ok() : impl_->NotRunningFor(id, node_owner);
    });
  }
  if (done.ok()) Changed(id);
  return done;
}

Result<bool> JobStore::RequestCancel(int64_t id, int64_t now_ms) {
  std::unique_lock<std::mutex> g(impl_->mu);
  bool accepted = false;
  Status s = impl_->Transaction([&]() -> Status {
    int changed = 0;
    RADFLOW_RETURN_IF_ERROR(impl_->Run(
        "UPDATE ai_jobs SET state = 'cancelled', finished_at = ?, error = 'cancelled'"
        " WHERE id = ? AND state = 'queued'",
        [&](Prepared*, Statement& st) { st.Bind(1, now_ms).Bind(2, id); }, &changed));
    if (changed == 0) {
      RADFLOW_RETURN_IF_ERROR(impl_->Run(
          "UPDATE ai_jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'",
          [&](Prepared*, Statement& st) { st.Bind(1, id); }, &changed));
    }
    accepted = changed > 0;
    if (accepted) return Status::Ok();
    auto state = impl_->StateOf(id);
    if (!state.ok()) return state.status();
    if (!state.value()) return {ErrorCode::kNotFound, "no job " + std::to_string(id)};
    return Status::Ok();  // already finished: nothing to cancel
  });
  g.unlock();
  if (!s.ok()) return s;
  if (accepted) Changed(id);
  return accepted;
}

Status JobStore::MarkCancelled(int64_t id, int64_t now_ms, const std::string& reason) {
  Status done;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    done = impl_->Transaction([&]() -> Status {
      int changed = 0;
      RADFLOW_RETURN_IF_ERROR(impl_->Run(
          "UPDATE ai_jobs SET state = 'cancelled', finished_at = ?, error = ?"
          " WHERE id = ? AND state IN ('queued', 'running')",
          [&](Prepared*, Statement& st) { st.Bind(1, now_ms).Bind(2, reason).Bind(3, id); },
          &changed));
      if (changed > 0) return Status::Ok();
      auto state = impl_->StateOf(id);
      if (state.ok() && state.value() == JobState::kCancelled) return Status::Ok();
      return impl_->NotInState(id, "queued or running");
    });
  }
  if (done.ok()) Changed(id);
  return done;
}

Result<int> JobStore::RequeueInterrupted(int64_t now_ms, const std::string& node_owner) {
  std::lock_guard<std::mutex> g(impl_->mu);
  int requeued = 0;
  Status s = impl_->Transaction([&]() -> Status {
    int cancelled = 0;
    RADFLOW_RETURN_IF_ERROR(impl_->Run(
        "UPDATE ai_jobs SET state = 'cancelled', finished_at = ?,"
        " error = 'cancelled (interrupted by a restart)'"
        " WHERE state = 'running' AND cancel_requested = 1 AND lease_owner = ?",
        [&](Prepared*, Statement& st) { st.Bind(1, now_ms).Bind(2, node_owner); }, &cancelled));
    // The attempt is not given back: attempts was counted by MarkRunning.
    return impl_->Run(
        "UPDATE ai_jobs SET state = 'queued', error = 'interrupted by a restart'"
        " WHERE state = 'running' AND lease_owner = ?",
        [&](Prepared*, Statement& st) { st.Bind(1, node_owner); }, &requeued);
  });
  if (!s.ok()) return s;
  return requeued;
}

Status JobStore::ReturnToQueue(int64_t id, const std::string& reason, const std::string& node_owner) {
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->Transaction([&]() -> Status {
    return impl_->Run(
        "UPDATE ai_jobs SET state = 'queued', attempts = " +
            SqlGreatest(impl_->db->backend(), "attempts - 1", "0") +
            ", lease_owner = '', lease_expires_at = 0"
            ", error = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
        [&](Prepared*, Statement& st) { st.Bind(1, reason).Bind(2, id).Bind(3, node_owner); }, nullptr);
  });
}

Result<std::optional<Job>> JobStore::Get(int64_t id) {
  std::lock_guard<std::mutex> g(impl_->mu);
  auto jobs = impl_->SelectJobs(std::string("SELECT ") + kJobColumns + " FROM ai_jobs WHERE id = ?",
                                [&](Statement& st) { st.Bind(1, id); });
  if (!jobs.ok()) return jobs.status();
  if (jobs->empty()) return std::optional<Job>();
  return std::optional<Job>(std::move(jobs->front()));
}

Result<std::vector<Job>> JobStore::List(const JobFilter& filter) {
  std::string sql = std::string("SELECT ") + kJobColumns + " FROM ai_jobs WHERE 1 = 1";
  if (filter.state) sql += " AND state = ?";
  if (!filter.app_id.empty()) sql += " AND app_id = ?";
  if (!filter.study_uid.empty()) sql += " AND study_uid = ?";
  if (!filter.series_uid.empty()) sql += " AND series_uid = ?";
  sql += " ORDER BY id DESC LIMIT ? OFFSET ?";
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->SelectJobs(sql, [&](Statement& st) {
    int i = 1;
    if (filter.state) st.Bind(i++, std::string(JobStateName(*filter.state)));
    if (!filter.app_id.empty()) st.Bind(i++, filter.app_id);
    if (!filter.study_uid.empty()) st.Bind(i++, filter.study_uid);
    if (!filter.series_uid.empty()) st.Bind(i++, filter.series_uid);
    st.Bind(i++, filter.limit > 0 ? int64_t{filter.limit} : kNoLimit);
    st.Bind(i, int64_t{std::max(filter.offset, 0)});
  });
}

Result<std::vector<std::pair<std::string, int64_t>>> JobStore::CountByState() {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const char* name : kStateNames) out.emplace_back(name, 0);
  std::lock_guard<std::mutex> g(impl_->mu);
  auto p = impl_->db->Prepare("SELECT state, COUNT(*) FROM ai_jobs GROUP BY state");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  Status s;
  while (st.Step(&s)) {
    if (auto state = ParseJobState(st.Text(0))) out[static_cast<int>(*state)].second = st.Int(1);
  }
  if (!s.ok()) return s;
  return out;
}

namespace {

Status CheckSeverities(const std::vector<FindingRow>& rows) {
  for (const auto& r : rows) {
    if (r.severity.empty()) continue;
    bool known = false;
    for (const char* sev : kSeverities) known = known || r.severity == sev;
    if (!known)
      return {ErrorCode::kInvalidArgument, "unknown finding severity '" + r.severity + "'"};
  }
  return Status::Ok();
}

}  // namespace

Status JobStore::ReplaceFindings(int64_t job_id, const std::vector<FindingRow>& rows) {
  RADFLOW_RETURN_IF_ERROR(CheckSeverities(rows));
  const int64_t now = UnixMillis();
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->Transaction([&]() -> Status {
    auto state = impl_->StateOf(job_id);
    if (!state.ok()) return state.status();
    if (!state.value()) return {ErrorCode::kNotFound, "no job " + std::to_string(job_id)};
    return impl_->WriteFindings(job_id, rows, now);
  });
}

Result<std::vector<FindingRow>> JobStore::Findings(const std::string& study_uid,
                                                   const std::string& series_uid) {
  if (study_uid.empty() && series_uid.empty()) {
    return {ErrorCode::kInvalidArgument, "findings need a study or series UID"};
  }
  std::string sql = std::string("SELECT ") + kFindingColumns + " FROM ai_findings WHERE 1 = 1";
  if (!study_uid.empty()) sql += " AND study_uid = ?";
  if (!series_uid.empty()) sql += " AND series_uid = ?";
  sql +=
      " ORDER BY CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'moderate' THEN 2"
      " WHEN 'low' THEN 1 ELSE 0 END DESC, score DESC, id ASC";
  std::lock_guard<std::mutex> g(impl_->mu);
  auto p = impl_->db->Prepare(sql);
  if (!p.ok()) return p.status();
  Statement st(p.value());
  int i = 1;
  if (!study_uid.empty()) st.Bind(i++, study_uid);
  if (!series_uid.empty()) st.Bind(i, series_uid);
  std::vector<FindingRow> out;
  Status s;
  while (st.Step(&s)) out.push_back(ReadFinding(p.value(), st));
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<bool>> JobStore::AppEnabled(const std::string& app_id) {
  std::lock_guard<std::mutex> g(impl_->mu);
  auto p = impl_->db->Prepare("SELECT enabled FROM ai_apps WHERE app_id = ?");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, app_id);
  Status s;
  std::optional<bool> out;
  if (st.Step(&s)) out = st.Int(0) != 0;
  if (!s.ok()) return s;
  return out;
}

Status JobStore::SetAppEnabled(const std::string& app_id, bool enabled) {
  if (app_id.empty()) return {ErrorCode::kInvalidArgument, "empty app_id"};
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->Transaction([&] {
    return impl_->Run(
        "INSERT INTO ai_apps (app_id, enabled) VALUES (?, ?)"
        " ON CONFLICT (app_id) DO UPDATE SET enabled = excluded.enabled",
        [&](Prepared*, Statement& st) { st.Bind(1, app_id).Bind(2, int64_t{enabled}); });
  });
}

// --- remote workers: leases (docs/remote-workers.md) ---

Result<std::vector<Job>> JobStore::Claim(const std::string& worker, const std::vector<std::string>& app_ids,
                                         int64_t now_ms, int64_t lease_ms, int limit) {
  if (worker.empty()) return {ErrorCode::kInvalidArgument, "a claim needs the worker's id"};
  std::vector<Job> claimed;
  if (app_ids.empty() || limit <= 0) return claimed;
  std::string in;
  for (size_t i = 0; i < app_ids.size(); ++i) in += i ? ", ?" : "?";
  // One statement: the subquery picks the rows and the UPDATE takes them. On PostgreSQL the
  // picked rows are locked and rows another transaction holds are skipped, so concurrent
  // claims take different jobs instead of waiting and then finding theirs gone; the outer
  // `state = 'queued'` re-check covers a row changed between the pick and the update.
  // SQLite runs the statement under its one write lock (BEGIN IMMEDIATE): the same effect.
  const bool pg = impl_->db->backend() == Backend::kPostgres;
  const std::string sql =
      std::string("UPDATE ai_jobs SET state = 'running', attempts = attempts + 1, started_at = ?,"
                  " lease_owner = ?, lease_expires_at = ?"
                  " WHERE state = 'queued' AND id IN (SELECT id FROM ai_jobs WHERE state = 'queued'"
                  " AND not_before <= ? AND app_id IN (") +
      in + ") ORDER BY priority DESC, id ASC LIMIT ?" + (pg ? " FOR UPDATE SKIP LOCKED" : "") +
      ") RETURNING " + kJobColumns;
  std::vector<int64_t> gave_up;
  std::unique_lock<std::mutex> g(impl_->mu);
  Status s = impl_->Transaction([&]() -> Status {
    claimed.clear();
    gave_up.clear();
    auto jobs = impl_->SelectJobs(sql, [&](Statement& st) {
      st.Bind(1, now_ms).Bind(2, worker).Bind(3, now_ms + lease_ms).Bind(4, now_ms);
      int i = 5;
      for (const auto& app : app_ids) st.Bind(i++, app);
      st.Bind(i, int64_t{limit});
    });
    if (!jobs.ok()) return jobs.status();
    for (Job& j : jobs.value()) {
      // As the hub's scheduler does: a job interrupted again and again (attempts counted
      // before this claim above max_attempts) is not run once more.
      if (j.attempts - 1 > j.max_attempts) {
        RADFLOW_RETURN_IF_ERROR(impl_->Run(
            "UPDATE ai_jobs SET state = 'failed', finished_at = ?, lease_expires_at = 0, error = ?"
            " WHERE id = ?",
            [&](Prepared*, Statement& st) {
              st.Bind(1, now_ms).Bind(2, "gave up after " + std::to_string(j.attempts - 1) +
                                             " interrupted attempts").Bind(3, j.id);
            }));
        gave_up.push_back(j.id);
        continue;
      }
      claimed.push_back(std::move(j));
    }
    return Status::Ok();
  });
  g.unlock();
  if (!s.ok()) return s;
  // RETURNING gives no order: the claim's own.
  std::sort(claimed.begin(), claimed.end(), [](const Job& a, const Job& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
  });
  for (int64_t id : gave_up) Changed(id);
  return claimed;
}

Result<Job> JobStore::RenewLease(int64_t id, const std::string& worker, int64_t now_ms, int64_t lease_ms) {
  std::lock_guard<std::mutex> g(impl_->mu);
  std::optional<Job> renewed;
  Status s = impl_->Transaction([&]() -> Status {
    auto jobs = impl_->SelectJobs(
        std::string("UPDATE ai_jobs SET lease_expires_at = ?") + kHeldBy + " RETURNING " + kJobColumns,
        [&](Statement& st) { st.Bind(1, now_ms + lease_ms).Bind(2, id).Bind(3, worker).Bind(4, now_ms); });
    if (!jobs.ok()) return jobs.status();
    if (jobs->empty()) return impl_->NotHeld(id, worker, now_ms);
    renewed = std::move(jobs->front());
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return *renewed;
}

Status JobStore::CompleteLeased(int64_t id, const std::string& worker, int64_t now_ms,
                                const std::string& summary, const std::string& results_json,
                                const std::vector<FindingRow>& findings) {
  RADFLOW_RETURN_IF_ERROR(CheckSeverities(findings));
  Status done;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    done = impl_->Transaction([&]() -> Status {
      int changed = 0;
      RADFLOW_RETURN_IF_ERROR(impl_->Run(
          std::string("UPDATE ai_jobs SET state = 'succeeded', finished_at = ?, summary = ?,"
                      " results_json = ?, error = '', lease_expires_at = 0") + kHeldBy,
          [&](Prepared*, Statement& st) {
            st.Bind(1, now_ms).Bind(2, summary);
            st.Bind(3, results_json.empty() ? std::string("[]") : results_json);
            st.Bind(4, id).Bind(5, worker).Bind(6, now_ms);
          },
          &changed));
      if (changed == 0) return impl_->NotHeld(id, worker, now_ms);
      return impl_->WriteFindings(id, findings, now_ms);
    });
  }
  if (done.ok()) Changed(id);
  return done;
}

Status JobStore::FailLeased(int64_t id, const std::string& worker, int64_t now_ms, const std::string& error,
                            std::optional<int64_t> retry_at) {
  Status done;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    done = impl_->Transaction([&]() -> Status {
      int changed = 0;
      if (retry_at) {
        RADFLOW_RETURN_IF_ERROR(impl_->Run(
            std::string("UPDATE ai_jobs SET state = 'queued', not_before = ?, error = ?,"
                        " lease_expires_at = 0") + kHeldBy + " AND cancel_requested = 0",
            [&](Prepared*, Statement& st) {
              st.Bind(1, *retry_at).Bind(2, error).Bind(3, id).Bind(4, worker).Bind(5, now_ms);
            },
            &changed));
        if (changed > 0) return Status::Ok();
      }
      RADFLOW_RETURN_IF_ERROR(impl_->Run(
          std::string("UPDATE ai_jobs SET state = CASE cancel_requested WHEN 1 THEN 'cancelled'"
                      " ELSE 'failed' END, finished_at = ?, error = ?, lease_expires_at = 0") + kHeldBy,
          [&](Prepared*, Statement& st) {
            st.Bind(1, now_ms).Bind(2, error).Bind(3, id).Bind(4, worker).Bind(5, now_ms);
          },
          &changed));
      return changed > 0 ? Status::Ok() : impl_->NotHeld(id, worker, now_ms);
    });
  }
  if (done.ok()) Changed(id);
  return done;
}

Status JobStore::ReleaseLeased(int64_t id, const std::string& worker, int64_t now_ms,
                               const std::string& reason) {
  Status done;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    done = impl_->Transaction([&]() -> Status {
      int changed = 0;
      RADFLOW_RETURN_IF_ERROR(impl_->Run(
          // The cast: PostgreSQL would type the parameter as the CASE's other branch, integer.
          std::string("UPDATE ai_jobs SET state = CASE cancel_requested WHEN 1 THEN 'cancelled'"
                      " ELSE 'queued' END, attempts = " +
                      SqlGreatest(impl_->db->backend(), "attempts - 1", "0") + ","
                      " finished_at = CASE cancel_requested WHEN 1 THEN CAST(? AS BIGINT) ELSE 0 END,"
                      " error = ?, lease_expires_at = 0") + kHeldBy,
          [&](Prepared*, Statement& st) {
            st.Bind(1, now_ms).Bind(2, reason).Bind(3, id).Bind(4, worker).Bind(5, now_ms);
          },
          &changed));
      return changed > 0 ? Status::Ok() : impl_->NotHeld(id, worker, now_ms);
    });
  }
  if (done.ok()) Changed(id);
  return done;
}

Result<std::vector<int64_t>> JobStore::ExpireLeases(int64_t now_ms) {
  std::vector<int64_t> ids;
  {
    std::lock_guard<std::mutex> g(impl_->mu);
    constexpr const char* kExpired =
        " WHERE state = 'running' AND lease_owner <> '' AND lease_expires_at < ?";
    Status s = impl_->Transaction([&]() -> Status {
      ids.clear();
      RADFLOW_RETURN_IF_ERROR(impl_->UpdateReturningIds(
          std::string("UPDATE ai_jobs SET state = 'cancelled', finished_at = ?, lease_expires_at = 0,"
                      " error = 'cancelled (the lease of worker ' || lease_owner || ' expired)'") +
              kExpired + " AND cancel_requested = 1 RETURNING id",
          [&](Statement& st) { st.Bind(1, now_ms).Bind(2, now_ms); }, &ids));
      // The attempt counted at the claim: one beyond max_attempts is allowed for an
      // interruption (the hub's scheduler does the same after a restart).
      RADFLOW_RETURN_IF_ERROR(impl_->UpdateReturningIds(
          std::string("UPDATE ai_jobs SET state = 'failed', finished_at = ?, lease_expires_at = 0,"
                      " error = 'lease expired (worker ' || lease_owner || '); gave up after ' ||"
                      " CAST(attempts AS TEXT) || ' attempts'") +
              kExpired + " AND attempts > max_attempts RETURNING id",
          [&](Statement& st) { st.Bind(1, now_ms).Bind(2, now_ms); }, &ids));
      return impl_->UpdateReturningIds(
          std::string("UPDATE ai_jobs SET state = 'queued', lease_expires_at = 0,"
                      " error = 'lease expired (worker ' || lease_owner || ')'") +
              kExpired + " RETURNING id",
          [&](Statement& st) { st.Bind(1, now_ms); }, &ids);
    });
    if (!s.ok()) return s;
  }
  for (int64_t id : ids) Changed(id);
  return ids;
}

}  // namespace radflow::storage
