#include "server/lesion_followup.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "ai/results/results.h"
#include "base/clock.h"
#include "base/log.h"
#include "imaging/series_volume.h"
#include "query/matching.h"
#include "registration/registration.h"
#include "workflow/lesion_tracking.h"
#include "workflow/priors.h"

namespace radflow::server {

namespace {

using nlohmann::ordered_json;

// "Lesion 7" → 7; 0 otherwise.
int LesionNumber(const std::string& tracking_id) {
  int n = 0;
  char rest = 0;
  return std::sscanf(tracking_id.c_str(), "Lesion %d%c", &n, &rest) == 1 ? n : 0;
}

ordered_json FindingJson(const storage::FindingRow& f) {
  return ordered_json{{"finding_id", f.id}, {"label", f.label}, {"center_lps_mm", {f.x, f.y, f.z}},
                      {"volume_ml", f.volume_ml}, {"size_mm", f.size_mm}};
}

std::string UnitMeaning(const std::string& ucum) {
  if (ucum == "ml") return "milliliter";
  if (ucum == "mm") return "millimeter";
  if (ucum == "[hnsf'U]") return "Hounsfield unit";
  if (ucum == "1") return "no units";
  return ucum;
}

// The finding as the app reported it (the index's row and its measurements).
ai::Finding ToFinding(const storage::FindingRow& r) {
  ai::Finding f;
  const auto caret = r.type_code.find('^');
  f.type.value = r.type_code.substr(0, caret);
  f.type.scheme = caret == std::string::npos ? "" : r.type_code.substr(caret + 1);
  f.type.meaning = r.type_meaning;
  f.label = r.label;
  f.center = {r.x, r.y, r.z};
  f.size_mm = r.size_mm;
  f.volume_ml = r.volume_ml;
  f.score = r.score;
  f.severity = r.severity;
  auto details = nlohmann::json::parse(r.details_json, nullptr, false);
  if (details.is_object() && details.contains("measurements") && details["measurements"].is_array()) {
    for (const auto& m : details["measurements"]) {
      if (!m.is_object() || !m.contains("value") || !m["value"].is_number()) continue;
      ai::Measurement x;
      x.name = {m.value("code", ""), m.value("scheme", ""), m.value("name", "")};
      x.value = m["value"].get<double>();
      const std::string unit = m.value("unit", "");
      x.unit = {unit, "UCUM", UnitMeaning(unit)};
      if (!x.name.empty() && !unit.empty()) f.measurements.push_back(x);
    }
  }
  return f;
}

struct LoadedSeries {
  std::vector<std::string> files;
  imaging::SeriesVolume series;
};

}  // namespace

LesionFollowUp::LesionFollowUp(Deps deps) : d_(deps) {}
LesionFollowUp::~LesionFollowUp() { Stop(); }

void LesionFollowUp::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  // Catch-up: a ct-lung-lesions job that succeeded while its follow-up could not run (the
  // server stopped between the two) is followed up now. The newest kCatchUpJobs are looked
  // at; one whose study has no prior with results is dropped again at once.
  storage::JobFilter filter;
  filter.app_id = kLesionApp;
  filter.state = storage::JobState::kSucceeded;
  filter.limit = kCatchUpJobs;
  auto recent = d_.jobs.List(filter);
  if (recent.ok()) {
    std::set<std::string> studies;  // a study's newest job is enough (a rerun is older too)
    for (const auto& job : recent.value()) {
      if (!studies.insert(job.study_uid).second) continue;
      auto done = d_.store.FollowUp(job.study_uid);
      if (done.ok() && !done->has_value()) queue_.push_back(job.id);
    }
  }
  worker_ = std::thread([this] { Work(); });
}

void LesionFollowUp::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard lock(mu_);
  started_ = false;
  idle_cv_.notify_all();
}

void LesionFollowUp::OnJobChanged(int64_t job_id) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    queue_.push_back(job_id);
  }
  cv_.notify_one();
}

