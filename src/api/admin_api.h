// REST API of the app library, AI performance and similar cases under /api/v1
// (docs/app-library.md, docs/similar-cases.md):
//
//   GET /api/v1/apps/{id}             the app (as in GET /api/v1/apps) + "manifest" (the
//                                     running version's file as JSON), "installed", "jobs"
//                                     (counts by state, timings, recent jobs), "performance"
//                                     (12-week summary per version), "audit"
//   GET /api/v1/apps/{id}/audit?limit=   {"audit": [{"at","actor","action","version","note"}]}
//   GET /api/v1/ai/performance?app_id=&weeks=12
//   GET /api/v1/findings/{id}/similar?k=10
//
// Enable, disable, pin and unpin are POST routes of api/ai_api.h (the engine's).
#pragma once

#include "ai/engine/engine.h"
#include "http/http_server.h"
#include "similar/similar_cases.h"
#include "storage/ai_admin_store.h"

namespace radflow::api {

struct AdminApiContext {
  ai::Engine* engine = nullptr;
  storage::AiAdminStore* store = nullptr;
  similar::SimilarCases* similar = nullptr;  // null: the similar route answers 503
};

void RegisterAdminApi(http::HttpServer& server, AdminApiContext context);

}  // namespace radflow::api
