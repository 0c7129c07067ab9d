#include "api/audit_api.h"

#include <nlohmann/json.hpp>
#include <set>

#include "api/request_util.h"
#include "audit/audit_trail.h"
#include "http/http_server.h"

namespace radflow::api {

namespace {

using nlohmann::json;

json RecordJson(const audit::AuditRecord& r) {
  return json{{"seq", r.seq},
              {"at", audit::FormatTime(r.at)},
              {"at_ms", r.at},
              {"event", r.event},
              {"event_id", r.event_id},
              {"action", r.action},
              {"outcome", r.outcome == 0 ? "success" : "failure"},
              {"outcome_code", r.outcome},
              {"failure_reason", r.failure_reason},
              {"user", r.user},
              {"role", r.role},
              {"source", r.source},
              {"patient_id", r.patient_id},
              {"patient_name", r.patient_name},
              {"study_uid", r.study_uid},
              {"detail", r.detail},
              {"interface", r.interface}};
}

// Reading the audit log is itself an auditable event (PS3.15 A.5.3.2 Audit Log Used).
void RecordUse(audit::AuditTrail& trail, const http::Request& req) {
  audit::AuditEvent e;
  e.event = "audit-log-used";
  e.user = req.identity.user;
  e.role = req.identity.role;
  e.source = req.remote_address;
  e.detail = req.method + " " + req.target;
  e.interface = "http";
  trail.Record(std::move(e));
}

Result<audit::AuditQuery> ParseQuery(const http::Request& req) {
  static const std::set<std::string> kKnown = {"user",  "event",   "patient", "study", "since",
                                               "until", "outcome", "limit",   "offset"};
  for (const auto& [name, value] : req.query) {
    if (!kKnown.count(name)) {
      return Status(ErrorCode::kInvalidArgument,
                    "unknown parameter '" + name + "' (user, event, patient, study, since, until, outcome, limit, offset)");
    }
  }
  audit::AuditQuery q;
  q.user = Param(req, "user");
  q.event = Param(req, "event");
  q.patient = Param(req, "patient");
  q.study = Param(req, "study");
  q.outcome = Param(req, "outcome");
  if (!q.outcome.empty() && q.outcome != "success" && q.outcome != "failure") {
    return Status(ErrorCode::kInvalidArgument, "outcome must be success or failure, not '" + q.outcome + "'");
  }
  for (auto [name, slot] : {std::pair{"since", &q.since}, std::pair{"until", &q.until}}) {
    const std::string v = Param(req, name);
    if (v.empty()) continue;
    auto t = audit::ParseTime(v);
    if (!t.ok()) return Status(ErrorCode::kInvalidArgument, std::string(name) + ": " + t.status().message());
    *slot = t.value();
  }
  if (const std::string v = Param(req, "limit"); !v.empty()) {
    if (!ParseInt(v, q.limit) || q.limit < 1 || q.limit > 1000) {
      return Status(ErrorCode::kInvalidArgument, "limit must be an integer from 1 to 1000, not '" + v + "'");
    }
  }
  if (const std::string v = Param(req, "offset"); !v.empty()) {
    if (!ParseInt(v, q.offset) || q.offset < 0) {
      return Status(ErrorCode::kInvalidArgument, "offset must be a non-negative integer, not '" + v + "'");
    }
  }
  return q;
}

}  // namespace

void RegisterAuditApi(http::HttpServer& http, audit::AuditTrail& trail) {
  http.Route("GET", "/api/v1/audit", [&trail](const http::Request& req) {
    auto q = ParseQuery(req);
    if (!q.ok()) return http::Response::Error(q.status());
    RecordUse(trail, req);
    auto page = trail.Search(q.value());
    if (!page.ok()) return http::Response::Error(page.status());
    json records = json::array();
    for (const auto& r : page->records) records.push_back(RecordJson(r));
    return http::Response::Json(json{{"records", records}, {"total", page->total}}.dump());
  });

  http.Route("GET", "/api/v1/audit/verify", [&trail](const http::Request& req) {
    RecordUse(trail, req);
    const audit::VerifyResult v = trail.Verify();
    return http::Response::Json(json{{"ok", v.ok},
                                     {"records", v.records},
                                     {"first_bad_seq", v.first_bad_seq},
                                     {"message", v.message}}
                                    .dump());
  });

  http.RoutePrefix("GET", "/api/v1/audit/", [&trail](const http::Request& req) {
    const std::string rest = req.path.substr(std::string("/api/v1/audit/").size());
    int64_t seq = 0;
    if (!ParseInt(rest, seq) || seq < 1) {
      return http::Response::Error(
          Status(ErrorCode::kNotFound, "no audit route " + req.path + " (/api/v1/audit/{seq} takes a record number)"));
    }
    RecordUse(trail, req);
    auto xml = trail.MessageXml(seq);
    if (!xml.ok()) return http::Response::Error(xml.status());
    if (!xml->has_value()) {
      return http::Response::Error(Status(ErrorCode::kNotFound, "no audit record " + std::to_string(seq)));
    }
    http::Response resp;
    resp.content_type = "application/xml; charset=utf-8";
    resp.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + **xml;
    return resp;
  });
}

}  // namespace radflow::api
