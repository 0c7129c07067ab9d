#include "api/research_api.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "api/request_util.h"
#include "research/tar_stream.h"

namespace radflow::api {

namespace {

using nlohmann::ordered_json;
using research::ResearchService;

http::Response Json(const ordered_json& j, int status = 200) { return http::Response::Json(j.dump(), status); }

ordered_json CountsJson(const storage::CohortCounts& c) {
  return {{"patients", c.patients}, {"studies", c.studies}, {"series", c.series},
          {"instances", c.instances}, {"lesions", c.lesions}};
}

ordered_json CohortJson(const storage::CohortRow& c) {
  return {{"name", c.name},         {"version", c.version},       {"description", c.description},
          {"created_by", c.created_by}, {"created_at", c.created_at}, {"counts", CountsJson(c.counts)}};
}

ordered_json ExportJson(const storage::ExportRow& e, bool with_manifest) {
  ordered_json j{{"id", e.id},
                 {"cohort", e.cohort_name},
                 {"version", e.cohort_version},
                 {"status", e.status},
                 {"done", e.done},
                 {"total", e.total},
                 {"error", e.error},
                 {"options", e.options},
                 {"formats", SplitComma(e.formats)},
                 {"created_by", e.created_by},
                 {"created_at", e.created_at},
                 {"started_at", e.started_at},
                 {"finished_at", e.finished_at}};
  if (with_manifest && !e.manifest_json.empty()) {
    auto m = ordered_json::parse(e.manifest_json, nullptr, false);
    if (!m.is_discarded()) j["manifest"] = std::move(m);
  }
  return j;
}

// The request body as a JSON object; InvalidArgument otherwise.
Result<nlohmann::json> Body(const http::Request& req) {
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded()) return Status(ErrorCode::kInvalidArgument, "the body is not valid JSON");
  if (!j.is_object()) return Status(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  return j;
}

Result<research::Criteria> CriteriaOf(const nlohmann::json& body) {
  auto it = body.find("criteria");
  if (it == body.end() || it->is_null()) return research::Criteria{};
  return research::ParseCriteria(it->dump());
}

Result<deid::DeidOptions> OptionsOf(const nlohmann::json& body) {
  deid::DeidOptions o;
  auto it = body.find("options");
  if (it == body.end() || it->is_null()) return o;
  if (!it->is_object()) return Status(ErrorCode::kInvalidArgument, "options: expected an object");
  struct Flag {
    const char* name;
    bool* field;
  };
  const Flag flags[] = {{"retain_dates", &o.retain_dates},           {"retain_patient_chars", &o.retain_patient_chars},
                        {"retain_device", &o.retain_device},         {"clean_descriptors", &o.clean_descriptors},
                        {"clean_structured", &o.clean_structured},   {"clean_graphics", &o.clean_graphics},
                        {"clean_pixels", &o.clean_pixels}};
  for (auto f = it->begin(); f != it->end(); ++f) {
    bool* target = nullptr;
    for (const auto& flag : flags) {
      if (f.key() == flag.name) target = flag.field;
    }
    if (target == nullptr) return Status(ErrorCode::kInvalidArgument, "options." + f.key() + ": unknown option");
    if (!f->is_boolean()) return Status(ErrorCode::kInvalidArgument, "options." + f.key() + ": expected true or false");
    *target = f->get<bool>();
  }
  return o;
}

http::Response Preview(ResearchService& r, const http::Request& req) {
  auto body = Body(req);
  if (!body.ok()) return http::Response::Error(body.status());
  auto criteria = CriteriaOf(body.value());
  if (!criteria.ok()) return http::Response::Error(criteria.status());
  auto counts = r.Preview(criteria.value());
  if (!counts.ok()) return http::Response::Error(counts.status());
  return Json(CountsJson(counts.value()));
}

http::Response CreateCohort(ResearchService& r, const http::Request& req) {
  auto body = Body(req);
  if (!body.ok()) return http::Response::Error(body.status());
  const auto& b = body.value();
  if (!b.contains("name") || !b["name"].is_string()) return BadRequest("name: a string is required");
  std::string description;
  if (b.contains("description") && !b["description"].is_null()) {
    if (!b["description"].is_string()) return BadRequest("description: expected a string");
    description = b["description"].get<std::string>();
  }
  auto criteria = CriteriaOf(b);
  if (!criteria.ok()) return http::Response::Error(criteria.status());
  auto row = r.CreateCohort(b["name"].get<std::string>(), description, criteria.value(), req.identity.user);
  if (!row.ok()) return http::Response::Error(row.status());
  return Json({{"name", row->name}, {"version", row->version}, {"counts", CountsJson(row->counts)}}, 201);
}

http::Response ListCohorts(ResearchService& r) {
  auto rows = r.Cohorts();
  if (!rows.ok()) return http::Response::Error(rows.status());
  ordered_json list = ordered_json::array();
  for (const auto& c : rows.value()) list.push_back(CohortJson(c));
  return Json({{"cohorts", list}});
}

http::Response GetCohort(ResearchService& r, const http::Request& req, const std::string& name) {
  int version = 0;
  const std::string v = Param(req, "version");
  if (!v.empty() && (!ParseInt(v, version) || version < 1)) return BadRequest("version: expected a positive integer");
  auto detail = r.Cohort(name, version);
  if (!detail.ok()) return http::Response::Error(detail.status());
  if (!detail->has_value()) {
    return http::Response::Error(Status(ErrorCode::kNotFound, "no cohort '" + name + "'" +
                                                                  (version ? " version " + v : "")));
  }
  const auto& d = **detail;
  ordered_json j = CohortJson(d.cohort);
  auto criteria = ordered_json::parse(d.cohort.criteria_json, nullptr, false);
  j["criteria"] = criteria.is_discarded() ? ordered_json::object() : criteria;
  ordered_json versions = ordered_json::array();
  for (const auto& c : d.versions) {
    versions.push_back({{"version", c.version}, {"description", c.description}, {"created_by", c.created_by},
                        {"created_at", c.created_at}, {"counts", CountsJson(c.counts)}});
  }
  j["versions"] = versions;
  return Json(j);
}

http::Response QueueExport(ResearchService& r, const http::Request& req) {
  auto body = Body(req);
  if (!body.ok()) return http::Response::Error(body.status());
  const auto& b = body.value();
  research::ExportRequest er;
  if (!b.contains("cohort") || !b["cohort"].is_string()) return BadRequest("cohort: a cohort name is required");
  er.cohort = b["cohort"].get<std::string>();
  if (b.contains("version") && !b["version"].is_null()) {
    if (!b["version"].is_number_integer() || b["version"].get<int64_t>() < 1) {
      return BadRequest("version: expected a positive integer");
    }
    er.version = b["version"].get<int>();
  }
  auto options = OptionsOf(b);
  if (!options.ok()) return http::Response::Error(options.status());
  er.options = options.value();
  if (b.contains("formats") && !b["formats"].is_null()) {
    if (!b["formats"].is_array()) return BadRequest("formats: expected an array of dicom, nifti, csv");
    er.formats.clear();
    for (const auto& f : b["formats"]) {
      if (!f.is_string()) return BadRequest("formats: expected an array of dicom, nifti, csv");
      er.formats.push_back(f.get<std::string>());
    }
  }
  research::Requester who{req.identity.user, req.identity.role, req.remote_address, "http"};
  auto row = r.QueueExport(er, who);
  if (!row.ok()) return http::Response::Error(row.status());
  return Json({{"id", row->id}, {"status", row->status}}, 202);
}

http::Response ListExports(ResearchService& r) {
  auto rows = r.Exports();
  if (!rows.ok()) return http::Response::Error(rows.status());
  ordered_json list = ordered_json::array();
  for (const auto& e : rows.value()) list.push_back(ExportJson(e, false));
  return Json({{"exports", list}});
}

http::Response Download(ResearchService& r, const storage::ExportRow& e) {
  if (e.status != "done") {
    return http::Response::Error(
        Status(ErrorCode::kConflict, "export " + std::to_string(e.id) + " is " + e.status + ", not done"));
  }
  const std::string name = "radflow-export-" + std::to_string(e.id);
  auto tar = research::TarStream::Open(r.ExportFolder(e.id), name);
  if (!tar.ok()) return http::Response::Error(tar.status());
  http::Response res;
  res.content_type = "application/x-tar";
  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + ".tar\"");
  std::shared_ptr<research::TarStream> stream(std::move(tar.value()));
  res.stream = [stream](std::string& chunk) {
    if (stream->Next(chunk)) return true;
    // A failure mid-way must not look like a complete archive: the connection is dropped.
    if (!stream->error().ok()) throw std::runtime_error(stream->error().ToString());
    return false;
  };
  return res;
}

}  // namespace