void LesionFollowUp::Flush() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return (queue_.empty() && !busy_) || !started_; });
}

void LesionFollowUp::Work() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const int64_t id = queue_.front();
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    Handle(id);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

std::optional<storage::Job> LesionFollowUp::LatestSucceeded(const std::string& study_uid) {
  storage::JobFilter filter;
  filter.app_id = kLesionApp;
  filter.study_uid = study_uid;
  filter.state = storage::JobState::kSucceeded;
  filter.limit = 1;  // newest first
  auto list = d_.jobs.List(filter);
  if (!list.ok() || list->empty()) return std::nullopt;
  return list->front();
}

void LesionFollowUp::Handle(int64_t job_id) {
  auto job = d_.jobs.Get(job_id);
  if (!job.ok() || !job->has_value()) return;
  const storage::Job& j = **job;
  if (j.app_id != kLesionApp || j.state != storage::JobState::kSucceeded) return;
  FollowUp(j.study_uid);
  // A later study of the patient whose best prior is this one: its follow-up now can be
  // made (or made against this better prior).
  auto item = d_.worklist.store().Get(j.study_uid);
  if (!item.ok() || !item->has_value() || (*item)->patient_id.empty()) return;
  auto same = d_.worklist.store().SamePatient((*item)->patient_id, (*item)->issuer_of_patient_id);
  if (!same.ok()) return;
  for (const auto& w : same.value()) {
    if (w.study_uid == j.study_uid) continue;
    const double days = workflow::DaysBetween((*item)->study_date, w.study_date);
    if (days <= 0 || days > 1e8) continue;
    if (!LatestSucceeded(w.study_uid)) continue;
    auto priors = d_.worklist.Priors(w.study_uid);
    if (!priors.ok()) continue;
    for (const auto& p : priors.value()) {
      if (!LatestSucceeded(p.study.study_uid)) continue;
      if (p.study.study_uid == j.study_uid) FollowUp(w.study_uid);
      break;
    }
  }
}

