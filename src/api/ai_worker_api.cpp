#include "api/ai_worker_api.h"

#include <nlohmann/json.hpp>

#include "api/ai_api.h"
#include "api/request_util.h"

namespace radflow::api {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// The body as a JSON object with a non-empty "worker" string; nullopt after setting *error.
std::optional<json> WorkerBody(const http::Request& req, http::Response* error) {
  auto body = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    *error = BadRequest("body must be a JSON object");
    return std::nullopt;
  }
  if (!body.contains("worker") || !body["worker"].is_string() || body["worker"].get<std::string>().empty() ||
      body["worker"].get<std::string>().size() > 200) {
    *error = BadRequest("worker: required, the worker's id (1..200 characters)");
    return std::nullopt;
  }
  return body;
}

// A number field, or `fallback` when absent; false for a field that is not a number.
bool NumberField(const json& body, const char* name, double fallback, double* out) {
  if (!body.contains(name)) {
    *out = fallback;
    return true;
  }
  if (!body[name].is_number()) return false;
  *out = body[name].get<double>();
  return true;
}

bool StringList(const json& body, const char* name, std::vector<std::string>* out) {
  if (!body.contains(name)) return true;
  if (!body[name].is_array()) return false;
  for (const auto& v : body[name]) {
    if (!v.is_string() || v.get<std::string>().empty()) return false;
    out->push_back(v.get<std::string>());
  }
  return true;
}

http::Response JobResponse(ai::Engine& engine, int64_t id) {
  auto job = engine.jobs().Get(id);
  if (!job.ok()) return http::Response::Error(job.status());
  if (!job->has_value()) return http::Response::Error(Status(ErrorCode::kNotFound, "no job " + std::to_string(id)));
  return http::Response::Json(JobJson(**job).dump());
}

}  // namespace

void RegisterAiWorkerApi(http::HttpServer& server, ai::Engine& engine) {
  server.Route("POST", "/api/v1/ai/worker/claim", [&engine](const http::Request& req) {
    http::Response error;
    auto body = WorkerBody(req, &error);
    if (!body) return error;
    std::vector<std::string> apps;
    if (!StringList(*body, "apps", &apps) || apps.empty()) {
      return BadRequest("apps: required, the ids of the apps the worker runs (a non-empty list of strings)");
    }
    double lease_s = 0, max_jobs = 0;
    if (!NumberField(*body, "lease_seconds", 60, &lease_s) || lease_s < 2 || lease_s > 3600) {
      return BadRequest("lease_seconds: a number 2..3600");
    }
    if (!NumberField(*body, "max_jobs", 1, &max_jobs) || max_jobs < 1 || max_jobs > 16) {
      return BadRequest("max_jobs: a number 1..16");
    }
    auto claimed = engine.ClaimRemote((*body)["worker"].get<std::string>(), apps, lease_s, static_cast<int>(max_jobs));
    if (!claimed.ok()) return http::Response::Error(claimed.status());
    ordered_json out = ordered_json::array();
    for (const auto& j : claimed.value()) out.push_back(JobJson(j));
    return http::Response::Json(ordered_json{{"jobs", out}}.dump());
  });
  server.RoutePrefix("POST", "/api/v1/ai/worker/jobs/", [&engine](const http::Request& req) {
    auto [id_text, action] = Split(req.path, std::string("/api/v1/ai/worker/jobs/").size());
    int64_t id = 0;
    if (!ParseInt(id_text, id)) return BadRequest("job id must be a number: " + id_text);
    http::Response error;
    auto body = WorkerBody(req, &error);
    if (!body) return error;
    const std::string worker = (*body)["worker"].get<std::string>();
    if (action == "renew") {
      double lease_s = 0;
      if (!NumberField(*body, "lease_seconds", 60, &lease_s) || lease_s < 2 || lease_s > 3600) {
        return BadRequest("lease_seconds: a number 2..3600");
      }
      std::vector<std::string> series;
      if (!StringList(*body, "result_series", &series)) return BadRequest("result_series: a list of series UIDs");
      auto job = engine.RenewRemote(id, worker, lease_s, series);
      if (!job.ok()) return http::Response::Error(job.status());
      return http::Response::Json(JobJson(job.value()).dump());
    }
    if (action == "complete") {
      if (!body->contains("run") || !(*body)["run"].is_object()) {
        return BadRequest("run: required, the app's result {summary, objects, findings}");
      }
      json run = (*body)["run"];
      run["ok"] = true;  // the runner's format (ai::AppRunFromJson); a failure goes to /fail
      if (!run.contains("objects")) run["objects"] = json::array();
      if (!run.contains("findings")) run["findings"] = json::array();
      for (auto& o : run["objects"]) {
        if (o.is_object() && !o.contains("path")) o["path"] = "";  // the worker's file: not ours
      }
      auto parsed = ai::AppRunFromJson(run.dump());
      if (!parsed.ok()) return BadRequest("run: " + parsed.status().message());
      Status s = engine.CompleteRemote(id, worker, parsed.value());
      if (!s.ok()) return http::Response::Error(s);
      return JobResponse(engine, id);
    }
    if (action == "fail") {
      if (!body->contains("error") || !(*body)["error"].is_string()) return BadRequest("error: required, why");
      for (const char* flag : {"give_back", "retry"}) {
        if (body->contains(flag) && !(*body)[flag].is_boolean()) return BadRequest(std::string(flag) + ": true or false");
      }
      Status s = engine.FailRemote(id, worker, (*body)["error"].get<std::string>(), body->value("give_back", false),
                                   body->value("retry", true));
      if (!s.ok()) return http::Response::Error(s);
      return JobResponse(engine, id);
    }
    return http::Response::Error(Status(ErrorCode::kNotFound, "no such route: POST " + req.path));
  });
}

}  // namespace radflow::api
