#include "audit/audit_message.h"

#include <arpa/inet.h>
#include <libxml/xmlwriter.h>

#include <mutex>
#include <set>

#include "audit/audit_trail.h"
#include "crypto/crypto.h"
#include "base/log.h"

namespace radflow::audit {

namespace {

using S = MessageShape;

// PS3.16 CID 400 (Audit Event ID), CID 401 (Audit Event Type Code: 110122/110123 in
// CID 402 User Authentication, 110126.. in CID 403 Security Alert Type), PS3.15 A.5.3.
const std::vector<EventCodes> kTable = {
    {"login", "110114", "User Authentication", "E", "110122", "Login"},
    {"logout", "110114", "User Authentication", "E", "110123", "Logout"},
    {"login-failed", "110114", "User Authentication", "E", "110122", "Login"},
    {"locked-out", "110113", "Security Alert", "E", "110137", "User Security Attributes Changed"},
    {"query", "110112", "Query", "E", "", "", S::kQuery},
    {"retrieve", "110104", "DICOM Instances Transferred", "R", "", "", S::kTransferOut},
    {"view", "110103", "DICOM Instances Accessed", "R", "", ""},
    {"store", "110104", "DICOM Instances Transferred", "C", "", "", S::kTransferIn},
    {"export", "110106", "Export", "R", "", "", S::kPlain, 4, 10},
    {"report-signed", "110111", "Procedure Record", "C", "", ""},
    {"report-changed", "110111", "Procedure Record", "U", "", ""},
    {"app-changed", "110113", "Security Alert", "E", "110131", "Software Configuration"},
    {"user-changed", "110113", "Security Alert", "E", "110137", "User Security Attributes Changed"},
    {"token-changed", "110113", "Security Alert", "E", "110137", "User Security Attributes Changed"},
    {"security-config", "110113", "Security Alert", "E", "110129", "Security Configuration"},
    {"association", "110113", "Security Alert", "E", "110126", "Node Authentication"},
    {"security-alert", "110113", "Security Alert", "E", "", "", S::kPlain, 8},
    {"deid", "110106", "Export", "R", "", "", S::kPlain, 4, 7},
    // Beyond audit_event.h's list: events radflow's own parts report.
    {"import", "110107", "Import", "C", "", "", S::kTransferIn},
    {"audit-log-used", "110101", "Audit Log Used", "R", "", ""},
    {"application-start", "110100", "Application Activity", "E", "110120", "Application Start"},
    {"application-stop", "110100", "Application Activity", "E", "110121", "Application Stop"},
    {"patient-record", "110110", "Patient Record", "R", "", ""},
};

const EventCodes kUnknown = {"", "110100", "Application Activity", "E", "", ""};

// The DICOM Study Root Query/Retrieve Information Model - FIND SOP Class (PS3.4 C.6.2):
// the query object of C-FIND and of QIDO-RS (its web equivalent).
constexpr const char* kStudyRootFind = "1.2.840.10008.5.1.4.1.2.2.1";
constexpr const char* kRolesScheme = "99RADFLOW";  // local coding scheme of radflow's roles

bool IsIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// "AE@10.0.0.1" (DIMSE) → "10.0.0.1"; an address alone stays as it is.
std::string HostOf(const std::string& source) {
  auto at = source.rfind('@');
  return at == std::string::npos ? source : source.substr(at + 1);
}

class Writer {
 public:
  Writer() : buf_(xmlBufferCreate()), w_(xmlNewTextWriterMemory(buf_, 0)) {}
  ~Writer() {
    if (w_) xmlFreeTextWriter(w_);
    xmlBufferFree(buf_);
  }
  void Start(const char* name) { xmlTextWriterStartElement(w_, X(name)); }
  void End() { xmlTextWriterEndElement(w_); }
  void Attr(const char* name, const std::string& value) {
    const std::string v = CleanText(value);
    xmlTextWriterWriteAttribute(w_, X(name), X(v.c_str()));
  }
  void Text(const std::string& value) {
    const std::string v = CleanText(value);
    xmlTextWriterWriteString(w_, X(v.c_str()));
  }
  // A CodedValueType element (PS3.15 A.5.1.1): csd-code, codeSystemName, originalText.
  void Code(const char* element, std::string_view code, std::string_view scheme, std::string_view meaning) {
    Start(element);
    Attr("csd-code", std::string(code));
    Attr("codeSystemName", std::string(scheme));
    Attr("originalText", std::string(meaning));
    End();
  }
  std::string Finish() {
    xmlTextWriterFlush(w_);
    std::string out(reinterpret_cast<const char*>(xmlBufferContent(buf_)),
                    static_cast<size_t>(xmlBufferLength(buf_)));
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }

