// REST API of reporting under /api/v1 (docs/reports.md): templates, reports (drafts,
// autosave, QA, signing, addenda, delivery, external reports), AI proposals and the
// radiologists' decisions, FHIR R4 resources, follow-up recommendations.
#pragma once

#include "http/http_server.h"
#include "reporting/report_service.h"

namespace radflow::api {

//   GET  /api/v1/report-templates, /api/v1/report-templates/{id}
//   POST /api/v1/studies/{uid}/reports                    a pre-filled draft (201) or the open one (200)
//   GET  /api/v1/reports/{id}, /qa, /delivery
//   PUT  /api/v1/reports/{id}                             autosave {"revision", "content", ...}
//   POST /api/v1/reports/{id}/sign | /addendum
//   POST /api/v1/reports/external
//   GET  /api/v1/patients/{patient_id}/reports[?issuer=]
//   POST /api/v1/findings/{id}/decision
//   GET  /api/v1/decisions?study_uid=&app_id=&reader=&since=&limit=
//   GET  /api/v1/fhir/DiagnosticReport/{id} | Observation/{id} | ImagingStudy/{id}
//   GET  /api/v1/fhir/DiagnosticReport?study=|patient=
//   GET  /api/v1/followups?state=&patient_id=&issuer=&limit=, /api/v1/followups/{id}
//   POST /api/v1/followups/{id}/close
// The reader is the signed-in user (Request::identity), as for the worklist.
void RegisterReportApi(http::HttpServer& server, reporting::ReportService& service);

// GET /api/v1/studies/{uid}/reports | proposals | report-template, for the study routes'
// chain (worklist_api.h StudyRoutes' `next`); other subpaths: 404.
http::Handler ReportStudyRoutes(reporting::ReportService& service);

}  // namespace radflow::api
