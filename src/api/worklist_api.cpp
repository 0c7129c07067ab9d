#include "api/worklist_api.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/ohif.h"
#include "api/request_util.h"
#include "api/static_site.h"
#include "base/clock.h"
#include "workflow/reading_state.h"

namespace radflow::api {
namespace {

using nlohmann::ordered_json;
using storage::WorklistItem;

const std::string kPrefix = "/api/v1/worklist/";

ordered_json ItemJson(const WorklistItem& w, int64_t now) {
  const int64_t read_start = w.read_started_at > 0 ? w.read_started_at : now;
  const std::string holder = workflow::Holder(w, now);
  return {{"study_uid", w.study_uid},
          {"accession_number", w.accession_number},
          {"study_date", w.study_date},
          {"study_time", w.study_time},
          {"study_description", w.study_description},
          {"patient_id", w.patient_id},
          {"issuer_of_patient_id", w.issuer_of_patient_id},
          {"patient_name", w.patient_name},
          {"birth_date", w.birth_date},
          {"sex", w.sex},
          {"modalities", w.modalities},
          {"body_part", w.body_part},
          {"site", w.site},
          {"referring_physician", w.referring_physician},
          {"order_priority", w.order_priority},
          {"reason_for_exam", w.reason_for_exam},
          {"state", w.state},
          {"reader", holder},
          {"claimed_at", holder.empty() ? 0 : w.claimed_at},
          {"claim_expires_at", holder.empty() ? 0 : w.claim_expires_at},
          {"arrived_at", w.arrived_at},
          {"completed_at", w.completed_at},
          {"read_started_at", w.read_started_at},
          {"reported_at", w.reported_at},
          {"waiting_ms", std::max<int64_t>(0, read_start - w.arrived_at)},
          {"tat_ms", w.reported_at > 0 ? w.reported_at - w.arrived_at : 0},
          {"ai_flag", w.ai_flag},
          {"ai_pending", w.ai_pending},
          {"priority_score", w.priority_score},
          {"priority_reasons", w.priority_reasons},
          {"num_series", w.num_series},
          {"num_instances", w.num_instances}};
}

// The reader: the signed-in user (the guard's identity; docs/access-control.md). A header or
// a body "reader" is not trusted.
std::string ReaderOf(const http::Request& req, const ordered_json& /*body*/) { return req.identity.user; }

http::Response ItemResponse(const Result<WorklistItem>& item) {
  if (!item.ok()) {
    http::Response res = http::Response::Error(item.status());
    return res;
  }
  return http::Response::Json(ItemJson(item.value(), UnixMillis()).dump());
}

Result<storage::WorklistFilter> ParseFilter(const http::Request& req) {
  storage::WorklistFilter f;
  const std::string state = Param(req, "state");
  if (state.empty()) {
    f.states = {"unread", "in_progress", "preliminary"};
  } else if (state != "all") {
    f.states = SplitComma(state);
    for (const auto& s : f.states) {
      if (!workflow::IsReadingState(s)) {
        return Status(ErrorCode::kInvalidArgument,
                      "state: '" + s + "' is not unread, in_progress, preliminary, final, cancelled or all");
      }
    }
  }
  f.modality = Param(req, "modality");
  f.body_part = Param(req, "body_part");
  for (const auto& p : SplitComma(Param(req, "priority"))) {
    std::string n = workflow::NormaliseOrderPriority(p);
    if (n.empty()) {
      return Status(ErrorCode::kInvalidArgument, "priority: '" + p + "' is not STAT, HIGH, ROUTINE, MEDIUM or LOW");
    }
    f.priorities.push_back(n);
  }
  if (std::string ai = Param(req, "ai_flag"); !ai.empty()) {
    static const char* kRanks[] = {"none", "info", "low", "moderate", "high", "critical"};
    if (ai == "any") {
      f.min_ai_rank = 1;
    } else if (ai == "none") {
      f.ai_none = true;
    } else {
      auto it = std::find(std::begin(kRanks), std::end(kRanks), ai);
      if (it == std::end(kRanks)) {
        return Status(ErrorCode::kInvalidArgument, "ai_flag: '" + ai + "' is not any, none, info, low, moderate, high or critical");
      }
      f.min_ai_rank = static_cast<int>(it - std::begin(kRanks));
    }
  }
  auto date = [&](const char* name, std::string& out) -> Status {
    std::string v = Param(req, name);
    v.erase(std::remove(v.begin(), v.end(), '-'), v.end());
    if (!v.empty() && (v.size() != 8 || !std::all_of(v.begin(), v.end(), ::isdigit))) {
      return {ErrorCode::kInvalidArgument, std::string(name) + ": expected YYYYMMDD"};
    }
    out = v;
    return Status::Ok();
  };
  RADFLOW_RETURN_IF_ERROR(date("from", f.date_from));
  RADFLOW_RETURN_IF_ERROR(date("to", f.date_to));
  f.patient = Param(req, "patient");
  f.site = Param(req, "site");
  f.reader = Param(req, "reader");
  const std::string sort = Param(req, "sort");
  if (sort.empty() || sort == "priority") {
    f.sort = storage::WorklistFilter::Sort::kPriority;
  } else if (sort == "waiting") {
    f.sort = storage::WorklistFilter::Sort::kWaiting;
  } else if (sort == "arrived") {
    f.sort = storage::WorklistFilter::Sort::kArrived;
  } else if (sort == "study_date") {
    f.sort = storage::WorklistFilter::Sort::kStudyDate;
  } else {
    return Status(ErrorCode::kInvalidArgument, "sort: priority, waiting, arrived or study_date");
  }
  auto number = [&](const char* name, int lo, int hi, int& out) -> Status {
    std::string v = Param(req, name);
    if (v.empty()) return Status::Ok();
    int n = 0;
    if (!ParseInt(v, n) || n < lo || n > hi) {
      return {ErrorCode::kInvalidArgument, std::string(name) + ": a number " + std::to_string(lo) + ".." + std::to_string(hi)};
    }
    out = n;
    return Status::Ok();
  };
  RADFLOW_RETURN_IF_ERROR(number("limit", 1, 1000, f.limit));
  RADFLOW_RETURN_IF_ERROR(number("offset", 0, 1000000000, f.offset));
  return f;
}

// Server-sent events (HTML Living Standard, "Server-sent events"): one `worklist` event per
// change, a comment every 15 s so that idle connections stay open through proxies.
http::Response EventStream(workflow::WorklistService& service, const http::Request& req) {
  http::Response res;
  res.content_type = "text/event-stream";
  res.headers.emplace_back("Cache-Control", "no-cache");
  res.headers.emplace_back("X-Accel-Buffering", "no");
  uint64_t last = service.events().Last();
  // A reconnecting EventSource sends the last id it saw: replay what it missed.
  if (const std::string& id = req.Header("last-event-id"); !id.empty()) {
    uint64_t n = 0;
    if (ParseInt(id, n) && n <= last) last = n;
  }
  auto state = std::make_shared<uint64_t>(last);
  auto first = std::make_shared<bool>(true);
  res.stream = [&service, state, first](std::string& chunk) {
    if (*first) {
      *first = false;
      chunk = "retry: 2000\n: radflow worklist events\n\n";
      return true;
    }
    auto events = service.events().Wait(*state, 15000);
    if (service.events().closed()) return false;
    if (events.empty()) {
      chunk = ": keep-alive\n\n";
      return true;
    }
    for (const auto& e : events) {
      ordered_json data{{"study_uid", e.study_uid}, {"reason", e.reason}, {"at", e.at}};
      chunk += "id: " + std::to_string(e.seq) + "\nevent: worklist\ndata: " + data.dump() + "\n\n";
      *state = e.seq;
    }
    return true;
  };
  return res;
}

http::Response ItemRoute(workflow::WorklistService& service, const http::Request& req) {
  auto [study, action] = Split(req.path, kPrefix.size());
  if (study.empty()) return BadRequest("a study UID is required: /api/v1/worklist/{study}");
  if (req.method == "GET") {
    if (!action.empty()) return http::Response::Error(Status(ErrorCode::kNotFound, "no such route: GET " + req.path));
    auto item = service.store().Get(study);
    if (!item.ok()) return http::Response::Error(item.status());
    if (!item->has_value()) {
      return http::Response::Error(Status(ErrorCode::kNotFound, "no worklist item for study " + study));
    }
    ordered_json out = ItemJson(item->value(), UnixMillis());
    auto audit = service.store().Audit(study);
    if (!audit.ok()) return http::Response::Error(audit.status());
    ordered_json entries = ordered_json::array();
    for (const auto& a : audit.value()) {
      entries.push_back({{"at", a.at}, {"reader", a.reader}, {"action", a.action},
                         {"from", a.from_state}, {"to", a.to_state}, {"note", a.note}});
    }
    out["audit"] = entries;
    return http::Response::Json(out.dump());
  }
  ordered_json body = ordered_json::object();
  if (!req.body.empty()) {
    body = ordered_json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return BadRequest("the body must be a JSON object");
  }
  const std::string reader = ReaderOf(req, body);
  auto conflict_holder = [&](http::Response res) {
    // A 409 because another reader holds the claim names the holder.
    if (res.status == 409) {
      auto item = service.store().Get(study);
      if (item.ok() && item->has_value()) {
        const std::string holder = workflow::Holder(item->value(), UnixMillis());
        if (!holder.empty() && holder != reader) {
          auto j = ordered_json::parse(res.body, nullptr, false);
          if (j.is_object()) {
            j["holder"] = holder;
            res.body = j.dump();
          }
        }
      }
    }
    return res;
  };
  if (action == "claim") return conflict_holder(ItemResponse(service.Claim(study, reader)));
  if (action == "release") return conflict_holder(ItemResponse(service.Release(study, reader)));
  if (action == "heartbeat") return conflict_holder(ItemResponse(service.Heartbeat(study, reader)));
  if (action == "state") {
    if (!body.contains("state") || !body["state"].is_string()) {
      return BadRequest("body must be JSON {\"state\": \"preliminary\"|\"final\"|\"unread\"|\"cancelled\", \"note\": \"...\"}");
    }
    std::string note = body.contains("note") && body["note"].is_string() ? body["note"].get<std::string>() : "";
    return conflict_holder(ItemResponse(service.ChangeState(study, reader, body["state"].get<std::string>(), note)));
  }
  if (action == "priority") {
    if (!body.contains("order_priority") || !body["order_priority"].is_string()) {
      return BadRequest("body must be JSON {\"order_priority\": \"STAT\"|\"HIGH\"|\"ROUTINE\"|\"MEDIUM\"|\"LOW\"|\"\"}");
    }
    return ItemResponse(service.SetOrderPriority(study, reader, body["order_priority"].get<std::string>()));
  }
  return http::Response::Error(Status(ErrorCode::kNotFound, "no such route: " + req.method + " " + req.path));
}

}  // namespace

http::Handler StudyRoutes(WorklistApiContext ctx) {
  return [ctx](const http::Request& req) {
    auto [study, what] = Split(req.path, std::string("/api/v1/studies/").size());
    workflow::WorklistService& service = *ctx.service;
    if (what.empty()) {
      auto item = service.store().Get(study);
      if (!item.ok()) return http::Response::Error(item.status());
      if (!item->has_value()) return http::Response::Error(Status(ErrorCode::kNotFound, "no study " + study));
      auto series = service.store().SeriesOf(study);
      if (!series.ok()) return http::Response::Error(series.status());
      ordered_json list = ordered_json::array();
      for (const auto& s : series.value()) {
        list.push_back({{"series_uid", s.series_uid}, {"modality", s.modality},
                        {"series_number", s.series_number}, {"series_description", s.series_description},
                        {"body_part", s.body_part}, {"num_instances", s.num_instances},
                        {"first_sop_uid", s.first_sop_uid}});
      }
      return http::Response::Json(
          ordered_json{{"study", ItemJson(item->value(), UnixMillis())}, {"series", list}}.dump());
    }
    if (what == "priors") {
      auto priors = service.Priors(study);
      if (!priors.ok()) return http::Response::Error(priors.status());
      ordered_json list = ordered_json::array();
      for (const auto& p : priors.value()) {
        list.push_back({{"study_uid", p.study.study_uid}, {"study_date", p.study.study_date},
                        {"modalities", p.study.modalities}, {"body_part", p.study.body_part},
                        {"study_description", p.study.study_description},
                        {"score", std::round(p.score * 10) / 10}, {"reasons", p.reasons}, {"local", true}});
      }
      return http::Response::Json(ordered_json{{"study_uid", study}, {"priors", list}}.dump());
    }
    if (what == "lesions") {
      if (ctx.lesions) return ctx.lesions(study);
      return http::Response::Error(Status(ErrorCode::kNotFound, "lesion tracking is not configured"));
    }
    if (ctx.next) return ctx.next(req);
    return http::Response::Error(Status(ErrorCode::kNotFound, "no such route: GET " + req.path));
  };
}

void RegisterWorklistApi(http::HttpServer& server, WorklistApiContext ctx) {
  workflow::WorklistService& service = *ctx.service;
  server.Route("GET", "/api/v1/worklist", [&service](const http::Request& req) {
    auto filter = ParseFilter(req);
    if (!filter.ok()) return http::Response::Error(filter.status());
    auto page = service.store().List(filter.value());
    if (!page.ok()) return http::Response::Error(page.status());
    const int64_t now = UnixMillis();
    ordered_json items = ordered_json::array();
    for (const auto& w : page->items) items.push_back(ItemJson(w, now));
    return http::Response::Json(ordered_json{{"total", page->total}, {"now", now}, {"items", items}}.dump());
  });
  server.Route("GET", "/api/v1/worklist/rule", [&service](const http::Request&) {
    auto j = ordered_json::parse(workflow::PriorityRuleJson(service.rule()));
    j["claim_idle_minutes"] = static_cast<double>(service.claim_ms()) / 60000.0;
    return http::Response::Json(j.dump());
  });
  server.Route("GET", "/api/v1/worklist/events",
               [&service](const http::Request& req) { return EventStream(service, req); });
  server.RoutePrefix("GET", kPrefix, [&service](const http::Request& req) { return ItemRoute(service, req); });
  server.RoutePrefix("POST", kPrefix, [&service](const http::Request& req) { return ItemRoute(service, req); });
}

void RegisterWebApp(http::HttpServer& server, const std::string& app_dir) {
  RegisterWebUi(server, "/studies");  // the plain study list stays, for a look without the app
  std::error_code ec;
  if (app_dir.empty() || !std::filesystem::is_regular_file(std::filesystem::path(app_dir) / "index.html", ec)) {
    RegisterWebUi(server);  // the plain study list
    return;
  }
  auto files = StaticSite(app_dir, "/");
  auto site = [files](const http::Request& req) {
    // An unknown API path is an error, not the application's page.
    if (req.path.rfind("/api/", 0) == 0 || req.path.rfind("/dicom-web/", 0) == 0) {
      return http::Response::Error(Status(ErrorCode::kNotFound, "no such route: GET " + req.path));
    }
    return files(req);
  };
  server.Route("GET", "/", site);
  server.RoutePrefix("GET", "/", site);
}

}  // namespace radflow::api
