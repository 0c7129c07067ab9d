// The audit trail's REST routes (docs/audit.md), for administrators (the access rules in
// src/access/route_rules.cpp say who may call them):
//   GET /api/v1/audit?user=&event=&patient=&study=&since=&until=&outcome=&limit=&offset=
//       → {"records":[...],"total":N}, newest first
//   GET /api/v1/audit/verify → {"ok","records","first_bad_seq","message"}
//   GET /api/v1/audit/{seq}  → the DICOM audit message (application/xml)
// Reading the log is itself audited (110101 Audit Log Used).
#pragma once

namespace radflow::http {
class HttpServer;
}
namespace radflow::audit {
class AuditTrail;
}

namespace radflow::api {

void RegisterAuditApi(http::HttpServer& http, audit::AuditTrail& trail);

}  // namespace radflow::api
