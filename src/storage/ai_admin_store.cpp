#include "storage/ai_admin_store.h"

#include "base/civil_date.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <tuple>

#include "base/clock.h"
#include "storage/db.h"
#include "storage/sql_dialect.h"

namespace radflow::storage {

namespace {

constexpr int64_t kDayMs = 86400000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::optional<double> Ratio(int64_t num, int64_t den) {
  if (den <= 0) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den);
}

// Linear interpolation between the closest ranks (the "linear" method of NumPy's percentile).
std::optional<double> Percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

std::string JoinValues(const std::vector<double>& values) {
  std::string out;
  char buf[32];
  for (size_t i = 0; i < values.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.17g", values[i]);
    if (i) out += ',';
    out += buf;
  }
  return out;
}

std::vector<double> SplitValues(const std::string& text) {
  std::vector<double> out;
  const char* p = text.c_str();
  while (*p) {
    char* end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p) break;
    out.push_back(v);
    p = *end == ',' ? end + 1 : end;
  }
  return out;
}

constexpr const char* kLesionSelect =
    "SELECT f.id, f.job_fk, f.app_id, f.study_uid, f.series_uid, f.type_code, f.type_meaning,"
    " f.label, f.x, f.y, f.z, f.size_mm, f.volume_ml, f.score, f.severity, f.details_json,"
    " f.created_at, COALESCE(j.app_version, ''), COALESCE(p.patient_id, ''),"
    " COALESCE(s.study_date, '')"
    " FROM ai_findings f LEFT JOIN ai_jobs j ON j.id = f.job_fk"
    " LEFT JOIN studies s ON s.study_uid = f.study_uid"
    " LEFT JOIN patients p ON p.id = s.patient_fk";

LesionFinding ReadLesion(Prepared* raw, const Statement& st) {
  LesionFinding l;
  FindingRow& f = l.finding;
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
  l.app_version = st.Text(17);
  l.patient_id = st.Text(18);
  l.study_date = st.Text(19);
  return l;
}

}  // namespace

// ---- ISO weeks and the aggregation (pure) ----

IsoWeek IsoWeekOf(int64_t unix_ms) {
  const int64_t day = FloorDiv(unix_ms, kDayMs);
  const int64_t weekday = ((day + 3) % 7 + 7) % 7;  // 0 = Monday (1970-01-01 was a Thursday)
  const int64_t monday = day - weekday;
  const int64_t thursday = monday + 3;               // ISO 8601: the week's year is its Thursday's
  const int64_t y = CivilFromDays(thursday).year;
  const int64_t week = (thursday - DaysFromCivil(y, 1, 1)) / 7 + 1;
  IsoWeek out;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-W%02lld", static_cast<long long>(y), static_cast<long long>(week));
  out.week = buf;
  const CivilDate start = CivilFromDays(monday);
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(start.year), start.month, start.day);
  out.start = buf;
  out.start_ms = monday * kDayMs;
  return out;
}

std::optional<double> PerformanceCounts::Agreement() const { return Ratio(signed_agreed, signed_decided); }
std::optional<double> AppPerformance::AcceptedRate() const { return Ratio(totals.accepted, totals.decided); }
std::optional<double> AppPerformance::EditedRate() const { return Ratio(totals.edited, totals.decided); }
std::optional<double> AppPerformance::RejectedRate() const { return Ratio(totals.rejected, totals.decided); }

