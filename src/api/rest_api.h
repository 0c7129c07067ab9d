// REST API under /api/v1 and the health check: thin handlers over module APIs.
#pragma once

#include <atomic>

#include "http/http_server.h"
#include "storage/index.h"

namespace radflow::api {

// {"patients":n,"studies":n,"series":n,"instances":n,"bytes":n}
std::string StatsJson(const storage::IndexStats& stats);

// GET /healthz: 200 once `ready` is true, 503 before. GET /api/v1/stats.
void RegisterRestApi(http::HttpServer& server, storage::Index& index,
                     const std::atomic<bool>& ready);

}  // namespace radflow::api
