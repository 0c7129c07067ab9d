// One auditable event (docs/audit.md): who did what to whose data, from where, with what
// outcome. Header-only so that every module can report events without depending on the
// audit module; the audit module turns it into a DICOM audit message (PS3.15 A.5).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace radflow::audit {

struct AuditEvent {
  // login | logout | login-failed | locked-out | query | retrieve | view | store | export |
  // report-signed | report-changed | app-changed | user-changed | token-changed |
  // security-config | association | security-alert | deid
  std::string event;
  bool success = true;
  std::string failure_reason;
  std::string user, role, source;  // source: the peer's IP address (or AE title@IP for DIMSE)
  std::string patient_id, patient_name, study_uid;
  std::string detail;     // route or operation, e.g. "GET /dicom-web/studies/1.2.3/series"
  std::string interface;  // http | dimse | cli
  int64_t at_ms = 0;      // 0: now
};

using AuditSink = std::function<void(const AuditEvent&)>;

}  // namespace radflow::audit
