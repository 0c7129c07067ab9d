#include "api/report_api.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "api/request_util.h"
#include "delivery/fhir.h"
#include "report/template_json.h"

namespace radflow::api {
namespace {

using nlohmann::ordered_json;
using reporting::ReportService;

const std::string kReports = "/api/v1/reports/";
const std::string kStudies = "/api/v1/studies/";
const std::string kFhir = "/api/v1/fhir/";
const std::string kFollowups = "/api/v1/followups/";

ordered_json Ordered(const nlohmann::json& j) { return ordered_json::parse(j.dump()); }

// YYYYMMDD → YYYY-MM-DD ('' stays '').
std::string IsoDate(const std::string& d) {
  if (d.size() != 8) return d;
  return d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2);
}

double Round(double v, double scale = 100) { return std::round(v * scale) / scale; }

ordered_json ReportJson(const storage::ReportRow& r) {
  ordered_json content = ordered_json::parse(r.content_json, nullptr, false);
  if (content.is_discarded() || !content.is_object()) content = ordered_json::object();
  return {{"id", r.id},
          {"study_uid", r.study_uid},
          {"patient_id", r.patient_id},
          {"issuer_of_patient_id", r.issuer_of_patient_id},
          {"accession_number", r.accession_number},
          {"version", r.version},
          {"status", r.status},
          {"superseded", r.superseded},
          {"origin", r.origin},
          {"template_id", r.template_id},
          {"content", content},
          {"findings_text", r.findings_text},
          {"impression_text", r.impression_text},
          {"critical_communicated", r.critical_communicated},
          {"author", r.author},
          {"signed_by", r.signed_by},
          {"signed_at", r.signed_at},
          {"revision", r.revision},
          {"sr_sop_uid", r.sr_sop_uid},
          {"sr_series_uid", r.sr_series_uid},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at}};
}

ordered_json DecisionJson(const storage::DecisionRow& d) {
  ordered_json values = ordered_json::parse(d.values_json, nullptr, false);
  if (values.is_discarded() || !values.is_object()) values = ordered_json::object();
  return {{"id", d.id},           {"finding_id", d.finding_id}, {"study_uid", d.study_uid},
          {"app_id", d.app_id},   {"app_version", d.app_version}, {"report_id", d.report_id},
          {"decision", d.decision}, {"reason", d.reason},       {"values", values},
          {"sentence", d.sentence}, {"reader", d.reader},       {"at", d.at}};
}

ordered_json ProposalJson(const report::Proposal& p, const storage::DecisionRow* decision) {
  const report::AiFinding& f = p.finding;
  ordered_json values = ordered_json::object();
  for (const auto& [k, v] : p.values) values[k] = v;
  ordered_json measurements = ordered_json::array();
  for (const auto& m : f.measurements) {
    measurements.push_back({{"name", m.name}, {"code", m.code}, {"scheme", m.scheme}, {"value", m.value}, {"unit", m.unit}});
  }
  ordered_json prior = nullptr;
  if (f.prior) {
    prior = {{"prior_study_uid", f.prior->prior_study_uid},
             {"status", f.prior->status},
             {"trend", f.prior->trend},
             {"interval_days", f.prior->interval_days},
             {"volume_change_pct", Round(f.prior->volume_change_pct, 10)},
             {"diameter_change_mm", Round(f.prior->diameter_change_mm, 10)},
             {"doubling_time_days", f.prior->doubling_time_days ? ordered_json(Round(*f.prior->doubling_time_days, 1))
                                                                : ordered_json(nullptr)}};
  }
  return {{"finding_id", f.id},
          {"app_id", f.app_id},
          {"app_version", f.app_version},
          {"kind", p.kind},
          {"section_id", p.section_id},
          {"sentence", p.sentence},
          {"values", values},
          {"laterality", p.laterality},
          {"site", p.site},
          {"lung_rads", p.lung_rads},
          {"severity", f.severity},
          {"label", f.label},
          {"type_meaning", f.type_meaning},
          {"series_uid", f.series_uid},
          {"position", {f.x, f.y, f.z}},
          {"size_mm", f.size_mm},
          {"volume_ml", f.volume_ml},
          {"measurements", measurements},
          {"prior", prior},
          {"sr_sop_uid", f.sr_sop_uid},
          {"tracking_uid", f.tracking_uid},
          {"decision", decision ? DecisionJson(*decision) : ordered_json(nullptr)}};
}

