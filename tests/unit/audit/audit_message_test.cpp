// The DICOM audit message of every event type: valid against the PS3.15 A.5.1 schema
// (tests/data/audit/audit-message.rng, checked with xmllint), with the codes of the table
// and the participants PS3.15 A.5.2 asks for.
#include "audit/audit_message.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "audit/audit_trail.h"
#include "audit_test_util.h"

namespace radflow::audit {
namespace {

const std::string kSchema = std::string(RADFLOW_SOURCE_DIR) + "/tests/data/audit/audit-message.rng";

// xmllint's verdict on `xml`: "" when valid, else its output.
std::string SchemaErrors(const std::string& xml, const std::string& dir) {
  const std::string file = dir + "/message.xml";
  std::ofstream(file, std::ios::binary | std::ios::trunc) << xml;
  const std::string cmd = "xmllint --noout --relaxng '" + kSchema + "' '" + file + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "cannot run xmllint";
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = pclose(p);
  return rc == 0 ? "" : out;
}

NodeInfo Node() {
  NodeInfo n;
  n.source_id = "RADFLOW_AE";
  n.host = "pacs.example.org";
  n.process_id = "4242";
  return n;
}

bool Contains(const std::string& xml, const std::string& piece) { return xml.find(piece) != std::string::npos; }

TEST(AuditMessage, EveryEventTypeIsValidAgainstThePs315Schema) {
  testing::ScratchDir dir;
  ASSERT_TRUE(std::filesystem::exists(kSchema)) << kSchema;
  int checked = 0;
  for (const EventCodes& codes : EventTable()) {
    for (bool success : {true, false}) {
      for (bool with_objects : {true, false}) {
        AuditEvent e = testing::SampleEvent(std::string(codes.event));
        e.success = success;
        if (!success) e.failure_reason = "permission denied <\"&'>";
        if (!with_objects) {
          e.patient_id.clear();
          e.patient_name.clear();
          e.study_uid.clear();
        }
        const std::string xml = BuildAuditMessage(e, Node());
        EXPECT_EQ(SchemaErrors(xml, dir.path()), "") << codes.event << "\n" << xml;
        EXPECT_EQ(xml.find('\n'), std::string::npos) << "one line";
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, static_cast<int>(EventTable().size()) * 4);
  // An unknown event still gives a valid message (110100 Application Activity).
  AuditEvent odd = testing::SampleEvent("no-such-event");
  const std::string xml = BuildAuditMessage(odd, Node());
  EXPECT_EQ(SchemaErrors(xml, dir.path()), "") << xml;
  EXPECT_TRUE(Contains(xml, "csd-code=\"110100\""));
}

TEST(AuditMessage, TheSchemaCheckRejectsAnInvalidMessage) {
  // The control: the validator is not a no-op. Without AuditSourceIdentification, or with the
  // pre-2011 "code" attribute in place of csd-code, a message is invalid.
  testing::ScratchDir dir;
  std::string xml = BuildAuditMessage(testing::SampleEvent("view"), Node());
  ASSERT_EQ(SchemaErrors(xml, dir.path()), "");
  const auto a = xml.find("<AuditSourceIdentification");
  const auto b = xml.find("</AuditSourceIdentification>");
  ASSERT_NE(b, std::string::npos);
  std::string no_source = xml;
  no_source.erase(a, b + std::string("</AuditSourceIdentification>").size() - a);
  EXPECT_NE(SchemaErrors(no_source, dir.path()), "");
  std::string old_code = xml;
  old_code.replace(old_code.find("csd-code="), 9, "code=");
  EXPECT_NE(SchemaErrors(old_code, dir.path()), "");
}

TEST(AuditMessage, EachEventHasItsDicomCodes) {
  struct Want {
    const char* event;
    const char* id;
    const char* action;
    const char* type;
  };
  for (const Want& w : {Want{"login", "110114", "E", "110122"}, Want{"logout", "110114", "E", "110123"},
                        Want{"login-failed", "110114", "E", "110122"}, Want{"query", "110112", "E", ""},
                        Want{"retrieve", "110104", "R", ""}, Want{"view", "110103", "R", ""},
                        Want{"store", "110104", "C", ""}, Want{"export", "110106", "R", ""},
                        Want{"report-signed", "110111", "C", ""}, Want{"report-changed", "110111", "U", ""},
                        Want{"app-changed", "110113", "E", "110131"}, Want{"user-changed", "110113", "E", "110137"},
                        Want{"security-config", "110113", "E", "110129"}, Want{"deid", "110106", "R", ""},
                        Want{"import", "110107", "C", ""}, Want{"audit-log-used", "110101", "R", ""}}) {
    const EventCodes& c = CodesFor(w.event);
    EXPECT_EQ(c.event_id, w.id) << w.event;
    EXPECT_EQ(c.action, w.action) << w.event;
    EXPECT_EQ(c.type_code, w.type) << w.event;
    const std::string xml = BuildAuditMessage(testing::SampleEvent(w.event), Node());
    EXPECT_TRUE(Contains(xml, "<EventID csd-code=\"" + std::string(w.id) + "\" codeSystemName=\"DCM\"")) << xml;
    EXPECT_TRUE(Contains(xml, "EventActionCode=\"" + std::string(w.action) + "\"")) << xml;
    if (*w.type) {
      EXPECT_TRUE(Contains(xml, "<EventTypeCode csd-code=\"" + std::string(w.type) + "\"")) << xml;
    }
  }
}

TEST(AuditMessage, ParticipantsNameTheUserRoleSourcePatientAndStudy) {
  AuditEvent e = testing::SampleEvent("retrieve", 7);
  const std::string xml = BuildAuditMessage(e, Node());
  // The requestor: user, role, source address (type 2: IP); the destination of a retrieve.
  EXPECT_TRUE(Contains(xml, "<ActiveParticipant UserID=\"alice\" UserName=\"alice\" UserIsRequestor=\"true\" "
                            "NetworkAccessPointID=\"10.1.2.3\" NetworkAccessPointTypeCode=\"2\">"))
      << xml;
  EXPECT_TRUE(Contains(xml, "csd-code=\"110152\" codeSystemName=\"DCM\" originalText=\"Destination Role ID\""));
  EXPECT_TRUE(Contains(xml, "<RoleIDCode csd-code=\"radiologist\" codeSystemName=\"99RADFLOW\""));
  // radflow: the source, named by its AE title and host (type 1: machine name).
  EXPECT_TRUE(Contains(xml, "UserID=\"RADFLOW_AE\" AlternativeUserID=\"4242\" UserIsRequestor=\"false\" "
                            "NetworkAccessPointID=\"pacs.example.org\" NetworkAccessPointTypeCode=\"1\""))
      << xml;
  EXPECT_TRUE(Contains(xml, "<AuditSourceIdentification AuditSourceID=\"RADFLOW_AE\"><AuditSourceTypeCode csd-code=\"3\"/>"));
  // The patient (TypeCode 1, role 1, ID type 2 Patient Number) and the study (2, 3, 110180).
  EXPECT_TRUE(Contains(xml, "ParticipantObjectID=\"PAT1\" ParticipantObjectTypeCode=\"1\" "
                            "ParticipantObjectTypeCodeRole=\"1\"><ParticipantObjectIDTypeCode csd-code=\"2\" "
                            "codeSystemName=\"RFC-3881\" originalText=\"Patient Number\"/>"
                            "<ParticipantObjectName>Doe^Jane1</ParticipantObjectName>"))
      << xml;
  EXPECT_TRUE(Contains(xml, "ParticipantObjectID=\"" + e.study_uid +
                                "\" ParticipantObjectTypeCode=\"2\" ParticipantObjectTypeCodeRole=\"3\">"
                                "<ParticipantObjectIDTypeCode csd-code=\"110180\" codeSystemName=\"DCM\" "
                                "originalText=\"Study Instance UID\"/>"))
      << xml;
  EXPECT_TRUE(Contains(xml, "EventDateTime=\"" + FormatTime(e.at_ms) + "\""));

  // A DIMSE source "AE@IP": the address part is the access point.
  AuditEvent d = testing::SampleEvent("store");
  d.source = "MODALITY1@192.168.7.9";
  d.interface = "dimse";
  const std::string dx = BuildAuditMessage(d, Node());
  EXPECT_TRUE(Contains(dx, "NetworkAccessPointID=\"192.168.7.9\" NetworkAccessPointTypeCode=\"2\"")) << dx;
  EXPECT_TRUE(Contains(dx, "<AuditSourceTypeCode csd-code=\"4\"/>")) << dx;
}

TEST(AuditMessage, OutcomeAndItsDescription) {
  AuditEvent ok = testing::SampleEvent("login");
  EXPECT_EQ(OutcomeOf(ok), 0);
  EXPECT_TRUE(Contains(BuildAuditMessage(ok, Node()), "EventOutcomeIndicator=\"0\""));
  EXPECT_FALSE(Contains(BuildAuditMessage(ok, Node()), "EventOutcomeDescription"));

  AuditEvent bad = testing::SampleEvent("login-failed");
  bad.success = true;  // the event name alone says it failed
  bad.failure_reason = "invalid user name or password";
  EXPECT_EQ(OutcomeOf(bad), 4);
  const std::string xml = BuildAuditMessage(bad, Node());
  EXPECT_TRUE(Contains(xml, "EventOutcomeIndicator=\"4\"")) << xml;
  EXPECT_TRUE(Contains(xml, "<EventOutcomeDescription>invalid user name or password</EventOutcomeDescription>"));

  AuditEvent alert = testing::SampleEvent("security-alert");
  alert.success = false;
  EXPECT_EQ(OutcomeOf(alert), 8);
}

TEST(AuditMessage, QueryCarriesTheRequestAsBase64) {
  AuditEvent q = testing::SampleEvent("query");
  q.patient_id.clear();
  q.study_uid.clear();
  q.detail = "GET /dicom-web/studies?PatientName=Doe*";
  const std::string xml = BuildAuditMessage(q, Node());
  EXPECT_TRUE(Contains(xml, "ParticipantObjectID=\"1.2.840.10008.5.1.4.1.2.2.1\" ParticipantObjectTypeCode=\"2\" "
                            "ParticipantObjectTypeCodeRole=\"24\""))
      << xml;
  EXPECT_TRUE(Contains(xml, "<ParticipantObjectQuery>" + Base64(q.detail) + "</ParticipantObjectQuery>")) << xml;
}

TEST(AuditMessage, HostileTextStaysOneValidLine) {
  testing::ScratchDir dir;
  AuditEvent e = testing::SampleEvent("login-failed");
  e.user = "x\"><Injected/>\n\r\t\x01\xff\xfe end";
  e.failure_reason = "line1\nline2 </EventOutcomeDescription>";
  e.patient_name = std::string("\xc3\xa9l\xc3\xa8ve \xe2\x82\xac \xf0\x9f\x98\x80 \xc3");  // UTF-8, then a torn sequence
  const std::string xml = BuildAuditMessage(e, Node());
  EXPECT_EQ(xml.find('\n'), std::string::npos);
  EXPECT_FALSE(Contains(xml, "<Injected/>"));
  EXPECT_EQ(SchemaErrors(xml, dir.path()), "") << xml;
  EXPECT_EQ(CleanText("a\nb\x01" "c\xff"), "a b c?");
  EXPECT_EQ(CleanText("\xc3\xa9t\xc3\xa9", 3), "\xc3\xa9t");  // never cuts a character
}

TEST(AuditTime, FormatAndParse) {
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(1796000000123), "2026-11-30T00:53:20.123Z");
  auto t = ParseTime("2026-11-30T00:53:20.123Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value(), 1796000000123);
  EXPECT_EQ(ParseTime("2026-11-30").value(), 1796000000000 - (53 * 60 + 20) * 1000);
  EXPECT_EQ(ParseTime("1796000000123").value(), 1796000000123);
  EXPECT_EQ(ParseTime("2026-11-30T00:53Z").value(), 1796000000000 - 20 * 1000);
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-11-29T25:00:00Z", "2026-11-30T00:53:20+01:00", "-5"}) {
    auto r = ParseTime(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace radflow::audit