std::vector<AppPerformance> AggregatePerformance(const std::vector<PerformanceFact>& facts, int weeks,
                                                 int64_t now_ms) {
  weeks = std::max(1, weeks);
  const IsoWeek current = IsoWeekOf(now_ms);
  const int64_t first_ms = current.start_ms - static_cast<int64_t>(weeks - 1) * 7 * kDayMs;
  const int64_t end_ms = current.start_ms + 7 * kDayMs;
  std::map<std::pair<std::string, std::string>, AppPerformance> by_app;
  for (const auto& f : facts) {
    if (f.at < first_ms || f.at >= end_ms) continue;
    auto [it, inserted] = by_app.try_emplace({f.app_id, f.app_version});
    AppPerformance& app = it->second;
    if (inserted) {
      app.app_id = f.app_id;
      app.app_version = f.app_version;
      for (int w = 0; w < weeks; ++w) {
        app.weeks.push_back({IsoWeekOf(first_ms + static_cast<int64_t>(w) * 7 * kDayMs), {}});
      }
    }
    const size_t w = static_cast<size_t>((f.at - first_ms) / (7 * kDayMs));
    for (PerformanceCounts* c : {&app.totals, &app.weeks[w].counts}) {
      if (!f.is_finding) {
        ++c->results;
        continue;
      }
      ++c->findings;
      if (f.decision.empty()) continue;
      ++c->decided;
      const bool agreed = f.decision == "accepted" || f.decision == "edited";
      if (f.decision == "accepted") ++c->accepted;
      if (f.decision == "edited") ++c->edited;
      if (f.decision == "rejected") ++c->rejected;
      if (f.study_signed) {
        ++c->signed_decided;
        if (agreed) ++c->signed_agreed;
      }
    }
  }
  std::vector<AppPerformance> out;
  for (auto& [key, app] : by_app) out.push_back(std::move(app));
  return out;
}

// ---- the store ----

class AiAdminStore::Impl {
 public:
  std::mutex write_mu, read_mu;  // one thread at a time on each connection
  std::unique_ptr<Db> writer, reader;

  Status Audit(const std::string& app_id, const std::string& action, const std::string& actor,
               const std::string& version, const std::string& note) {
    auto p = writer->Prepare(
        "INSERT INTO ai_app_audit (app_id, at, actor, action, version, note) VALUES (?, ?, ?, ?, ?, ?)");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, app_id).Bind(2, UnixMillis()).Bind(3, actor).Bind(4, action).Bind(5, version).Bind(6, note);
    Status s;
    st.Step(&s);
    return s;
  }

  Status Run(const std::string& sql, const std::function<void(Statement&)>& bind) {
    auto p = writer->Prepare(sql);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    bind(st);
    Status s;
    st.Step(&s);
    return s;
  }
};

AiAdminStore::AiAdminStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AiAdminStore::~AiAdminStore() = default;

Result<std::unique_ptr<AiAdminStore>> AiAdminStore::Open(const std::string& index_path) {
  auto conns = OpenStoreConnections(index_path,
                                    {"ai_jobs", "ai_findings", "ai_apps", "ai_app_pins", "ai_app_audit",
                                     "finding_decisions", "reports", "similar_features"},
                                    "app library");
  if (!conns.ok()) return conns.status();
  auto impl = std::make_unique<Impl>();
  impl->writer = std::move(conns->writer);
  impl->reader = std::move(conns->reader);
  return std::unique_ptr<AiAdminStore>(new AiAdminStore(std::move(impl)));
}

Result<std::map<std::string, std::string>> AiAdminStore::Pins() {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare("SELECT app_id, version FROM ai_app_pins");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  std::map<std::string, std::string> out;
  Status s;
  while (st.Step(&s)) out[st.Text(0)] = st.Text(1);
  if (!s.ok()) return s;
  return out;
}

Status AiAdminStore::SetEnabled(const std::string& app_id, bool enabled, const std::string& actor,
                                const std::string& version, const std::string& note) {
  if (app_id.empty()) return {ErrorCode::kInvalidArgument, "app_id: required"};
  std::lock_guard lock(impl_->write_mu);
  return impl_->writer->Transaction([&]() -> Status {
    RADFLOW_RETURN_IF_ERROR(impl_->Run(
        "INSERT INTO ai_apps (app_id, enabled) VALUES (?, ?)"
        " ON CONFLICT(app_id) DO UPDATE SET enabled = excluded.enabled",
        [&](Statement& st) { st.Bind(1, app_id).Bind(2, int64_t{enabled ? 1 : 0}); }));
    return impl_->Audit(app_id, enabled ? "enabled" : "disabled", actor, version, note);
  });
}