ordered_json ProposalsJson(const reporting::StudyProposals& p) {
  ordered_json list = ordered_json::array();
  for (const auto& prop : p.proposals) {
    auto it = p.decisions.find(prop.finding.id);
    list.push_back(ProposalJson(prop, it == p.decisions.end() ? nullptr : &it->second));
  }
  return list;
}

ordered_json QaJson(const std::vector<report::QaIssue>& issues) {
  ordered_json list = ordered_json::array();
  for (const auto& q : issues) {
    list.push_back({{"id", q.id},
                    {"check", q.check},
                    {"severity", q.severity},
                    {"message", q.message},
                    {"finding_id", q.finding_id != 0 ? ordered_json(q.finding_id) : ordered_json(nullptr)},
                    {"field", q.field},
                    {"offset", q.offset},
                    {"length", q.length}});
  }
  return list;
}

ordered_json OutboxJson(const std::vector<storage::OutboxRow>& rows) {
  ordered_json list = ordered_json::array();
  for (const auto& o : rows) {
    list.push_back({{"id", o.id},
                    {"receiver", o.receiver},
                    {"control_id", o.control_id},
                    {"result_status", o.result_status},
                    {"state", o.state},
                    {"attempts", o.attempts},
                    {"last_error", o.last_error},
                    {"next_attempt_at", o.state == "pending" ? o.next_attempt_at : 0},
                    {"created_at", o.created_at},
                    {"sent_at", o.sent_at}});
  }
  return list;
}

ordered_json FollowupJson(const reporting::FollowupView& v) {
  const storage::FollowupRow& f = v.row;
  ordered_json interval = nullptr;
  if (f.interval_min_days && f.interval_max_days) {
    interval = *f.interval_min_days == *f.interval_max_days
                   ? ordered_json(*f.interval_max_days)
                   : ordered_json::array({*f.interval_min_days, *f.interval_max_days});
  } else if (f.interval_max_days) {
    interval = *f.interval_max_days;
  }
  return {{"id", f.id},
          {"report_id", f.report_id},
          {"study_uid", f.study_uid},
          {"patient_id", f.patient_id},
          {"issuer_of_patient_id", f.issuer_of_patient_id},
          {"patient_name", v.patient_name},
          {"finding", f.finding},
          {"modality", f.modality},
          {"body_region", f.body_region},
          {"interval_days", interval},
          {"conditional", f.conditional},
          {"text", f.text},
          {"base_date", IsoDate(f.base_date)},
          {"due_date", IsoDate(f.due_date)},
          {"state", v.state},
          {"satisfied_by", f.satisfied_by},
          {"closed_reason", f.closed_reason},
          {"closed_by", f.closed_by},
          {"created_at", f.created_at},
          {"updated_at", f.updated_at}};
}

http::Response Json(const ordered_json& j, int status = 200) { return http::Response::Json(j.dump(), status); }

// The signed-in user (the guard's identity; docs/access-control.md); a body "reader" is not trusted.
std::string Reader(const http::Request& req, const ordered_json& /*body*/) { return req.identity.user; }

