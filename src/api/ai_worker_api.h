// REST for remote AI workers (`radflow worker`, docs/remote-workers.md), under
// /api/v1/ai/worker (ai-service role). Every body is JSON with the worker's id:
//   POST claim                {"worker", "apps": [...], "lease_seconds", "max_jobs"}
//                             → {"jobs": [job…]} (empty when none is runnable)
//   POST jobs/{id}/renew      {"worker", "lease_seconds", "result_series": [...]}
//                             → the job ("cancel_requested": the worker stops the app)
//   POST jobs/{id}/complete   {"worker", "run": {summary, objects, findings, timings}}
//                             (objects stored by STOW-RS first) → the job
//   POST jobs/{id}/fail       {"worker", "error", "give_back", "retry"} → the job (give_back:
//                             re-queued, attempt given back; retry false: no retry)
// 409 when the worker no longer holds the job (its lease passed and the job went back to
// the queue, or another worker took it); 400 for a malformed body or a result outside the
// job's study.
#pragma once

#include "ai/engine/engine.h"
#include "http/http_server.h"

namespace radflow::api {

void RegisterAiWorkerApi(http::HttpServer& server, ai::Engine& engine);

}  // namespace radflow::api