Status AiAdminStore::SetPin(const std::string& app_id, const std::string& version, const std::string& actor,
                            const std::string& note) {
  if (app_id.empty()) return {ErrorCode::kInvalidArgument, "app_id: required"};
  if (version.empty()) return {ErrorCode::kInvalidArgument, "version: required"};
  std::lock_guard lock(impl_->write_mu);
  return impl_->writer->Transaction([&]() -> Status {
    RADFLOW_RETURN_IF_ERROR(impl_->Run(
        "INSERT INTO ai_app_pins (app_id, version) VALUES (?, ?)"
        " ON CONFLICT(app_id) DO UPDATE SET version = excluded.version",
        [&](Statement& st) { st.Bind(1, app_id).Bind(2, version); }));
    return impl_->Audit(app_id, "pinned", actor, version, note);
  });
}

Status AiAdminStore::ClearPin(const std::string& app_id, const std::string& actor, const std::string& note) {
  if (app_id.empty()) return {ErrorCode::kInvalidArgument, "app_id: required"};
  std::lock_guard lock(impl_->write_mu);
  return impl_->writer->Transaction([&]() -> Status {
    std::string was;
    {
      auto p = impl_->writer->Prepare("SELECT version FROM ai_app_pins WHERE app_id = ?");
      if (!p.ok()) return p.status();
      Statement st(p.value());
      st.Bind(1, app_id);
      Status s;
      if (st.Step(&s)) was = st.Text(0);
      RADFLOW_RETURN_IF_ERROR(s);
    }
    RADFLOW_RETURN_IF_ERROR(impl_->Run("DELETE FROM ai_app_pins WHERE app_id = ?",
                                       [&](Statement& st) { st.Bind(1, app_id); }));
    return impl_->Audit(app_id, "unpinned", actor, was, was.empty() && note.empty() ? "was not pinned" : note);
  });
}

Result<std::vector<AppAuditRow>> AiAdminStore::Audit(const std::string& app_id, int limit) {
  std::string sql = "SELECT id, app_id, at, actor, action, version, note FROM ai_app_audit";
  if (!app_id.empty()) sql += " WHERE app_id = ?";
  sql += " ORDER BY id DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(sql);
  if (!p.ok()) return p.status();
  Statement st(p.value());
  if (!app_id.empty()) st.Bind(1, app_id);
  std::vector<AppAuditRow> out;
  Status s;
  while (st.Step(&s)) {
    out.push_back({st.Int(0), st.Text(1), st.Int(2), st.Text(3), st.Text(4), st.Text(5), st.Text(6)});
  }
  if (!s.ok()) return s;
  return out;
}

Result<JobTimings> AiAdminStore::Timings(const std::string& app_id) {
  JobTimings t;
  std::lock_guard lock(impl_->read_mu);
  {
    std::map<std::string, int64_t> counts;
    auto p = impl_->reader->Prepare("SELECT state, COUNT(*) FROM ai_jobs WHERE app_id = ? GROUP BY state");
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, app_id);
    Status s;
    while (st.Step(&s)) counts[st.Text(0)] = st.Int(1);
    if (!s.ok()) return s;
    for (const char* state : {"queued", "running", "succeeded", "failed", "cancelled"}) {
      t.by_state.emplace_back(state, counts[state]);
    }
  }
  auto p = impl_->reader->Prepare(
      "SELECT " + SqlJsonNumber(impl_->reader->backend(), "results_json", "timings.app_ms") +
      ", started_at, finished_at FROM ai_jobs"
      " WHERE app_id = ? AND state = 'succeeded' ORDER BY id DESC LIMIT 1000");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, app_id);
  std::vector<double> app_ms, total_ms;
  Status s;
  while (st.Step(&s)) {
    ++t.timed;
    if (!p.value()->IsNull(0)) app_ms.push_back(p.value()->Double(0));
    if (st.Int(1) > 0 && st.Int(2) >= st.Int(1)) total_ms.push_back(static_cast<double>(st.Int(2) - st.Int(1)));
  }
  if (!s.ok()) return s;
  t.median_app_ms = Percentile(app_ms, 0.5);
  t.p95_app_ms = Percentile(app_ms, 0.95);
  t.median_total_ms = Percentile(total_ms, 0.5);
  t.p95_total_ms = Percentile(total_ms, 0.95);
  return t;
}