bool LesionFollowUp::FollowUp(const std::string& study_uid) {
  auto cur_job = LatestSucceeded(study_uid);
  if (!cur_job) return false;
  auto priors = d_.worklist.Priors(study_uid);
  if (!priors.ok()) {
    log::Warn("lesion follow-up of " + study_uid + ": priors: " + priors.status().ToString());
    return false;
  }
  std::optional<storage::Job> prior_job;
  workflow::StudyFacts prior;
  for (const auto& p : priors.value()) {
    if (auto pj = LatestSucceeded(p.study.study_uid)) {
      prior_job = pj;
      prior = p.study;
      break;
    }
  }
  if (!prior_job) return false;
  auto cur_item = d_.worklist.store().Get(study_uid);
  const std::string cur_date = cur_item.ok() && cur_item->has_value() ? (*cur_item)->study_date : "";
  double interval_days = workflow::DaysBetween(prior.study_date, cur_date);
  if (interval_days < -1e8) interval_days = 0;  // a date unknown
  log::Info("lesion follow-up of " + study_uid + " against prior " + prior.study_uid + " (" +
            std::to_string(static_cast<int>(interval_days)) + " days)");

  storage::LesionFollowUpRow row;
  row.study_uid = study_uid;
  row.prior_study_uid = prior.study_uid;
  row.interval_days = interval_days;
  auto fail = [&](const std::string& error) {
    log::Warn("lesion follow-up of " + study_uid + " failed: " + error);
    row.state = "failed";
    row.error = error;
    Status s = d_.store.SaveFollowUp(row, {}, {});
    if (!s.ok()) log::Error("lesion follow-up of " + study_uid + ": " + s.ToString());
    d_.worklist.OnAiStudyChanged(study_uid);
    return true;
  };

  // 1. Both series and the registration current (fixed) → prior (moving).
  auto load = [&](const storage::Job& job) -> Result<LoadedSeries> {
    auto found = query::LocateSeries(d_.index, job.series_uid);
    if (!found.ok()) return found.status();
    LoadedSeries out;
    for (const auto& l : found.value()) {
      auto path = d_.blobs.LocalPath(l.blob_path);
      if (!path.ok()) return path.status();
      out.files.push_back(path.value());
    }
    auto series = imaging::LoadSeries(out.files);
    if (!series.ok()) return series.status();
    out.series = std::move(series.value());
    return out;
  };
  auto cur_series = load(*cur_job);
  if (!cur_series.ok()) return fail("loading the current series: " + cur_series.status().ToString());
  std::array<double, 16> matrix{};
  {
    auto prior_series = load(*prior_job);
    if (!prior_series.ok()) return fail("loading the prior series: " + prior_series.status().ToString());
    registration::Options options;
    options.threads = d_.threads;
    const auto t0 = std::chrono::steady_clock::now();
    auto reg = registration::Register(cur_series->series.volume, prior_series->series.volume, options);
    if (!reg.ok()) return fail("registration: " + reg.status().message());
    matrix = reg->matrix;
    row.metric = reg->metric;
    row.matrix_json = nlohmann::json(matrix).dump();
    log::Info("lesion follow-up of " + study_uid + ": registered in " +
              std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()) +
              " s (" + reg->stages + ")");
  }
  cur_series->series = {};  // only the files are needed from here on

  // 2. The findings of both jobs, the prior's identities, the matching.
  auto findings_of = [&](const storage::Job& job) -> Result<std::vector<storage::FindingRow>> {
    auto all = d_.jobs.Findings(job.study_uid, "");
    if (!all.ok()) return all.status();
    std::vector<storage::FindingRow> out;
    for (auto& f : all.value())
      if (f.app_id == kLesionApp && f.job_id == job.id) out.push_back(std::move(f));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  };
  auto cur_findings = findings_of(*cur_job);
  if (!cur_findings.ok()) return fail("findings: " + cur_findings.status().ToString());
  auto prior_findings = findings_of(*prior_job);
  if (!prior_findings.ok()) return fail("prior findings: " + prior_findings.status().ToString());

  auto known = d_.store.Identities(prior.study_uid);
  if (!known.ok()) return fail("identities: " + known.status().ToString());
  std::map<int64_t, storage::LesionIdentity> prior_ids;
  int last_number = 0;
  for (const auto& id : known.value()) {
    prior_ids[id.finding_id] = id;
    last_number = std::max(last_number, LesionNumber(id.tracking_id));
  }
  if (auto tracks = d_.store.Tracks(prior.study_uid); tracks.ok()) {  // its resolved lesions too
    for (const auto& t : tracks.value()) last_number = std::max(last_number, LesionNumber(t.tracking_id));
  }
  std::vector<storage::LesionIdentity> fresh_prior;
  std::vector<workflow::Lesion> prior_lesions, cur_lesions;
  std::map<std::string, const storage::FindingRow*> by_key;
  for (const auto& f : prior_findings.value()) {
    auto it = prior_ids.find(f.id);
    if (it == prior_ids.end()) {
      storage::LesionIdentity id{f.id, workflow::NewUuidUid(), "Lesion " + std::to_string(++last_number)};
      fresh_prior.push_back(id);
      it = prior_ids.emplace(f.id, id).first;
    }
    workflow::Lesion l;
    l.key = "p" + std::to_string(f.id);
    l.tracking_uid = it->second.tracking_uid;
    l.tracking_id = it->second.tracking_id;
    l.center = {f.x, f.y, f.z};
    l.volume_ml = f.volume_ml;
    l.diameter_mm = f.size_mm;
    l.label = f.label;
    by_key[l.key] = &f;
    prior_lesions.push_back(l);
  }
  for (const auto& f : cur_findings.value()) {
    workflow::Lesion l;
    l.key = "c" + std::to_string(f.id);
    l.center = {f.x, f.y, f.z};
    l.volume_ml = f.volume_ml;
    l.diameter_mm = f.size_mm;
    l.label = f.label;
    by_key[l.key] = &f;
    cur_lesions.push_back(l);
  }
  if (!fresh_prior.empty()) {
    Status s = d_.store.SaveIdentities(prior.study_uid, fresh_prior);
    if (!s.ok()) return fail("storing the prior's identities: " + s.ToString());
  }
  auto tracked = workflow::TrackLesions(cur_lesions, prior_lesions, matrix, interval_days);
  std::vector<storage::LesionTrackRow> tracks;
  std::vector<storage::LesionIdentity> cur_ids;
  for (auto& t : tracked) {
    if (t.status == workflow::TrackingStatus::kNew) t.tracking_id = "Lesion " + std::to_string(++last_number);
    storage::LesionTrackRow r;
    r.study_uid = study_uid;
    r.prior_study_uid = prior.study_uid;
    r.tracking_uid = t.tracking_uid;
    r.tracking_id = t.tracking_id;
    r.status = workflow::ToString(t.status);
    r.trend = workflow::ToString(t.trend);
    r.volume_change_pct = t.volume_change_pct;
    r.diameter_change_mm = t.diameter_change_mm;
    r.doubling_time_days = t.doubling_time_days;
    r.distance_mm = t.distance_mm;
    r.interval_days = interval_days;
    if (t.current) {
      const auto* f = by_key[t.current->key];
      r.finding_id = f->id;
      r.current_json = FindingJson(*f).dump();
      cur_ids.push_back({f->id, t.tracking_uid, t.tracking_id});
    }
    if (t.prior) {
      const auto* f = by_key[t.prior->key];
      r.prior_finding_id = f->id;
      r.prior_json = FindingJson(*f).dump();
    }
    tracks.push_back(std::move(r));
  }

  // 3. The follow-up's TID 1500 SR in the current study.
  ai::PriorComparison reference;
  reference.study_uid = prior.study_uid;
  reference.interval_days = interval_days;
  {
    auto results = nlohmann::json::parse(prior_job->results_json, nullptr, false);
    if (results.is_array()) {
      for (const auto& o : results) {
        if (o.is_object() && o.value("kind", "") == "sr") {
          reference.series_uid = o.value("series_uid", "");
          reference.sop_instance_uid = o.value("sop_uid", "");
          reference.sop_class_uid = o.value("sop_class_uid", "1.2.840.10008.5.1.4.1.1.88.34");
          break;
        }
      }
    }
  }
  std::vector<ai::Finding> report;
  for (const auto& t : tracked) {
    ai::Finding f = ToFinding(*by_key[t.current ? t.current->key : t.prior->key]);
    if (!t.current) {  // resolved: in the prior's frame of reference, not a current position
      f.center = {0, 0, 0};
      f.volume_ml = f.size_mm = 0;
      f.measurements.clear();
    }
    f.segment_number = 0;
    f.tracking_uid = t.tracking_uid;
    f.tracking_id = t.tracking_id;
    ai::PriorComparison c = reference;
    c.status = workflow::ToString(t.status);
    c.volume_change_pct = t.volume_change_pct;
    c.diameter_change_mm = t.diameter_change_mm;
    c.doubling_time_days = t.doubling_time_days;
    f.prior = c;
    report.push_back(std::move(f));
  }
  if (!report.empty()) {
    const ai::Algorithm algorithm{"lesion-tracking", "Lesion tracking (ct-lung-lesions follow-up)",
                                  cur_job->app_version.empty() ? "1" : cur_job->app_version, "radflow"};
    const std::string path = d_.ingest.NewTempPath();
    auto sr = ai::WriteMeasurementReport(report, ai::SourceSeries{cur_series->files}, algorithm, nullptr, path, 9500);
    if (!sr.ok()) {
      log::Warn("lesion follow-up of " + study_uid + ": writing the SR: " + sr.status().ToString());
      std::remove(path.c_str());
    } else {
      ingest::Origin origin;
      origin.kind = ingest::Origin::Kind::kApp;
      origin.detail = "lesion follow-up";
      origin.expected_study_instance_uid = study_uid;
      auto stored = d_.ingest.Store(sr->path, origin);
      if (!stored.ok()) {
        log::Warn("lesion follow-up of " + study_uid + ": storing the SR: " + stored.status().ToString());
      } else {
        (void)d_.jobs.MarkRouted(sr->series_instance_uid, UnixMillis());  // no app runs on it
        row.sr_series_uid = sr->series_instance_uid;
        row.sr_sop_uid = sr->sop_instance_uid;
      }
    }
  }

  // 4. Persisted, then announced.
  row.state = "ok";
  Status s = d_.store.SaveFollowUp(row, tracks, cur_ids);
  if (!s.ok()) {
    log::Error("lesion follow-up of " + study_uid + ": " + s.ToString());
    return true;
  }
  int n_tracked = 0, n_new = 0, n_resolved = 0;
  for (const auto& t : tracked) {
    n_tracked += t.status == workflow::TrackingStatus::kTracked;
    n_new += t.status == workflow::TrackingStatus::kNew;
    n_resolved += t.status == workflow::TrackingStatus::kResolved;
  }
  log::Info("lesion follow-up of " + study_uid + ": " + std::to_string(n_tracked) + " tracked, " +
            std::to_string(n_new) + " new, " + std::to_string(n_resolved) + " resolved");
  d_.worklist.OnAiStudyChanged(study_uid);
  return true;
}