 private:
  static const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }
  xmlBufferPtr buf_;
  xmlTextWriterPtr w_;
};

}  // namespace

const std::vector<EventCodes>& EventTable() { return kTable; }

const EventCodes& CodesFor(std::string_view event) {
  for (const auto& row : kTable) {
    if (row.event == event) return row;
  }
  static std::mutex mu;
  static std::set<std::string, std::less<>> warned;
  std::lock_guard lock(mu);
  if (warned.insert(std::string(event)).second) {
    log::Warn("audit: unknown event '" + std::string(event) + "' recorded as 110100 Application Activity");
  }
  return kUnknown;
}

int OutcomeOf(const AuditEvent& event) {
  const EventCodes& codes = CodesFor(event.event);
  if (event.event == "login-failed" || !event.success) return codes.failure_outcome;
  return 0;
}

std::string CleanText(std::string_view in, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(in.size(), max_bytes));
  size_t i = 0;
  while (i < in.size() && out.size() < max_bytes) {
    const auto c = static_cast<unsigned char>(in[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = n > 0 && i + n <= in.size();
    for (size_t k = 1; valid && k < n; ++k) valid = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    if (valid && n == 2 && c < 0xC2) valid = false;  // overlong
    if (!valid) {
      out += '?';
      ++i;
      continue;
    }
    if (n == 1) {
      out += (c < 0x20 || c == 0x7F) ? ' ' : static_cast<char>(c);
    } else if (out.size() + n <= max_bytes) {
      out.append(in.substr(i, n));
    } else {
      break;
    }
    i += n;
  }
  return out;
}

std::string BuildAuditMessage(const AuditEvent& e, const NodeInfo& node) {
  const EventCodes& codes = CodesFor(e.event);
  const int outcome = OutcomeOf(e);
  Writer w;
  w.Start("AuditMessage");

  // A.5.3 EventIdentification.
  w.Start("EventIdentification");
  w.Attr("EventActionCode", std::string(codes.action));
  w.Attr("EventDateTime", FormatTime(e.at_ms));
  w.Attr("EventOutcomeIndicator", std::to_string(outcome));
  w.Code("EventID", codes.event_id, "DCM", codes.event_name);
  if (!codes.type_code.empty()) w.Code("EventTypeCode", codes.type_code, "DCM", codes.type_name);
  if (outcome != 0) {
    w.Start("EventOutcomeDescription");
    w.Text(e.failure_reason.empty() ? "failed" : e.failure_reason);
    w.End();
  }
  w.End();

  const bool out = codes.shape == S::kTransferOut, in = codes.shape == S::kTransferIn;
  // The person or system that asked (A.5.2.2 Active Participant).
  w.Start("ActiveParticipant");
  const std::string host = HostOf(e.source);
  w.Attr("UserID", !e.user.empty() ? e.user : !e.source.empty() ? e.source : "unknown");
  if (!e.user.empty()) w.Attr("UserName", e.user);
  w.Attr("UserIsRequestor", "true");
  if (!host.empty()) {
    w.Attr("NetworkAccessPointID", host);
    w.Attr("NetworkAccessPointTypeCode", IsIpAddress(host) ? "2" : "1");
  }
  if (out) w.Code("RoleIDCode", "110152", "DCM", "Destination Role ID");
  if (in) w.Code("RoleIDCode", "110153", "DCM", "Source Role ID");
  if (!e.role.empty()) w.Code("RoleIDCode", e.role, kRolesScheme, e.role);
  w.End();

  // radflow itself.
  w.Start("ActiveParticipant");
  w.Attr("UserID", node.source_id);
  if (!node.process_id.empty()) w.Attr("AlternativeUserID", node.process_id);
  w.Attr("UserIsRequestor", "false");
  if (!node.host.empty()) {
    w.Attr("NetworkAccessPointID", node.host);
    w.Attr("NetworkAccessPointTypeCode", IsIpAddress(node.host) ? "2" : "1");
  }
  if (out) {
    w.Code("RoleIDCode", "110153", "DCM", "Source Role ID");
  } else if (in) {
    w.Code("RoleIDCode", "110152", "DCM", "Destination Role ID");
  } else {
    w.Code("RoleIDCode", "110150", "DCM", "Application");
  }
  w.End();

  // A.5.2.3 Audit Source: 3 web server (HTTP), 4 application server (DIMSE, CLI).
  w.Start("AuditSourceIdentification");
  w.Attr("AuditSourceID", node.source_id);
  w.Start("AuditSourceTypeCode");
  w.Attr("csd-code", e.interface == "http" ? "3" : "4");
  w.End();
  w.End();

  // Participant objects: the query, the study, the patient; the request (detail) rides on
  // the first of them, or is an object of its own (RFC 3881 ID type 12, URI).
  bool detail_written = false;
  auto detail = [&] {
    if (detail_written || e.detail.empty()) return;
    w.Start("ParticipantObjectDetail");
    w.Attr("type", "request");
    w.Attr("value", crypto::Base64(CleanText(e.detail)));
    w.End();
    detail_written = true;
  };
  if (codes.shape == S::kQuery) {
    w.Start("ParticipantObjectIdentification");
    w.Attr("ParticipantObjectID", kStudyRootFind);
    w.Attr("ParticipantObjectTypeCode", "2");
    w.Attr("ParticipantObjectTypeCodeRole", "24");
    w.Code("ParticipantObjectIDTypeCode", "110181", "DCM", "SOP Class UID");
    w.Start("ParticipantObjectQuery");
    w.Text(crypto::Base64(CleanText(e.detail)));
    w.End();
    w.End();
    detail_written = true;
  }
  if (!e.study_uid.empty()) {
    w.Start("ParticipantObjectIdentification");
    w.Attr("ParticipantObjectID", e.study_uid);
    w.Attr("ParticipantObjectTypeCode", "2");
    w.Attr("ParticipantObjectTypeCodeRole", "3");
    if (codes.data_life_cycle) w.Attr("ParticipantObjectDataLifeCycle", std::to_string(codes.data_life_cycle));
    w.Code("ParticipantObjectIDTypeCode", "110180", "DCM", "Study Instance UID");
    w.Start("ParticipantObjectName");  // the schema requires a name or a query
    w.Text(e.study_uid);
    w.End();
    detail();
    w.End();
  }
  if (!e.patient_id.empty()) {
    w.Start("ParticipantObjectIdentification");
    w.Attr("ParticipantObjectID", e.patient_id);
    w.Attr("ParticipantObjectTypeCode", "1");
    w.Attr("ParticipantObjectTypeCodeRole", "1");
    w.Code("ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number");
    w.Start("ParticipantObjectName");
    w.Text(e.patient_name);
    w.End();
    detail();
    w.End();
  }
  if (!detail_written && !e.detail.empty()) {
    const bool security = codes.event_id == "110113" || codes.event_id == "110114";
    w.Start("ParticipantObjectIdentification");
    w.Attr("ParticipantObjectID", CleanText(e.detail, 256));
    w.Attr("ParticipantObjectTypeCode", "2");
    w.Attr("ParticipantObjectTypeCodeRole", security ? "13" : "4");  // Security Resource | Resource
    w.Code("ParticipantObjectIDTypeCode", "12", "RFC-3881", "URI");
    w.Start("ParticipantObjectName");
    w.Text(e.detail);
    w.End();
    w.End();
  }
  w.End();  // AuditMessage
  return w.Finish();
}

}  // namespace radflow::audit