Result<std::vector<PerformanceFact>> AiAdminStore::PerformanceFacts(const std::string& app_id, int64_t since_ms) {
  std::vector<PerformanceFact> out;
  std::lock_guard lock(impl_->read_mu);
  const std::string app_filter = app_id.empty() ? "" : " AND j.app_id = ?";
  {
    auto p = impl_->reader->Prepare(
        "SELECT j.app_id, j.app_version, j.finished_at FROM ai_jobs j"
        " WHERE j.state = 'succeeded' AND j.finished_at >= ?" + app_filter);
    if (!p.ok()) return p.status();
    Statement st(p.value());
    st.Bind(1, since_ms);
    if (!app_id.empty()) st.Bind(2, app_id);
    Status s;
    while (st.Step(&s)) {
      PerformanceFact f;
      f.app_id = st.Text(0);
      f.app_version = st.Text(1);
      f.at = st.Int(2);
      out.push_back(std::move(f));
    }
    if (!s.ok()) return s;
  }
  // Each finding's current decision is its newest row (007_reports.sql); a study counts as
  // reported when it has a signed (preliminary or final) report row.
  auto p = impl_->reader->Prepare(
      "SELECT j.app_id, j.app_version, j.finished_at,"
      " COALESCE((SELECT d.decision FROM finding_decisions d WHERE d.finding_id = f.id"
      "           ORDER BY d.id DESC LIMIT 1), ''),"
      " CASE WHEN EXISTS (SELECT 1 FROM reports r WHERE r.study_uid = f.study_uid AND f.study_uid != ''"
      "         AND r.status IN ('preliminary', 'final')) THEN 1 ELSE 0 END"
      " FROM ai_findings f JOIN ai_jobs j ON j.id = f.job_fk"
      " WHERE j.state = 'succeeded' AND j.finished_at >= ?" + app_filter);
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, since_ms);
  if (!app_id.empty()) st.Bind(2, app_id);
  Status s;
  while (st.Step(&s)) {
    PerformanceFact f;
    f.is_finding = true;
    f.app_id = st.Text(0);
    f.app_version = st.Text(1);
    f.at = st.Int(2);
    f.decision = st.Text(3);
    f.study_signed = st.Int(4) != 0;
    out.push_back(std::move(f));
  }
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<AppPerformance>> AiAdminStore::Performance(const std::string& app_id, int weeks,
                                                              int64_t now_ms) {
  if (weeks < 1 || weeks > 520) return {ErrorCode::kInvalidArgument, "weeks: 1..520"};
  const int64_t since = IsoWeekOf(now_ms).start_ms - static_cast<int64_t>(weeks - 1) * 7 * kDayMs;
  auto facts = PerformanceFacts(app_id, since);
  if (!facts.ok()) return facts.status();
  return AggregatePerformance(facts.value(), weeks, now_ms);
}

Result<std::vector<LesionFinding>> AiAdminStore::FindingsAfter(int64_t after_id, int limit) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(std::string(kLesionSelect) + " WHERE f.id > ? ORDER BY f.id LIMIT ?");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, after_id).Bind(2, static_cast<int64_t>(limit > 0 ? limit : 1000000));
  std::vector<LesionFinding> out;
  Status s;
  while (st.Step(&s)) out.push_back(ReadLesion(p.value(), st));
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<LesionFinding>> AiAdminStore::Finding(int64_t id) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(std::string(kLesionSelect) + " WHERE f.id = ?");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, id);
  Status s;
  std::optional<LesionFinding> out;
  if (st.Step(&s)) out = ReadLesion(p.value(), st);
  if (!s.ok()) return s;
  return out;
}