http::Response LesionFollowUp::Lesions(const std::string& study_uid) {
  auto item = d_.worklist.store().Get(study_uid);
  if (!item.ok()) return http::Response::Error(item.status());
  if (!item->has_value()) return http::Response::Error(Status(ErrorCode::kNotFound, "no study " + study_uid));
  auto f = d_.store.FollowUp(study_uid);
  if (!f.ok()) return http::Response::Error(f.status());
  ordered_json out{{"study_uid", study_uid}};
  if (!f->has_value()) {
    out["prior_study_uid"] = nullptr;
    out["state"] = "none";
    out["error"] = "";
    out["interval_days"] = nullptr;
    out["lesions"] = ordered_json::array();
    return http::Response::Json(out.dump());
  }
  const auto& row = **f;
  out["prior_study_uid"] = row.prior_study_uid;
  out["state"] = row.state;
  out["error"] = row.error;
  out["interval_days"] = row.interval_days;
  auto matrix = ordered_json::parse(row.matrix_json.empty() ? "null" : row.matrix_json, nullptr, false);
  out["registration"] = {{"matrix", matrix.is_discarded() ? ordered_json() : matrix}, {"metric", row.metric}};
  out["sr"] = row.sr_sop_uid.empty() ? ordered_json()
                                     : ordered_json{{"series_uid", row.sr_series_uid}, {"sop_uid", row.sr_sop_uid}};
  auto tracks = d_.store.Tracks(study_uid);
  if (!tracks.ok()) return http::Response::Error(tracks.status());
  ordered_json list = ordered_json::array();
  for (const auto& t : tracks.value()) {
    auto parse = [](const std::string& s) {
      auto j = ordered_json::parse(s.empty() ? "null" : s, nullptr, false);
      return j.is_discarded() ? ordered_json() : j;
    };
    const bool tracked = t.status == "tracked";
    auto number = [&](double v) { return tracked ? ordered_json(v) : ordered_json(); };
    list.push_back({{"tracking_uid", t.tracking_uid},
                    {"tracking_id", t.tracking_id},
                    {"status", t.status},
                    {"trend", t.trend},
                    {"current", parse(t.current_json)},
                    {"prior", parse(t.prior_json)},
                    {"volume_change_pct", number(t.volume_change_pct)},
                    {"diameter_change_mm", number(t.diameter_change_mm)},
                    {"doubling_time_days", t.doubling_time_days ? ordered_json(*t.doubling_time_days) : ordered_json()},
                    {"distance_mm", number(t.distance_mm)}});
  }
  out["lesions"] = list;
  return http::Response::Json(out.dump());
}

}  // namespace radflow::server
