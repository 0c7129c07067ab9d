// REST API of the AI engine under /api/v1: apps, jobs, findings (docs/architecture.md, "AI engine").
#pragma once

#include <nlohmann/json.hpp>

#include "ai/engine/engine.h"
#include "http/http_server.h"

namespace radflow::api {

//   GET  /api/v1/apps                        apps with their state, and rejected manifests
//   POST /api/v1/apps/{id}/enable | /disable  audited with the signed-in user
//   POST /api/v1/apps/{id}/pin {"version"} | /unpin   (docs/app-library.md)
//   POST /api/v1/apps/{id}/run               {"series_uid": "...", "priority": "stat"|"routine"}
//   GET  /api/v1/jobs?state=&app=&study=&series=&limit=&offset=
//   GET  /api/v1/jobs/{id}
//   POST /api/v1/jobs/{id}/rerun | /cancel
//   GET  /api/v1/findings?study=&series=
//   GET  /api/v1/studies/{uid}/findings, /api/v1/series/{uid}/findings
// `other_study_routes` answers the other GET /api/v1/studies/{uid}[/...] routes (the
// worklist's study page, priors and lesions).
// The JSON of an app (with "versions", "pinned_version", "running_version"), a job and a
// finding, as these routes answer them (also used by admin_api.cpp).
nlohmann::ordered_json AppJson(const ai::AppStatus& app);
nlohmann::ordered_json JobJson(const storage::Job& job);
nlohmann::ordered_json FindingJson(const storage::FindingRow& finding);

void RegisterAiApi(http::HttpServer& server, ai::Engine& engine,
                   http::Handler other_study_routes = nullptr);

}  // namespace radflow::api
