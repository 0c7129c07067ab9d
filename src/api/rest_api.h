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

// GET /api/v1/studies/{study}/conformance: every instance of the study with the problems
// ingest found against its IOD (dicom/conformance.h), as
// {"study_instance_uid","instances":[{"series_instance_uid","sop_instance_uid",
// "sop_class_uid","iod","problems":[...]}]}; 404 for an unknown study. A link of the
// GET /api/v1/studies/ chain (ai_api.h `other_study_routes`): other subpaths go to `next`.
http::Handler ConformanceStudyRoutes(storage::Index& index, http::Handler next);

}  // namespace radflow::api
