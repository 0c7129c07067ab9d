// REST API of the research hub under /api/v1/research (docs/research.md; roles researcher and
// administrator, enforced by the access rules):
//
//   POST /api/v1/research/cohorts/preview       {"criteria"} → counts
//   GET  /api/v1/research/cohorts               the newest version of each cohort
//   POST /api/v1/research/cohorts               {"name","description"?,"criteria"} → 201
//   GET  /api/v1/research/cohorts/{name}?version=N
//   POST /api/v1/research/exports               {"cohort","version"?,"options"?,"formats"?} → 202
//   GET  /api/v1/research/exports               the exports, newest first
//   GET  /api/v1/research/exports/{id}          status and progress (+ manifest when done)
//   GET  /api/v1/research/exports/{id}/download application/x-tar stream of the export folder
//
// The caller is req.identity.user (created_by of cohorts and exports).
#pragma once

#include "http/http_server.h"
#include "research/research.h"

namespace radflow::api {

void RegisterResearchApi(http::HttpServer& server, research::ResearchService& research);

}  // namespace radflow::api
