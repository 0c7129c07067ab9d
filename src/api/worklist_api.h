// REST API of the reading worklist under /api/v1 (docs/worklist.md), the live event
// stream, the study page's data, and the web application at "/".
#pragma once

#include <functional>
#include <string>

#include "http/http_server.h"
#include "workflow/worklist_service.h"

namespace radflow::api {

struct WorklistApiContext {
  workflow::WorklistService* service = nullptr;
  // GET /api/v1/studies/{uid}/lesions (JSON array); nullptr: 404 with a message.
  std::function<http::Response(const std::string& study_uid)> lesions;
  // The other GET /api/v1/studies/{uid}/... subpaths (reports, proposals, report-template:
  // api/report_api.h ReportStudyRoutes); nullptr: 404.
  http::Handler next;
};

//   GET  /api/v1/worklist                       list (filters, sort, paging)
//   GET  /api/v1/worklist/rule                  the priority rule
//   GET  /api/v1/worklist/events                server-sent events
//   GET  /api/v1/worklist/{study}               one item with its audit
//   POST /api/v1/worklist/{study}/claim | release | heartbeat | state | priority
// and the handler of GET /api/v1/studies/{uid}, /priors, /lesions (for RegisterAiApi), which
// hands other subpaths to ctx.next.
void RegisterWorklistApi(http::HttpServer& server, WorklistApiContext ctx);
http::Handler StudyRoutes(WorklistApiContext ctx);

// The web application (web/dist) at "/" with the single-page fallback; without an
// index.html there, "/" is the plain study list (ohif.h), which is at "/studies" too.
void RegisterWebApp(http::HttpServer& server, const std::string& app_dir);

}  // namespace radflow::api
