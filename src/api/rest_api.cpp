#include "api/rest_api.h"

#include <nlohmann/json.hpp>

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

}  // namespace radflow::api
