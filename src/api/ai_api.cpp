#include "api/ai_api.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "api/ai_worker_api.h"
#include "api/request_util.h"

namespace radflow::api {
namespace {

using nlohmann::ordered_json;
using storage::FindingRow;
using storage::Job;

// Who changes the app library: the signed-in user (the guard's identity); a body "reader" is
// not trusted.
std::string ActorOf(const http::Request& req, const ordered_json& /*body*/) { return req.identity.user; }

ordered_json RuleJson(const ai::Rule& r) {
  ordered_json j{{"attribute", r.attribute}};
  switch (r.op) {
    case ai::Rule::Op::kEquals: j["equals"] = r.values.empty() ? "" : r.values[0]; break;
    case ai::Rule::Op::kIn: j["in"] = r.values; break;
    case ai::Rule::Op::kRegex: j["regex"] = r.pattern; break;
    case ai::Rule::Op::kRange: {
      ordered_json range = ordered_json::object();
      if (r.min) range["min"] = *r.min;
      if (r.max) range["max"] = *r.max;
      j["range"] = range;
      break;
    }
  }
  return j;
}

}  // namespace

ordered_json AppJson(const ai::AppStatus& a) {
  const ai::AppManifest& m = a.manifest;
  ordered_json rules = ordered_json::array();
  for (const auto& r : m.rules) rules.push_back(RuleJson(r));
  return {{"id", m.id},           {"name", m.name},       {"version", m.version},
          {"vendor", m.vendor},   {"intended_use", m.intended_use},
          {"enabled", a.enabled}, {"runner", ai::RunnerName(m.runner)},     {"rules", rules},
          {"outputs", m.outputs}, {"input", m.input}, {"timeout_s", m.timeout_s},
          {"max_attempts", m.max_attempts}, {"priority", m.priority},
          {"resources", {{"threads", m.resources.threads}, {"memory_mb", m.resources.memory_mb},
                         {"gpu", m.resources.gpu}}},
          {"source", m.source},
          {"versions", [&] {
             ordered_json v = ordered_json::array();
             for (const auto& x : a.installed) v.push_back(x.version);
             return v;
           }()},
          {"pinned_version", a.pinned_version ? ordered_json(*a.pinned_version) : ordered_json(nullptr)},
          {"running_version", m.version}};
}

ordered_json JobJson(const Job& j) {
  ordered_json out{{"id", j.id},
                   {"app_id", j.app_id},
                   {"app_version", j.app_version},
                   {"study_uid", j.study_uid},
                   {"series_uid", j.series_uid},
                   {"state", storage::JobStateName(j.state)},
                   {"priority", j.priority},
                   {"attempts", j.attempts},
                   {"max_attempts", j.max_attempts},
                   {"created_at", j.created_at},
                   {"started_at", j.started_at},
                   {"finished_at", j.finished_at},
                   {"not_before", j.not_before},
                   {"trigger", j.trigger},
                   {"error", j.error},
                   {"summary", j.summary},
                   {"cancel_requested", j.cancel_requested},
                   // Remote workers (docs/remote-workers.md): the last holder ("" = the hub).
                   {"lease_owner", j.lease_owner},
                   {"lease_expires_at", j.lease_expires_at}};
  if (j.started_at > 0 && j.finished_at >= j.started_at) out["duration_ms"] = j.finished_at - j.started_at;
  auto results = ordered_json::parse(j.results_json, nullptr, false);
  out["results"] = results.is_discarded() ? ordered_json::array() : results;
  return out;
}

ordered_json FindingJson(const FindingRow& f) {
  auto details = ordered_json::parse(f.details_json, nullptr, false);
  auto bar = f.type_code.find('^');
  return {{"id", f.id},
          {"job_id", f.job_id},
          {"app_id", f.app_id},
          {"study_uid", f.study_uid},
          {"series_uid", f.series_uid},
          {"type", {{"value", f.type_code.substr(0, bar)},
                    {"scheme", bar == std::string::npos ? "" : f.type_code.substr(bar + 1)},
                    {"meaning", f.type_meaning}}},
          {"label", f.label},
          {"center_lps_mm", {f.x, f.y, f.z}},
          {"size_mm", f.size_mm},
          {"volume_ml", f.volume_ml},
          {"score", f.score},
          {"severity", f.severity},
          {"details", details.is_discarded() ? ordered_json::object() : details},
          {"created_at", f.created_at}};
}

namespace {

http::Response FindingsResponse(ai::Engine& engine, const std::string& study, const std::string& series) {
  if (study.empty() && series.empty()) return BadRequest("give study or series");
  auto rows = engine.jobs().Findings(study, series);
  if (!rows.ok()) return http::Response::Error(rows.status());
  ordered_json out = ordered_json::array();
  for (const auto& f : rows.value()) out.push_back(FindingJson(f));
  return http::Response::Json(out.dump());
}

}  // namespace

void RegisterAiApi(http::HttpServer& server, ai::Engine& engine, http::Handler other_study_routes) {
  RegisterAiWorkerApi(server, engine);  // /api/v1/ai/worker/… for remote workers
  server.Route("GET", "/api/v1/apps", [&engine](const http::Request&) {
    ordered_json apps = ordered_json::array();
    for (const auto& a : engine.Apps()) apps.push_back(AppJson(a));
    return http::Response::Json(ordered_json{{"apps", apps}, {"rejected", engine.ManifestErrors()}}.dump());
  });
  server.RoutePrefix("POST", "/api/v1/apps/", [&engine](const http::Request& req) {
    auto [id, action] = Split(req.path, std::string("/api/v1/apps/").size());
    if (action == "enable" || action == "disable" || action == "pin" || action == "unpin") {
      auto body = req.body.empty() ? ordered_json::object() : ordered_json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) return BadRequest("body must be a JSON object");
      const std::string actor = ActorOf(req, body);
      Result<ai::AppStatus> app = Status(ErrorCode::kInternal, "unreachable");
      if (action == "pin") {
        if (!body.contains("version") || !body["version"].is_string() || body["version"].get<std::string>().empty()) {
          return BadRequest("version: required, one of the installed versions");
        }
        app = engine.Pin(id, body["version"].get<std::string>(), actor);
      } else if (action == "unpin") {
        app = engine.Unpin(id, actor);
      } else {
        app = engine.SetEnabled(id, action == "enable", actor);
      }
      if (!app.ok()) return http::Response::Error(app.status());
      return http::Response::Json(AppJson(app.value()).dump());
    }
    if (action == "run") {
      auto body = ordered_json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object() || !body.contains("series_uid") ||
          !body["series_uid"].is_string()) {
        return BadRequest("body must be JSON {\"series_uid\": \"...\", \"priority\": \"stat\"|\"routine\"}");
      }
      if (body.contains("priority") && !body["priority"].is_string()) {
        return BadRequest("priority: stat or routine");
      }
      std::string priority = body.value("priority", "routine");
      if (priority != "stat" && priority != "routine") return BadRequest("priority: stat or routine");
      auto id_or = engine.Submit(id, body["series_uid"].get<std::string>(), priority == "stat", "api");
      if (!id_or.ok()) return http::Response::Error(id_or.status());
      return http::Response::Json(ordered_json{{"job_id", id_or.value()}}.dump(), 202);
    }
    return http::Response::Error(Status(ErrorCode::kNotFound, "no such action: " + action));
  });
  server.Route("GET", "/api/v1/jobs", [&engine](const http::Request& req) {
    storage::JobFilter filter;
    if (std::string s = Param(req, "state"); !s.empty()) {
      filter.state = storage::ParseJobState(s);
      if (!filter.state) return BadRequest("state: queued, running, succeeded, failed or cancelled");
    }
    filter.app_id = Param(req, "app");
    filter.study_uid = Param(req, "study");
    filter.series_uid = Param(req, "series");
    int64_t n = 0;
    if (std::string s = Param(req, "limit"); !s.empty()) {
      if (!ParseInt(s, n) || n < 1 || n > 10000) return BadRequest("limit: 1..10000");
      filter.limit = static_cast<int>(n);
    }
    if (std::string s = Param(req, "offset"); !s.empty()) {
      if (!ParseInt(s, n) || n < 0 || n > 1000000000) return BadRequest("offset: a number 0..1e9");
      filter.offset = static_cast<int>(n);
    }
    auto jobs = engine.jobs().List(filter);
    if (!jobs.ok()) return http::Response::Error(jobs.status());
    ordered_json out = ordered_json::array();
    for (const auto& j : jobs.value()) out.push_back(JobJson(j));
    return http::Response::Json(out.dump());
  });
  auto job_route = [&engine](const http::Request& req) {
    auto [id_text, action] = Split(req.path, std::string("/api/v1/jobs/").size());
    int64_t id = 0;
    if (!ParseInt(id_text, id)) return BadRequest("job id must be a number: " + id_text);
    if (req.method == "GET" && action.empty()) {
      auto job = engine.jobs().Get(id);
      if (!job.ok()) return http::Response::Error(job.status());
      if (!job->has_value()) return http::Response::Error(Status(ErrorCode::kNotFound, "no job " + id_text));
      return http::Response::Json(JobJson(**job).dump());
    }
    if (req.method == "POST" && action == "rerun") {
      auto new_id = engine.Rerun(id);
      if (!new_id.ok()) return http::Response::Error(new_id.status());
      return http::Response::Json(ordered_json{{"job_id", new_id.value()}}.dump(), 202);
    }
    if (req.method == "POST" && action == "cancel") {
      auto cancelled = engine.Cancel(id);
      if (!cancelled.ok()) return http::Response::Error(cancelled.status());
      if (!cancelled.value()) {
        return http::Response::Error(Status(ErrorCode::kConflict, "job " + id_text + " has already finished"));
      }
      return http::Response::Json(ordered_json{{"job_id", id}, {"cancelled", true}}.dump());
    }
    return http::Response::Error(Status(ErrorCode::kNotFound, "no such route: " + req.method + " " + req.path));
  };
  server.RoutePrefix("GET", "/api/v1/jobs/", job_route);
  server.RoutePrefix("POST", "/api/v1/jobs/", job_route);
  server.Route("GET", "/api/v1/findings", [&engine](const http::Request& req) {
    return FindingsResponse(engine, Param(req, "study"), Param(req, "series"));
  });
  server.RoutePrefix("GET", "/api/v1/studies/", [&engine, other_study_routes](const http::Request& req) {
    auto [uid, what] = Split(req.path, std::string("/api/v1/studies/").size());
    if (what != "findings" && other_study_routes) return other_study_routes(req);
    if (what != "findings") return http::Response::Error(Status(ErrorCode::kNotFound, "no such route"));
    return FindingsResponse(engine, uid, "");
  });
  server.RoutePrefix("GET", "/api/v1/series/", [&engine](const http::Request& req) {
    auto [uid, what] = Split(req.path, std::string("/api/v1/series/").size());
    if (what != "findings") return http::Response::Error(Status(ErrorCode::kNotFound, "no such route"));
    return FindingsResponse(engine, "", uid);
  });
}

}  // namespace radflow::api
