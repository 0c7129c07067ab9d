// HL7 v2.5.1 ADT / ORM^O01 / OMI^O23 mapping (hl7_orders.h): fields to rows, priorities,
// DTM times, and errors that name segment and field.
#include "orders/hl7_orders.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace radflow::orders {
namespace {

hl7::Message Msg(const std::string& text) {
  auto m = hl7::Parse(text);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? m.value() : hl7::Message{};
}

// IHE RAD-2/RAD-4 style ORM: OBR-18 accession, OBR-19 requested procedure ID, OBR-20 SPS ID,
// OBR-21 station AE, OBR-24 modality, OBR-27 timing, OBR-31 reason.
const char* kOrm =
    "MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|20260310083000+0100||ORM^O01^ORM_O01|MSG0001|P|2.5.1\r"
    "PID|1||MRN123^^^HOSP^MR||Doe^Jane^Q^Jr^Dr||19700401|F|||1 Main St^^Springfield^IL^62701^USA||555-0100\r"
    "PV1|1|O|RAD\r"
    "ORC|NW|PL1001^RIS|FL2002^RAD||SC||^^M45^202603111030+0100^^S|||||1234^House^Gregory^^^Dr\r"
    "OBR|1|PL1001^RIS|FL2002^RAD|CTHEAD^CT head without contrast^L||||||||||||"
    "5678^Cuddy^Lisa^^^Dr||ACC0001|RP0001|SPS0001|CT1|||CT|||^^M45^202603111030+0100^^S||||"
    "^suspected stroke, left weakness\r";

TEST(Hl7Orders, OrmNewOrderMapsEveryField) {
  auto events = ParseOrders(Msg(kOrm));
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 1u);
  const OrderEvent& ev = (*events)[0];
  EXPECT_EQ(ev.control, "NW");
  const storage::OrderRow& o = ev.order;
  EXPECT_EQ(o.placer_order_number, "PL1001");
  EXPECT_EQ(o.filler_order_number, "FL2002");
  EXPECT_EQ(o.accession_number, "ACC0001");
  EXPECT_EQ(o.requested_procedure_id, "RP0001");
  EXPECT_EQ(o.procedure_step_id, "SPS0001");
  EXPECT_EQ(o.station_ae, "CT1");
  EXPECT_EQ(o.patient_id, "MRN123");
  EXPECT_EQ(o.issuer_of_patient_id, "HOSP");
  EXPECT_EQ(o.patient_name, "Doe^Jane^Q^Dr^Jr");  // XPN family^given^middle^suffix^prefix -> PN
  EXPECT_EQ(o.birth_date, "19700401");
  EXPECT_EQ(o.sex, "F");
  EXPECT_EQ(o.procedure_code, "CTHEAD");
  EXPECT_EQ(o.procedure_text, "CT head without contrast");
  EXPECT_EQ(o.procedure_scheme, "L");
  EXPECT_EQ(o.modality, "CT");
  EXPECT_EQ(o.priority, "STAT");
  EXPECT_EQ(o.reason, "suspected stroke, left weakness");
  EXPECT_EQ(o.referring_physician, "Cuddy^Lisa^^Dr");  // OBR-16 wins over ORC-12
  EXPECT_EQ(o.duration_minutes, 45);
  // 2026-03-11 10:30 +01:00 = 09:30 UTC.
  EXPECT_EQ(o.scheduled_at, int64_t{1773221400} * 1000);
  EXPECT_EQ(o.booked_at, int64_t{1773127800} * 1000);  // MSH-7 when ORC-9 is empty
  EXPECT_EQ(o.source, "hl7");
}

TEST(Hl7Orders, OmiUsesTq1AndIpc) {
  const char* omi =
      "MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|20260310083000+0000||OMI^O23^OMI_O23|MSG0002|P|2.5.1\r"
      "PID|1||MRN9^^^HOSP||Roe^Rick||19811111|M\r"
      "ORC|NW|PL9|||||||20260301120000+0000\r"
      "TQ1|1||||||202603120800+0000||A^ASAP^HL70485||||30^min\r"
      "OBR|1|PL9||MRKNEE^MR knee without contrast^L|||||||||||||||||||||||||||^knee pain after twisting injury\r"
      "IPC|ACC9|RP9|1.2.3.4.5|SPS9|MR||MR Scanner 2||MR2\r"
      "IPC|ACC9|RP9|1.2.3.4.5|SPS10|MR||MR Scanner 2||MR2\r";
  auto events = ParseOrders(Msg(omi));
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 1u);
  const auto& o = (*events)[0].order;
  EXPECT_EQ(o.accession_number, "ACC9");
  EXPECT_EQ(o.requested_procedure_id, "RP9");
  EXPECT_EQ(o.study_uid, "1.2.3.4.5");
  EXPECT_EQ(o.procedure_step_id, "SPS9");  // the first IPC: one scheduled step per order
  EXPECT_EQ(o.modality, "MR");
  EXPECT_EQ(o.station_ae, "MR2");
  EXPECT_EQ(o.station_name, "MR Scanner 2");
  EXPECT_EQ(o.priority, "HIGH");
  EXPECT_EQ(o.duration_minutes, 30);
  EXPECT_EQ(o.scheduled_at, int64_t{1773302400} * 1000);
  EXPECT_EQ(o.booked_at, int64_t{1772366400} * 1000);  // ORC-9
  EXPECT_EQ(o.reason, "knee pain after twisting injury");
}

