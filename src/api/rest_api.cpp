#include "api/rest_api.h"

#include <nlohmann/json.hpp>

#include "dicom/conformance.h"
#include "dicom/instance.h"

namespace radflow::api {

std::string StatsJson(const storage::IndexStats& s) {
  nlohmann::ordered_json j;
  j["patients"] = s.patients;
  j["studies"] = s.studies;
  j["series"] = s.series;
  j["instances"] = s.instances;
  j["bytes"] = s.bytes;
  return j.dump();
}

void RegisterRestApi(http::HttpServer& server, storage::Index& index,
                     const std::atomic<bool>& ready) {
  server.Route("GET", "/healthz", [&ready](const http::Request&) {
    return ready.load() ? http::Response::Text("ok\n")
                        : http::Response::Text("starting\n", 503);
  });
  server.Route("GET", "/api/v1/stats", [&index](const http::Request&) {
    auto stats = index.Stats();
    if (!stats.ok()) return http::Response::Error(stats.status());
    return http::Response::Json(StatsJson(stats.value()));
  });
}

http::Handler ConformanceStudyRoutes(storage::Index& index, http::Handler next) {
  return [&index, next](const http::Request& req) {
    const std::string prefix = "/api/v1/studies/";
    const std::string rest = req.path.size() > prefix.size() ? req.path.substr(prefix.size()) : "";
    const size_t slash = rest.find('/');
    if (slash == std::string::npos || rest.substr(slash + 1) != "conformance") {
      if (next) return next(req);
      return http::Response::Error(Status(ErrorCode::kNotFound, "no such route: " + req.path));
    }
    const std::string study = rest.substr(0, slash);
    if (!dicom::IsValidUid(study)) {
      return http::Response::Error(Status(ErrorCode::kInvalidArgument, "not a UID: '" + study + "'"));
    }
    auto found = index.Conformance(study);
    if (!found.ok()) return http::Response::Error(found.status());
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& c : found.value()) {
      list.push_back({{"series_instance_uid", c.series_uid},
                      {"sop_instance_uid", c.sop_uid},
                      {"sop_class_uid", c.sop_class_uid},
                      {"iod", dicom::ConformanceIodName(c.sop_class_uid)},
                      {"problems", c.problems}});
    }
    nlohmann::ordered_json body{{"study_instance_uid", study}, {"instances", list}};
    return http::Response::Json(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
}

}  // namespace radflow::api