void RegisterResearchApi(http::HttpServer& server, research::ResearchService& research) {
  ResearchService* r = &research;
  server.Route("POST", "/api/v1/research/cohorts/preview", [r](const http::Request& req) { return Preview(*r, req); });
  server.Route("GET", "/api/v1/research/cohorts", [r](const http::Request&) { return ListCohorts(*r); });
  server.Route("POST", "/api/v1/research/cohorts", [r](const http::Request& req) { return CreateCohort(*r, req); });
  server.RoutePrefix("GET", "/api/v1/research/cohorts/", [r](const http::Request& req) {
    static const std::string kPrefix = "/api/v1/research/cohorts/";
    auto [name, rest] = Split(req.path, kPrefix.size());
    if (name.empty() || !rest.empty()) return BadRequest("expected /api/v1/research/cohorts/{name}");
    return GetCohort(*r, req, name);
  });
  server.Route("POST", "/api/v1/research/exports", [r](const http::Request& req) { return QueueExport(*r, req); });
  server.Route("GET", "/api/v1/research/exports", [r](const http::Request&) { return ListExports(*r); });
  server.RoutePrefix("GET", "/api/v1/research/exports/", [r](const http::Request& req) {
    static const std::string kPrefix = "/api/v1/research/exports/";
    auto [id_text, rest] = Split(req.path, kPrefix.size());
    int64_t id = 0;
    if (!ParseInt(id_text, id) || id < 1) return BadRequest("export id: expected a positive integer");
    if (!rest.empty() && rest != "download") return BadRequest("expected /api/v1/research/exports/{id}[/download]");
    auto row = r->Export(id);
    if (!row.ok()) return http::Response::Error(row.status());
    if (!row->has_value()) return http::Response::Error(Status(ErrorCode::kNotFound, "no export " + id_text));
    if (rest == "download") return Download(*r, **row);
    return Json(ExportJson(**row, true));
  });
}

}  // namespace radflow::api