TEST(Hl7Orders, SeveralOrderGroupsAndControls) {
  const char* orm =
      "MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|20260310083000||ORM^O01|M3|P|2.5.1\r"
      "PID|1||MRN1\r"
      "ORC|CA|PL1||||||||||||||^patient declined\r"
      "OBR|1|PL1||XRCHEST^XR chest 2 views\r"
      "ORC|XX|PL2\r"
      "OBR|1|PL2||USABD^US abdomen|R\r"
      "ORC|SC|PL3||ACC3|IP\r";
  auto events = ParseOrders(Msg(orm));
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].control, "CA");
  EXPECT_EQ((*events)[0].control_reason, "patient declined");
  EXPECT_EQ((*events)[1].control, "XO");
  EXPECT_EQ((*events)[1].control_as_sent, "XX");
  EXPECT_EQ((*events)[1].order.priority, "ROUTINE");  // OBR-5
  EXPECT_EQ((*events)[1].order.modality, "US");       // from the procedure text
  EXPECT_EQ((*events)[2].control, "SC");
  EXPECT_EQ((*events)[2].order_status, "IP");
  EXPECT_EQ((*events)[2].order.priority, "");  // a change without a priority keeps the order's
}

TEST(Hl7Orders, ErrorsNameSegmentAndField) {
  struct Case {
    std::string body, where;
  };
  const std::string msh = "MSH|^~\\&|RIS|HOSP|RADFLOW|HOSP|20260310083000||ORM^O01|M4|P|2.5.1\r";
  const std::vector<Case> cases = {
      {"PID|1\rORC|NW|PL1\rOBR|1|PL1||CT^CT head\r", "PID-3"},
      {"PID|1||MRN1\rORC|NW|PL1\rOBR|1|PL1\r", "OBR-4"},
      {"PID|1||MRN1\rORC|ZZ|PL1\rOBR|1|PL1||CT^CT head\r", "ORC-1"},
      {"PID|1||MRN1\rORC|NW\rOBR|1\r", "ORC-2"},
      {"PID|1||MRN1\rORC|NW|PL1\rOBR|1|PL1||CT^CT head|||||||||||||||||||||||^^^2026021x^^R\r", "OBR-27.4"},
      {"PID|1||MRN1\rORC|NW|PL1\rOBR|1|PL1||CT^CT head|||||||||||||||||||||||^^^^^Q\r", "OBR-27.6"},
      {"PID|1||MRN1||||1970\rORC|NW|PL1\rOBR|1|PL1||CT^CT head\r", "PID-7"},
      {"PID|1||MRN1\rOBR|1|PL1||CT^CT head\r", "ORC-1"},
      {"PID|1||MRN1\rORC|SC|PL1\r", "ORC-5"},
      {"PID|1||MRN1\rORC|NW|PL1\rOBR|1|PL1||CT^CT head\rIPC|A|R|not-a-uid\r", "IPC-3"},
      {"PID|1||MRN1\rORC|NW|PL1\rOBR|1|PL1||CT^CT head\rIPC|A2345678901234567\r", "IPC-1"},
  };
  for (const auto& c : cases) {
    auto events = ParseOrders(Msg(msh + c.body));
    ASSERT_FALSE(events.ok()) << c.body;
    EXPECT_EQ(events.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(events.status().message().rfind(c.where + ":", 0), 0u) << events.status().message();
    EXPECT_FALSE(hl7::ErrorLocation(events.status().message()).empty()) << events.status().message();
  }
}

TEST(Hl7Adt, RegisterUpdateAndMerge) {
  auto a04 = ParseAdt(Msg("MSH|^~\\&|ADT|HOSP|RADFLOW|HOSP|20260310||ADT^A04^ADT_A01|M5|P|2.5.1\r"
                          "EVN|A04|20260310\r"
                          "PID|1||MRN5^^^HOSP||Poe^Ed||18090119|M|||||^PRN^PH^^^555^1234567~555-9999\r"));
  ASSERT_TRUE(a04.ok()) << a04.status().ToString();
  EXPECT_EQ(a04->trigger, "A04");
  EXPECT_EQ(a04->patient.patient_id, "MRN5");
  EXPECT_EQ(a04->patient.patient_name, "Poe^Ed");
  auto a31 = ParseAdt(Msg("MSH|^~\\&|ADT|HOSP|||20260310||ADT^A31|M6|P|2.5.1\rPID|1||MRN5\r"));
  ASSERT_TRUE(a31.ok());
  EXPECT_EQ(a31->trigger, "A08");
  auto a40 = ParseAdt(Msg("MSH|^~\\&|ADT|HOSP|||20260310||ADT^A40^ADT_A39|M7|P|2.5.1\r"
                          "PID|1||MRN5^^^HOSP\rMRG|MRN4^^^HOSP\r"));
  ASSERT_TRUE(a40.ok()) << a40.status().ToString();
  EXPECT_EQ(a40->trigger, "A40");
  EXPECT_EQ(a40->merge_from_id, "MRN4");
  EXPECT_EQ(a40->merge_from_issuer, "HOSP");

  auto two = ParseAdt(Msg("MSH|^~\\&|ADT|HOSP|||20260310||ADT^A40^ADT_A39|M7|P|2.5.1\r"
                          "PID|1||MRN5\rMRG|MRN4\rPID|2||MRN7\rMRG|MRN6\r"));
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  ASSERT_EQ(two->merges.size(), 2u);
  EXPECT_EQ(two->merges[1].patient.patient_id, "MRN7");
  EXPECT_EQ(two->merges[1].from_id, "MRN6");
  auto orphan = ParseAdt(Msg("MSH|^~\\&|ADT|HOSP|||20260310||ADT^A40|M7|P|2.5.1\rPID|1||MRN5\rMRG|MRN4\rMRG|MRN3\r"));
  EXPECT_EQ(orphan.status().message().rfind("PID-3:", 0), 0u);
  auto no_mrg = ParseAdt(Msg("MSH|^~\\&|ADT|HOSP|||20260310||ADT^A40|M8|P|2.5.1\rPID|1||MRN5\r"));
  EXPECT_EQ(no_mrg.status().message().rfind("MRG-1:", 0), 0u);
  auto a03 = ParseAdt(Msg("MSH|^~\\&|ADT|HOSP|||20260310||ADT^A03|M9|P|2.5.1\rPID|1||MRN5\r"));
  EXPECT_EQ(a03.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(a03.status().message().rfind("MSH-9.2:", 0), 0u);
}

TEST(Hl7Orders, PriorityTable0027AndDicom) {
  EXPECT_EQ(PriorityFromHl7("S"), "STAT");
  EXPECT_EQ(PriorityFromHl7("A"), "HIGH");
  EXPECT_EQ(PriorityFromHl7("T"), "HIGH");
  EXPECT_EQ(PriorityFromHl7("R"), "ROUTINE");
  EXPECT_EQ(PriorityFromHl7("C"), "ROUTINE");
  EXPECT_EQ(PriorityFromHl7("P"), "MEDIUM");
  EXPECT_EQ(PriorityFromHl7("low"), "LOW");
  EXPECT_EQ(PriorityFromHl7("Q"), "");
}

TEST(Hl7Time, OffsetsAreExactAndLocalTimeWithout) {
  EXPECT_EQ(ParseHl7Time("20260311103000+0100"), int64_t{1773221400} * 1000);
  EXPECT_EQ(ParseHl7Time("20260311093000.25+0000"), int64_t{1773221400} * 1000 + 250);
  EXPECT_EQ(ParseHl7Time("202603110430-0500"), int64_t{1773221400} * 1000);
  EXPECT_EQ(ParseHl7Time("20260311"), ParseHl7Time("202603110000"));
  EXPECT_FALSE(ParseHl7Time("2026031"));
  EXPECT_FALSE(ParseHl7Time("20260231"));  // 31 February
  EXPECT_FALSE(ParseHl7Time("20261301"));
  EXPECT_FALSE(ParseHl7Time("02282020_150014"));
  EXPECT_FALSE(ParseHl7Time("20260311+01"));
  // Without an offset: the hub's local time (the test pins TZ to UTC+2 without DST).
  const char* old = std::getenv("TZ");
  const std::string saved = old ? old : "";
  setenv("TZ", "EET-2", 1);
  tzset();
  EXPECT_EQ(ParseHl7Time("202603111130"), int64_t{1773221400} * 1000);
  if (old) setenv("TZ", saved.c_str(), 1);
  else unsetenv("TZ");
  tzset();
}

}  // namespace
}  // namespace radflow::orders