Result<int64_t> AiAdminStore::CountFindingsUpTo(int64_t max_id) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare("SELECT COUNT(*) FROM ai_findings WHERE id <= ?");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, max_id);
  Status s;
  int64_t n = 0;
  if (st.Step(&s)) n = st.Int(0);
  if (!s.ok()) return s;
  return n;
}

Status AiAdminStore::SaveFeatures(const FeatureRow& row) {
  if (row.source != "ibsi" && row.source != "measurements") {
    return {ErrorCode::kInvalidArgument, "source must be ibsi or measurements, not '" + row.source + "'"};
  }
  std::lock_guard lock(impl_->write_mu);
  return impl_->writer->Transaction([&]() -> Status {
    return impl_->Run(
        "INSERT INTO similar_features (finding_id, feature_set, source, values_text, error,"
        " computed_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (finding_id) DO UPDATE SET"
        " feature_set = excluded.feature_set, source = excluded.source,"
        " values_text = excluded.values_text, error = excluded.error, computed_at = excluded.computed_at",
        [&](Statement& st) {
          st.Bind(1, row.finding_id).Bind(2, row.feature_set).Bind(3, row.source);
          st.Bind(4, JoinValues(row.values)).Bind(5, row.error);
          st.Bind(6, row.computed_at > 0 ? row.computed_at : UnixMillis());
        });
  });
}

Result<std::vector<FeatureRow>> AiAdminStore::Features(const std::vector<int64_t>& finding_ids,
                                                       const std::string& feature_set) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(
      "SELECT finding_id, feature_set, source, values_text, error, computed_at FROM similar_features"
      " WHERE finding_id = ? AND feature_set = ?");
  if (!p.ok()) return p.status();
  std::vector<FeatureRow> out;
  for (int64_t id : finding_ids) {
    Statement st(p.value());
    st.Bind(1, id).Bind(2, feature_set);
    Status s;
    if (st.Step(&s)) {
      out.push_back({st.Int(0), st.Text(1), st.Text(2), SplitValues(st.Text(3)), st.Text(4), st.Int(5)});
    }
    if (!s.ok()) return s;
  }
  return out;
}

Result<std::vector<FeatureRow>> AiAdminStore::AllFeatures(const std::string& feature_set) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(
      "SELECT finding_id, feature_set, source, values_text, error, computed_at FROM similar_features"
      " WHERE feature_set = ? ORDER BY finding_id");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, feature_set);
  std::vector<FeatureRow> out;
  Status s;
  while (st.Step(&s)) {
    out.push_back({st.Int(0), st.Text(1), st.Text(2), SplitValues(st.Text(3)), st.Text(4), st.Int(5)});
  }
  if (!s.ok()) return s;
  return out;
}

Result<std::optional<SignedReportRow>> AiAdminStore::SignedReport(const std::string& study_uid) {
  std::lock_guard lock(impl_->read_mu);
  auto p = impl_->reader->Prepare(
      "SELECT id, status, impression_text, findings_text, signed_at FROM reports"
      " WHERE study_uid = ? AND study_uid != '' AND status IN ('preliminary', 'final') AND superseded = 0"
      " ORDER BY version DESC, id DESC LIMIT 1");
  if (!p.ok()) return p.status();
  Statement st(p.value());
  st.Bind(1, study_uid);
  Status s;
  std::optional<SignedReportRow> out;
  if (st.Step(&s)) out = SignedReportRow{st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Int(4)};
  if (!s.ok()) return s;
  return out;
}

}  // namespace radflow::storage
