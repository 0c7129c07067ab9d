#include "research/research.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/clock.h"
#include "base/log.h"
#include "research/exporter.h"
#include "storage/ai_admin_store.h"
#include "storage/blob_store.h"
#include "storage/index.h"
#include "storage/index_location.h"
#include "storage/job_store.h"

namespace radflow::research {

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ',') {
      if (i > start) out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> ParseFormats(const std::vector<std::string>& formats) {
  static const std::vector<std::string> kKnown{"dicom", "nifti", "csv"};
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& f : formats) {
    if (std::find(kKnown.begin(), kKnown.end(), f) == kKnown.end()) {
      return Status(ErrorCode::kInvalidArgument, "formats: unknown format '" + f + "' (dicom, nifti, csv)");
    }
    if (seen.insert(f).second) out.push_back(f);
  }
  if (out.empty()) return Status(ErrorCode::kInvalidArgument, "formats: at least one of dicom, nifti, csv");
  return out;
}

struct ResearchService::Impl {
  storage::Index& index;
  storage::BlobStore& blobs;
  ResearchConfig config;
  std::string secret;
  std::unique_ptr<storage::ResearchStore> store;
  std::unique_ptr<storage::JobStore> jobs;
  std::unique_ptr<storage::AiAdminStore> features;

  std::mutex mu;
  std::condition_variable cv;
  bool wake = false, stopping = false;
  std::atomic<bool> cancel{false};
  std::thread thread;
  std::map<int64_t, Requester> requesters;  // queued exports: who asked (audit)

  Impl(storage::Index& i, storage::BlobStore& b, ResearchConfig c) : index(i), blobs(b), config(std::move(c)) {}

  SelectionSources Sources() {
    SelectionSources s;
    s.index = &index;
    s.blobs = &blobs;
    s.jobs = jobs.get();
    s.features = features.get();
    return s;
  }

  Result<ExportPlan> Plan(const std::string& cohort, int version, const deid::DeidOptions& options,
                          const std::vector<std::string>& formats) {
    auto row = store->Cohort(cohort, version);
    if (!row.ok()) return row.status();
    if (!row->has_value()) {
      return Status(ErrorCode::kNotFound, "no cohort '" + cohort + "'" +
                                              (version > 0 ? " version " + std::to_string(version) : ""));
    }
    auto f = ParseFormats(formats);
    if (!f.ok()) return f.status();
    ExportPlan plan;
    plan.cohort = **row;
    auto studies = store->CohortStudies(plan.cohort.id);
    if (!studies.ok()) return studies.status();
    plan.studies = std::move(studies.value());
    plan.options = options;
    plan.options.secret = secret;
    plan.formats.insert(f->begin(), f->end());
    return plan;
  }

  void Audit(const Requester& who, const storage::CohortRow& cohort, const std::string& what, const Status& s) {
    if (!config.audit) return;
    audit::AuditEvent e;
    e.event = "export";
    e.success = s.ok();
    if (!s.ok()) e.failure_reason = s.message();
    e.user = who.user;
    e.role = who.role;
    e.source = who.source;
    e.interface = who.interface;
    e.detail = "research export " + what + " of cohort '" + cohort.name + "' version " +
               std::to_string(cohort.version) + " (" + std::to_string(cohort.counts.studies) + " studies, " +
               std::to_string(cohort.counts.patients) + " patients)";
    config.audit(e);
  }

  ExportSources ExportSrc() { return {&index, &blobs, jobs.get(), features.get()}; }

  // False when the export could not be started (the loop then waits before trying again).
  bool RunOne(const storage::ExportRow& row) {
    if (Status m = store->MarkRunning(row.id, UnixMillis()); !m.ok()) {
      log::Error("research: export " + std::to_string(row.id) + ": " + m.ToString());
      return false;
    }
    Requester who;
    {
      std::lock_guard lock(mu);
      auto it = requesters.find(row.id);
      if (it != requesters.end()) who = it->second, requesters.erase(it);
    }
    if (who.user.empty()) who.user = row.created_by;
    Status s;
    std::string manifest;
    storage::CohortRow cohort;
    cohort.name = row.cohort_name;
    cohort.version = row.cohort_version;
    auto options = deid::ParseDeidOptions(row.options);
    if (!options.ok()) {
      s = options.status();
    } else {
      auto plan = Plan(row.cohort_name, row.cohort_version, options.value(), SplitComma(row.formats));
      if (!plan.ok()) {
        s = plan.status();
      } else {
        cohort = plan->cohort;
        auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
        auto written = WriteExport(
            plan.value(), ExportSrc(),
            row.out_dir.empty() ? config.data_dir + "/exports/" + std::to_string(row.id) : row.out_dir,
            [&](int64_t done, int64_t total) {
              // At most 5 progress writes a second, and always the last.
              const auto now = std::chrono::steady_clock::now();
              if (done == total || now - last >= std::chrono::milliseconds(200)) {
                last = now;
                (void)store->SetProgress(row.id, done, total);
              }
            },
            [&] { return cancel.load(); });
        if (written.ok()) manifest = written.value(); else s = written.status();
      }
    }
    Status f = store->Finish(row.id, s.ok(), s.ok() ? "" : s.message(), manifest, UnixMillis());
    if (!f.ok()) log::Error("research: export " + std::to_string(row.id) + ": " + f.ToString());
    if (!s.ok()) log::Warn("research: export " + std::to_string(row.id) + " failed: " + s.ToString());
    Audit(who, cohort, std::to_string(row.id), s);
    return true;
  }

