#include "api/admin_api.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "ai/manifest.h"
#include "api/ai_api.h"
#include "api/request_util.h"
#include "base/clock.h"
#include "similar/features.h"

namespace radflow::api {
namespace {

using nlohmann::ordered_json;

ordered_json Number(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json AuditJson(const storage::AppAuditRow& a) {
  return {{"id", a.id}, {"at", a.at}, {"actor", a.actor}, {"action", a.action}, {"version", a.version},
          {"note", a.note}};
}

void CountsJson(ordered_json& j, const storage::PerformanceCounts& c, bool with_rates) {
  j["results"] = c.results;
  j["findings"] = c.findings;
  j["decided"] = c.decided;
  j["accepted"] = c.accepted;
  j["edited"] = c.edited;
  j["rejected"] = c.rejected;
  if (with_rates) {
    auto rate = [&](int64_t n) {
      return c.decided > 0 ? ordered_json(static_cast<double>(n) / static_cast<double>(c.decided))
                           : ordered_json(nullptr);
    };
    j["accepted_rate"] = rate(c.accepted);
    j["edited_rate"] = rate(c.edited);
    j["rejected_rate"] = rate(c.rejected);
  }
  j["signed_decided"] = c.signed_decided;
  j["agreement"] = Number(c.Agreement());
}

ordered_json PerformanceJson(const storage::AppPerformance& p, bool with_weeks) {
  ordered_json j{{"app_id", p.app_id}, {"app_version", p.app_version}};
  CountsJson(j, p.totals, true);
  if (with_weeks) {
    ordered_json weeks = ordered_json::array();
    for (const auto& w : p.weeks) {
      ordered_json x{{"week", w.week.week}, {"start", w.week.start}};
      CountsJson(x, w.counts, false);
      weeks.push_back(std::move(x));
    }
    j["weeks"] = std::move(weeks);
  }
  return j;
}

ordered_json LesionJson(const storage::LesionFinding& f) {
  ordered_json j = FindingJson(f.finding);
  j["app_version"] = f.app_version;
  return j;
}

// Reads the optional integer parameter `name` into `out` (lo..hi); false with `error` set.
bool IntParam(const http::Request& req, const std::string& name, int64_t lo, int64_t hi, int64_t* out,
              std::string* error) {
  const std::string s = Param(req, name);
  if (s.empty()) return true;
  int64_t v = 0;
  if (!ParseInt(s, v) || v < lo || v > hi) {
    *error = name + ": a number " + std::to_string(lo) + ".." + std::to_string(hi);
    return false;
  }
  *out = v;
  return true;
}

http::Response AppDetails(const AdminApiContext& c, const std::string& id) {
  auto app = c.engine->App(id);
  if (!app.ok()) return http::Response::Error(app.status());
  ordered_json j = AppJson(app.value());
  auto manifest_text = ai::ManifestFileAsJson(app->manifest.source);
  auto manifest = manifest_text.ok() ? ordered_json::parse(manifest_text.value(), nullptr, false)
                                     : ordered_json(nullptr);
  j["manifest"] = manifest.is_discarded() ? ordered_json(nullptr) : manifest;
  ordered_json installed = ordered_json::array();
  for (const auto& m : app->installed) {
    installed.push_back({{"version", m.version},
                         {"name", m.name},
                         {"runner", ai::RunnerName(m.runner)},
                         {"source", m.source},
                         {"running", ai::CompareVersions(m.version, app->manifest.version) == 0},
                         {"pinned", app->pinned_version && ai::CompareVersions(m.version, *app->pinned_version) == 0}});
  }
  j["installed"] = std::move(installed);

  auto timings = c.store->Timings(id);
  if (!timings.ok()) return http::Response::Error(timings.status());
  ordered_json by_state = ordered_json::object();
  for (const auto& [state, n] : timings->by_state) by_state[state] = n;
  storage::JobFilter filter;
  filter.app_id = id;
  filter.limit = 10;
  auto recent = c.engine->jobs().List(filter);
  if (!recent.ok()) return http::Response::Error(recent.status());
  ordered_json recent_json = ordered_json::array();
  for (const auto& job : recent.value()) recent_json.push_back(JobJson(job));
  j["jobs"] = {{"by_state", by_state},
               {"timed", timings->timed},
               {"median_app_ms", Number(timings->median_app_ms)},
               {"p95_app_ms", Number(timings->p95_app_ms)},
               {"median_total_ms", Number(timings->median_total_ms)},
               {"p95_total_ms", Number(timings->p95_total_ms)},
               {"recent", recent_json}};

  constexpr int kWeeks = 12;
  auto perf = c.store->Performance(id, kWeeks, UnixMillis());
  if (!perf.ok()) return http::Response::Error(perf.status());
  storage::PerformanceCounts all;
  ordered_json versions = ordered_json::array();
  for (const auto& p : perf.value()) {
    versions.push_back(PerformanceJson(p, false));
    const auto& t = p.totals;
    all.results += t.results, all.findings += t.findings, all.decided += t.decided;
    all.accepted += t.accepted, all.edited += t.edited, all.rejected += t.rejected;
    all.signed_decided += t.signed_decided, all.signed_agreed += t.signed_agreed;
  }
  ordered_json summary{{"weeks", kWeeks}};
  CountsJson(summary, all, true);
  summary["versions"] = std::move(versions);
  j["performance"] = std::move(summary);

  auto audit = c.store->Audit(id, 50);
  if (!audit.ok()) return http::Response::Error(audit.status());
  ordered_json audit_json = ordered_json::array();
  for (const auto& a : audit.value()) audit_json.push_back(AuditJson(a));
  j["audit"] = std::move(audit_json);
  return http::Response::Json(j.dump());
}

http::Response Similar(const AdminApiContext& c, const http::Request& req, const std::string& id_text) {
  if (c.similar == nullptr) {
    return http::Response::Error(Status(ErrorCode::kUnavailable, "similar-case search is not running"));
  }
  int64_t id = 0;
  if (!ParseInt(id_text, id)) return BadRequest("finding id must be a number: " + id_text);
  int64_t k = 10;
  std::string error;
  if (!IntParam(req, "k", 1, 100, &k, &error)) return BadRequest(error);
  auto answer = c.similar->Query(id, static_cast<size_t>(k));
  if (!answer.ok()) return http::Response::Error(answer.status());
  ordered_json values = ordered_json::array();
  for (double v : answer->values) values.push_back(std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr));
  ordered_json similar = ordered_json::array();
  for (const auto& s : answer->similar) {
    ordered_json report = nullptr;
    if (s.report) {
      report = {{"id", s.report->id},
                {"status", s.report->status},
                {"impression_text", s.report->impression_text},
                {"findings_text", s.report->findings_text},
                {"signed_at", s.report->signed_at}};
    }
    similar.push_back({{"finding", LesionJson(s.finding)},
                       {"patient_id", s.finding.patient_id},
                       {"study_uid", s.finding.finding.study_uid},
                       {"study_date", s.finding.study_date},
                       {"distance", s.distance},
                       {"report", report}});
  }
  ordered_json out{{"finding", LesionJson(answer->finding)},
                   {"features", similar::FeatureNames()},
                   {"values", values},
                   {"source", answer->source},
                   {"indexed", answer->indexed},
                   {"similar", similar}};
  return http::Response::Json(out.dump());
}

}  // namespace

void RegisterAdminApi(http::HttpServer& server, AdminApiContext context) {
  server.RoutePrefix("GET", "/api/v1/apps/", [c = context](const http::Request& req) {
    auto [id, what] = Split(req.path, std::string("/api/v1/apps/").size());
    if (id.empty()) return http::Response::Error(Status(ErrorCode::kNotFound, "no app id"));
    if (what.empty()) return AppDetails(c, id);
    if (what == "audit") {
      auto app = c.engine->App(id);
      if (!app.ok()) return http::Response::Error(app.status());
      int64_t limit = 100;
      std::string error;
      if (!IntParam(req, "limit", 1, 10000, &limit, &error)) return BadRequest(error);
      auto audit = c.store->Audit(id, static_cast<int>(limit));
      if (!audit.ok()) return http::Response::Error(audit.status());
      ordered_json rows = ordered_json::array();
      for (const auto& a : audit.value()) rows.push_back(AuditJson(a));
      return http::Response::Json(ordered_json{{"app_id", id}, {"audit", rows}}.dump());
    }
    return http::Response::Error(Status(ErrorCode::kNotFound, "no such route: GET " + req.path));
  });
  server.Route("GET", "/api/v1/ai/performance", [c = context](const http::Request& req) {
    int64_t weeks = 12;
    std::string error;
    if (!IntParam(req, "weeks", 1, 520, &weeks, &error)) return BadRequest(error);
    const int64_t now = UnixMillis();
    auto perf = c.store->Performance(Param(req, "app_id"), static_cast<int>(weeks), now);
    if (!perf.ok()) return http::Response::Error(perf.status());
    ordered_json apps = ordered_json::array();
    for (const auto& p : perf.value()) apps.push_back(PerformanceJson(p, true));
    const auto current = storage::IsoWeekOf(now);
    const auto first = storage::IsoWeekOf(current.start_ms - (weeks - 1) * 7 * 86400000LL);
    return http::Response::Json(ordered_json{{"weeks", weeks},
                                             {"from", first.start},
                                             {"to_week", current.week},
                                             {"apps", apps}}
                                    .dump());
  });
  server.RoutePrefix("GET", "/api/v1/findings/", [c = context](const http::Request& req) {
    auto [id, what] = Split(req.path, std::string("/api/v1/findings/").size());
    if (what == "similar") return Similar(c, req, id);
    return http::Response::Error(Status(ErrorCode::kNotFound, "no such route: GET " + req.path));
  });
}

}  // namespace radflow::api