// The body as a JSON object ({} when empty); nullopt (and `error` set) when it is not one.
std::optional<ordered_json> Body(const http::Request& req, http::Response* error) {
  if (req.body.empty()) return ordered_json::object();
  ordered_json body = ordered_json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    *error = BadRequest("the body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

// A string member: "" when absent; false (and `error`) when present with another type.
bool StringField(const ordered_json& body, const char* name, std::string& out, http::Response* error) {
  if (!body.contains(name) || body[name].is_null()) return true;
  if (!body[name].is_string()) {
    *error = BadRequest(std::string(name) + ": must be a string");
    return false;
  }
  out = body[name].get<std::string>();
  return true;
}

std::string FieldText(const ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number() || v.is_array()) return v.dump();
  return "";
}

bool ParseId(const std::string& s, int64_t& id) { return ParseInt(s, id) && id != 0; }

http::Response NotFound(const std::string& what) { return http::Response::Error(Status(ErrorCode::kNotFound, what)); }

// --------------------------------------------------------------------------------- FHIR

http::Response Fhir(const Result<std::string>& resource) {
  http::Response res;
  res.content_type = "application/fhir+json";
  if (resource.ok()) {
    res.body = resource.value();
    return res;
  }
  const Status& st = resource.status();
  const std::string code = st.code() == ErrorCode::kNotFound ? "not-found"
                           : st.code() == ErrorCode::kInvalidArgument ? "invalid"
                                                                      : "exception";
  res.status = st.http_status();
  res.body = delivery::OperationOutcome("error", code, st.message()).dump();
  return res;
}

std::string BaseUrl(const http::Request& req) {
  const std::string& host = req.Header("host");
  return "http://" + (host.empty() ? std::string("localhost") : host) + "/api/v1/fhir";
}

http::Response FhirRoute(ReportService& service, const http::Request& req) {
  const std::string rest = req.path.substr(kFhir.size());
  const std::string base = BaseUrl(req);
  auto [type, id] = Split(req.path, kFhir.size());
  if (type == "DiagnosticReport" && id.empty()) {
    const std::string study = Param(req, "study"), patient = Param(req, "patient");
    if (study.empty() == patient.empty()) {
      return Fhir(Status(ErrorCode::kInvalidArgument, "DiagnosticReport search: give study=<uid> or patient=<id>"));
    }
    return Fhir(service.FhirSearch(study, patient, base, "http://" + req.Header("host") + req.target));
  }
  if (id.empty() || id.find('/') != std::string::npos) {
    return Fhir(Status(ErrorCode::kNotFound, "no such resource: " + rest));
  }
  if (type == "DiagnosticReport") {
    int64_t n = 0;
    if (!ParseInt(id, n)) return Fhir(Status(ErrorCode::kNotFound, "no DiagnosticReport " + id));
    return Fhir(service.FhirDiagnosticReport(n, base));
  }
  if (type == "Observation") return Fhir(service.FhirObservation(id, base));
  if (type == "ImagingStudy") return Fhir(service.FhirImagingStudy(id, base));
  return Fhir(Status(ErrorCode::kNotFound, "radflow serves DiagnosticReport, Observation and ImagingStudy, not " + type));
}

// ------------------------------------------------------------------------------- reports

http::Response ReportRoute(ReportService& service, const http::Request& req) {
  auto [id_text, action] = Split(req.path, kReports.size());
  int64_t id = 0;
  if (!ParseId(id_text, id)) return BadRequest("a report id is required: /api/v1/reports/{id}");
  if (req.method == "GET") {
    if (action.empty()) {
      auto v = service.View(id);
      if (!v.ok()) return http::Response::Error(v.status());
      ordered_json out = ReportJson(v->row);
      out["proposals"] = ProposalsJson(v->proposals);
      out["qa"] = QaJson(v->qa);
      return Json(out);
    }
    if (action == "qa") {
      auto qa = service.Qa(id);
      if (!qa.ok()) return http::Response::Error(qa.status());
      return Json({{"issues", QaJson(qa.value())}});
    }
    if (action == "delivery") {
      auto rows = service.Delivery(id);
      if (!rows.ok()) return http::Response::Error(rows.status());
      return Json({{"delivery", OutboxJson(rows.value())}});
    }
    return NotFound("no such route: GET " + req.path);
  }
  http::Response error;
  auto body = Body(req, &error);
  if (!body) return error;
  const std::string reader = Reader(req, *body);
  if (req.method == "PUT") {
    if (!action.empty()) return NotFound("no such route: PUT " + req.path);
    if (!body->contains("revision") || !(*body)["revision"].is_number_integer()) {
      return BadRequest("revision: required, the revision last read (an integer)");
    }
    const int64_t revision = (*body)["revision"].get<int64_t>();
    auto current = service.View(id);
    if (!current.ok()) return http::Response::Error(current.status());
    // Absent members keep their stored values.
    storage::ReportRow content = current->row;
    content.template_id.clear();
    if (body->contains("content")) {
      if (!(*body)["content"].is_object()) return BadRequest("content: must be a JSON object");
      content.content_json = (*body)["content"].dump();
    }
    if (!StringField(*body, "findings_text", content.findings_text, &error) ||
        !StringField(*body, "impression_text", content.impression_text, &error) ||
        !StringField(*body, "critical_communicated", content.critical_communicated, &error) ||
        !StringField(*body, "template_id", content.template_id, &error)) {
      return error;
    }
    content.author = reader;
    auto saved = service.Save(id, revision, content);
    if (!saved.ok()) {
      if (saved.status().code() == ErrorCode::kConflict) {
        return Json({{"error", saved.status().message()}, {"code", "conflict"}, {"revision", current->row.revision},
                     {"status", current->row.status}},
                    409);
      }
      return http::Response::Error(saved.status());
    }
    return Json({{"revision", saved->revision}, {"updated_at", saved->updated_at}});
  }
  if (action == "sign") {
    std::string status;
    if (!StringField(*body, "status", status, &error)) return error;
    if (status.empty()) return BadRequest("status: required, preliminary or final");
    std::set<std::string> acknowledged;
    if (body->contains("acknowledged")) {
      const auto& a = (*body)["acknowledged"];
      if (!a.is_array()) return BadRequest("acknowledged: must be an array of QA issue ids");
      for (const auto& x : a) {
        if (!x.is_string()) return BadRequest("acknowledged: must be an array of QA issue ids");
        acknowledged.insert(x.get<std::string>());
      }
    }
    auto signed_report = service.Sign(id, status, reader, acknowledged);
    if (!signed_report.ok()) return http::Response::Error(signed_report.status());
    if (!signed_report->blocking.empty()) {
      return Json({{"error", std::to_string(signed_report->blocking.size()) +
                                 " QA error(s) must be corrected or acknowledged before signing"},
                   {"code", "conflict"},
                   {"issues", QaJson(signed_report->blocking)}},
                  409);
    }
    ordered_json out = ReportJson(signed_report->row);
    out["delivery"] = OutboxJson(signed_report->delivery);
    return Json(out);
  }
  if (action == "addendum") {
    auto a = service.Addendum(id, reader);
    if (!a.ok()) return http::Response::Error(a.status());
    return Json(ReportJson(a.value()), 201);
  }
  return NotFound("no such route: " + req.method + " " + req.path);
}

http::Response External(ReportService& service, const http::Request& req) {
  http::Response error;
  auto body = Body(req, &error);
  if (!body) return error;
  reporting::ExternalInput in;
  if (!StringField(*body, "patient_id", in.patient_id, &error) ||
      !StringField(*body, "issuer_of_patient_id", in.issuer_of_patient_id, &error) ||
      !StringField(*body, "patient_name", in.patient_name, &error) ||
      !StringField(*body, "accession_number", in.accession_number, &error) ||
      !StringField(*body, "study_uid", in.study_uid, &error) || !StringField(*body, "status", in.status, &error) ||
      !StringField(*body, "text", in.text, &error) || !StringField(*body, "author", in.author, &error) ||
      !StringField(*body, "observed_at", in.observed_at, &error) ||
      !StringField(*body, "external_id", in.external_id, &error)) {
    return error;
  }
  in.observed_at.erase(std::remove_if(in.observed_at.begin(), in.observed_at.end(),
                                      [](char c) { return c == '-' || c == ':' || c == 'T' || c == ' '; }),
                       in.observed_at.end());
  auto stored = service.ReceiveExternal(in, "rest");
  if (!stored.ok()) return http::Response::Error(stored.status());
  return Json(ReportJson(stored->report), stored->created ? 201 : 200);
}

// ------------------------------------------------------------------------------ decisions

http::Response DecisionRoute(ReportService& service, const http::Request& req) {
  auto [id_text, action] = Split(req.path, std::string("/api/v1/findings/").size());
  int64_t id = 0;
  if (!ParseId(id_text, id) || action != "decision") return NotFound("no such route: POST " + req.path);
  http::Response error;
  auto body = Body(req, &error);
  if (!body) return error;
  reporting::DecisionInput in;
  if (!StringField(*body, "decision", in.decision, &error) || !StringField(*body, "reason", in.reason, &error) ||
      !StringField(*body, "sentence", in.sentence, &error) ||
      !StringField(*body, "study_uid", in.study_uid, &error)) {
    return error;
  }
  if (in.decision.empty()) return BadRequest("decision: required, accepted, edited or rejected");
  if (body->contains("values") && !(*body)["values"].is_null()) {
    const auto& v = (*body)["values"];
    if (!v.is_object()) return BadRequest("values: must be an object of field id -> value");
    for (const auto& [k, x] : v.items()) {
      if (x.is_object()) return BadRequest("values." + k + ": must be a string, number, boolean or list");
      in.values[k] = FieldText(x);
    }
  }
  auto d = service.Decide(id, in, Reader(req, *body));
  if (!d.ok()) return http::Response::Error(d.status());
  return Json(DecisionJson(d.value()), 201);
}

http::Response DecisionList(ReportService& service, const http::Request& req) {
  storage::DecisionFilter f;
  f.study_uid = Param(req, "study_uid");
  f.app_id = Param(req, "app_id");
  f.reader = Param(req, "reader");
  if (const std::string since = Param(req, "since"); !since.empty() && !ParseInt(since, f.since)) {
    return BadRequest("since: unix milliseconds");
  }
  if (const std::string limit = Param(req, "limit"); !limit.empty()) {
    if (!ParseInt(limit, f.limit) || f.limit < 1 || f.limit > 10000) return BadRequest("limit: a number 1..10000");
  }
  auto rows = service.ListDecisions(f);
  if (!rows.ok()) return http::Response::Error(rows.status());
  ordered_json list = ordered_json::array();
  for (const auto& d : rows.value()) list.push_back(DecisionJson(d));
  return Json({{"decisions", list}});
}

// ------------------------------------------------------------------------------ follow-ups

http::Response FollowupList(ReportService& service, const http::Request& req) {
  storage::FollowupFilter f;
  f.state = Param(req, "state");
  f.patient_id = Param(req, "patient_id");
  f.issuer_of_patient_id = Param(req, "issuer");
  if (const std::string limit = Param(req, "limit"); !limit.empty()) {
    if (!ParseInt(limit, f.limit) || f.limit < 1 || f.limit > 10000) return BadRequest("limit: a number 1..10000");
  }
  auto rows = service.Followups(f);
  if (!rows.ok()) return http::Response::Error(rows.status());
  ordered_json list = ordered_json::array();
  for (const auto& v : rows.value()) list.push_back(FollowupJson(v));
  return Json({{"followups", list}});
}

http::Response FollowupRoute(ReportService& service, const http::Request& req) {
  auto [id_text, action] = Split(req.path, kFollowups.size());
  int64_t id = 0;
  if (!ParseId(id_text, id)) return BadRequest("a follow-up id is required: /api/v1/followups/{id}");
  if (req.method == "GET" && action.empty()) {
    auto v = service.Followup(id);
    if (!v.ok()) return http::Response::Error(v.status());
    return Json(FollowupJson(v.value()));
  }
  if (req.method == "POST" && action == "close") {
    http::Response error;
    auto body = Body(req, &error);
    if (!body) return error;
    std::string reason;
    if (!StringField(*body, "reason", reason, &error)) return error;
    auto v = service.CloseFollowup(id, reason, Reader(req, *body));
    if (!v.ok()) return http::Response::Error(v.status());
    return Json(FollowupJson(v.value()));
  }
  return NotFound("no such route: " + req.method + " " + req.path);
}

}  // namespace