  void Loop() {
    for (;;) {
      {
        std::unique_lock lock(mu);
        if (stopping) return;
      }
      auto next = store->NextQueued();
      if (next.ok() && next->has_value() && RunOne(**next)) continue;
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(5), [&] { return wake || stopping; });
      wake = false;
    }
  }
};

ResearchService::ResearchService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResearchService::~ResearchService() { Stop(); }

Result<std::unique_ptr<ResearchService>> ResearchService::Open(storage::Index& index, storage::BlobStore& blobs,
                                                               ResearchConfig config) {
  const std::string db = storage::IndexLocation(config.data_dir, config.index);
  auto impl = std::make_unique<Impl>(index, blobs, config);
  auto store = storage::ResearchStore::Open(db);
  if (!store.ok()) return store.status();
  impl->store = std::move(store.value());
  auto jobs = storage::JobStore::Open(db);
  if (!jobs.ok()) return jobs.status();
  impl->jobs = std::move(jobs.value());
  auto features = storage::AiAdminStore::Open(db);
  if (!features.ok()) return features.status();
  impl->features = std::move(features.value());
  auto secret = deid::LoadOrCreateSiteSecret(config.data_dir);
  if (!secret.ok()) return secret.status();
  impl->secret = std::move(secret.value());
  auto failed = impl->store->FailInterrupted(UnixMillis());
  if (!failed.ok()) return failed.status();
  if (failed.value() > 0) {
    log::Warn("research: " + std::to_string(failed.value()) + " export(s) interrupted by a restart marked failed");
  }
  return std::unique_ptr<ResearchService>(new ResearchService(std::move(impl)));
}

void ResearchService::Start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->thread.joinable() || impl_->stopping) return;
  impl_->thread = std::thread([this] { impl_->Loop(); });
}

void ResearchService::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    impl_->cancel = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<Counts> ResearchService::Preview(const Criteria& criteria) {
  auto set = Select(criteria, impl_->Sources());
  if (!set.ok()) return set.status();
  return set->counts;
}

Result<storage::CohortRow> ResearchService::CreateCohort(const std::string& name, const std::string& description,
                                                         const Criteria& criteria, const std::string& created_by) {
  if (name.empty()) return Status(ErrorCode::kInvalidArgument, "name: a cohort needs a name");
  if (name.size() > 128 || name.find_first_of("/\\?#\r\n\t") != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument, "name: at most 128 characters, without / \\ ? # or control characters");
  }
  auto set = Select(criteria, impl_->Sources());
  if (!set.ok()) return set.status();
  storage::CohortRow row;
  row.name = name;
  row.description = description;
  row.criteria_json = CriteriaJson(criteria);
  row.created_by = created_by;
  row.counts = set->counts;
  std::vector<storage::CohortStudyRow> studies;
  for (const auto& s : set->studies) studies.push_back({s.study_uid, s.series_uids, s.finding_ids});
  return impl_->store->CreateCohort(row, studies);
}

Result<std::vector<storage::CohortRow>> ResearchService::Cohorts() { return impl_->store->LatestCohorts(); }

Result<std::optional<ResearchService::CohortDetail>> ResearchService::Cohort(const std::string& name, int version) {
  auto row = impl_->store->Cohort(name, version);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return std::optional<CohortDetail>();
  auto versions = impl_->store->CohortVersions(name);
  if (!versions.ok()) return versions.status();
  return std::optional<CohortDetail>(CohortDetail{**row, std::move(versions.value())});
}

Result<storage::ExportRow> ResearchService::QueueExport(const ExportRequest& request, const Requester& who) {
  auto plan = impl_->Plan(request.cohort, request.version, request.options, request.formats);
  if (!plan.ok()) return plan.status();
  storage::ExportRow row;
  row.cohort_name = plan->cohort.name;
  row.cohort_version = plan->cohort.version;
  row.options = deid::FormatDeidOptions(request.options);
  row.formats = Join(std::vector<std::string>(plan->formats.begin(), plan->formats.end()));
  row.created_by = who.user;
  // The folder is DATA/exports/<id> (out_dir stays empty in the row).
  std::lock_guard lock(impl_->mu);  // the requester is known before the worker runs it
  auto id = impl_->store->InsertExport(row);
  if (!id.ok()) return id.status();
  row.id = id.value();
  auto stored = impl_->store->Export(row.id);
  if (!stored.ok()) return stored.status();
  impl_->requesters[row.id] = who;
  impl_->wake = true;
  impl_->cv.notify_all();
  return **stored;
}

Result<std::vector<storage::ExportRow>> ResearchService::Exports() { return impl_->store->Exports(100); }

Result<std::optional<storage::ExportRow>> ResearchService::Export(int64_t id) { return impl_->store->Export(id); }

std::string ResearchService::ExportFolder(int64_t id) const {
  return impl_->config.data_dir + "/exports/" + std::to_string(id);
}

Result<std::string> ResearchService::ExportNow(const ExportRequest& request, const std::string& out_dir,
                                               const Requester& who, const ProgressFn& progress) {
  auto plan = impl_->Plan(request.cohort, request.version, request.options, request.formats);
  if (!plan.ok()) return plan.status();
  auto written = WriteExport(plan.value(), impl_->ExportSrc(), out_dir, progress, [] { return false; });
  impl_->Audit(who, plan->cohort, "to a folder", written.status());
  return written;
}

}  // namespace radflow::research