http::Handler ReportStudyRoutes(ReportService& service) {
  return [&service](const http::Request& req) {
    auto [study, what] = Split(req.path, kStudies.size());
    if (what == "reports") {
      auto rows = service.StudyReports(study);
      if (!rows.ok()) return http::Response::Error(rows.status());
      ordered_json list = ordered_json::array();
      for (const auto& r : rows.value()) list.push_back(ReportJson(r));
      return Json({{"study_uid", study}, {"reports", list}});
    }
    if (what == "proposals") {
      auto p = service.Proposals(study, Param(req, "template_id"));
      if (!p.ok()) return http::Response::Error(p.status());
      return Json({{"study_uid", study},
                   {"template_id", p->tmpl ? p->tmpl->id : ""},
                   {"rule", p->rule},
                   {"proposals", ProposalsJson(p.value())}});
    }
    if (what == "report-template") {
      auto choice = service.TemplateFor(study);
      if (!choice.ok()) return http::Response::Error(choice.status());
      return Json({{"template", choice->chosen ? Ordered(report::TemplateJson(*choice->chosen)) : ordered_json(nullptr)},
                   {"rule", choice->rule}});
    }
    return NotFound("no such route: GET " + req.path);
  };
}

void RegisterReportApi(http::HttpServer& server, ReportService& service) {
  server.Route("GET", "/api/v1/report-templates", [&service](const http::Request&) {
    ordered_json list = ordered_json::array(), rejected = ordered_json::array();
    for (const auto& t : service.templates().templates) list.push_back(Ordered(report::TemplateSummaryJson(t)));
    for (const auto& [file, error] : service.templates().rejected) rejected.push_back({{"file", file}, {"error", error}});
    return Json({{"templates", list}, {"rejected", rejected}});
  });
  server.RoutePrefix("GET", "/api/v1/report-templates/", [&service](const http::Request& req) {
    const std::string id = req.path.substr(std::string("/api/v1/report-templates/").size());
    const report::Template* t = service.templates().Find(id);
    if (!t) return NotFound("no report template '" + id + "'");
    return Json(Ordered(report::TemplateJson(*t)));
  });
  server.RoutePrefix("POST", kStudies, [&service](const http::Request& req) {
    auto [study, what] = Split(req.path, kStudies.size());
    if (what != "reports") return NotFound("no such route: POST " + req.path);
    http::Response error;
    auto body = Body(req, &error);
    if (!body) return error;
    std::string template_id;
    if (!StringField(*body, "template_id", template_id, &error)) return error;
    auto created = service.CreateDraft(study, template_id, Reader(req, *body));
    if (!created.ok()) return http::Response::Error(created.status());
    auto v = service.View(created->report.id);
    if (!v.ok()) return http::Response::Error(v.status());
    ordered_json out = ReportJson(v->row);
    out["proposals"] = ProposalsJson(v->proposals);
    out["qa"] = QaJson(v->qa);
    return Json(out, created->created ? 201 : 200);
  });
  auto reports = [&service](const http::Request& req) { return ReportRoute(service, req); };
  server.RoutePrefix("GET", kReports, reports);
  server.RoutePrefix("PUT", kReports, reports);
  server.RoutePrefix("POST", kReports, reports);
  server.Route("POST", "/api/v1/reports/external", [&service](const http::Request& req) { return External(service, req); });
  server.RoutePrefix("GET", "/api/v1/patients/", [&service](const http::Request& req) {
    // /api/v1/patients/{patient_id}/reports: the id may hold any character but '/'.
    const std::string rest = req.path.substr(std::string("/api/v1/patients/").size());
    const std::string suffix = "/reports";
    if (rest.size() <= suffix.size() || rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) != 0) {
      return NotFound("no such route: GET " + req.path);
    }
    const std::string patient = rest.substr(0, rest.size() - suffix.size());
    auto rows = service.PatientReports(patient, Param(req, "issuer"));
    if (!rows.ok()) return http::Response::Error(rows.status());
    ordered_json list = ordered_json::array();
    for (const auto& r : rows.value()) list.push_back(ReportJson(r));
    return Json({{"patient_id", patient}, {"reports", list}});
  });
  server.RoutePrefix("POST", "/api/v1/findings/", [&service](const http::Request& req) { return DecisionRoute(service, req); });
  server.Route("GET", "/api/v1/decisions", [&service](const http::Request& req) { return DecisionList(service, req); });
  server.RoutePrefix("GET", kFhir, [&service](const http::Request& req) { return FhirRoute(service, req); });
  server.Route("GET", "/api/v1/followups", [&service](const http::Request& req) { return FollowupList(service, req); });
  auto followup = [&service](const http::Request& req) { return FollowupRoute(service, req); };
  server.RoutePrefix("GET", kFollowups, followup);
  server.RoutePrefix("POST", kFollowups, followup);
}

}  // namespace radflow::api
