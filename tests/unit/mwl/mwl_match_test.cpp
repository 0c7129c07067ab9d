// Modality Worklist matching (PS3.4 C.2.2.2, K.6.1.2): wildcards, ranges, multi-valued
// attributes, step status, local time (tests run with TZ=UTC).
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "orders/mwl_match.h"

namespace radflow::orders {
namespace {

class MwlMatch : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    o.patient_id = "AV35674";
    o.patient_name = "VIVALDI^ANTONIO";
    o.accession_number = "00000";
    o.requested_procedure_id = "RP454G234";
    o.study_uid = "1.2.276.0.7230010.3.2.101";
    o.modality = "MR";
    o.station_ae = "AA32\\AA33";
    o.procedure_step_id = "SPD3445";
    o.priority = "LOW";
    o.sex = "M";
    o.birth_date = "16780304";
    o.scheduled_at = FromLocalDicom("19951015", "085607");
  }
  storage::OrderRow o;
};

TEST(Wildcard, StarAndQuestionMark) {
  EXPECT_TRUE(WildcardMatch("VIV*", "VIVALDI^ANTONIO"));
  EXPECT_TRUE(WildcardMatch("*ANTONIO", "VIVALDI^ANTONIO"));
  EXPECT_TRUE(WildcardMatch("V?VALDI*", "VIVALDI^ANTONIO"));
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(WildcardMatch("a*b*c", "axxbyy"));
  EXPECT_FALSE(WildcardMatch("VIV", "VIVALDI"));
  EXPECT_FALSE(WildcardMatch("viv*", "VIVALDI"));
  EXPECT_TRUE(WildcardMatch("viv*", "VIVALDI", /*pn=*/true));
  EXPECT_FALSE(WildcardMatch("?", ""));
}

TEST(Ranges, Dates) {
  EXPECT_TRUE(DateMatch("19951015", "19951015"));
  EXPECT_FALSE(DateMatch("19951016", "19951015"));
  EXPECT_TRUE(DateMatch("19950101-19951231", "19951015"));
  EXPECT_TRUE(DateMatch("-19951015", "19951015"));
  EXPECT_TRUE(DateMatch("19951015-", "19951015"));
  EXPECT_FALSE(DateMatch("19951016-", "19951015"));
  EXPECT_TRUE(DateMatch("1995.10.15", "19951015"));  // ACR-NEMA form
  EXPECT_FALSE(DateMatch("19951015", ""));           // no value: no match
  EXPECT_FALSE(DateMatch("-", "19951015"));
}

TEST(Ranges, TimesPartialAndFractions) {
  EXPECT_TRUE(TimeMatch("120000-", "175609"));
  EXPECT_FALSE(TimeMatch("120000-", "085607"));
  EXPECT_TRUE(TimeMatch("-12", "125959"));  // a partial upper bound covers its hour
  EXPECT_FALSE(TimeMatch("-12", "130000"));
  EXPECT_TRUE(TimeMatch("0856", "085607"));
  EXPECT_TRUE(TimeMatch("085607.000-085608", "085607.5"));
  EXPECT_TRUE(TimeMatch("08:56:07", "085607"));
}

TEST(Validate, NamesTheAttribute) {
  WorklistQuery q;
  EXPECT_TRUE(ValidateQuery(q).ok());
  q.start_date = "1995x";
  Status st = ValidateQuery(q);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(st.message().find("(0040,0002)"), std::string::npos) << st.message();
  q.start_date = "19950101-19951231";
  q.start_time = "25-ab";
  st = ValidateQuery(q);
  EXPECT_NE(st.message().find("(0040,0003)"), std::string::npos) << st.message();
  q.start_time = "120000-";
  EXPECT_TRUE(ValidateQuery(q).ok());
}

TEST_F(MwlMatch, UniversalQueryMatches) { EXPECT_TRUE(Matches(WorklistQuery{}, o)); }

TEST_F(MwlMatch, MultiValuedStationAe) {
  WorklistQuery q;
  q.station_ae = "AA32";
  EXPECT_TRUE(Matches(q, o));
  q.station_ae = "AA33";
  EXPECT_TRUE(Matches(q, o));
  q.station_ae = "AA3";
  EXPECT_FALSE(Matches(q, o));
  q.station_ae = "AA3*";
  EXPECT_TRUE(Matches(q, o));
}

TEST_F(MwlMatch, EachKey) {
  auto with = [&](auto set) {
    WorklistQuery q;
    set(q);
    return Matches(q, o);
  };
  EXPECT_TRUE(with([](WorklistQuery& q) { q.modality = "MR"; }));
  EXPECT_FALSE(with([](WorklistQuery& q) { q.modality = "CT"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.start_date = "19951001-19951031"; }));
  EXPECT_FALSE(with([](WorklistQuery& q) { q.start_date = "19960101-"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.start_time = "080000-090000"; }));
  EXPECT_FALSE(with([](WorklistQuery& q) { q.start_time = "120000-"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.patient_name = "vivaldi*"; }));  // PN: any case
  EXPECT_FALSE(with([](WorklistQuery& q) { q.patient_name = "MOZART*"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.patient_id = "AV35674"; }));
  EXPECT_FALSE(with([](WorklistQuery& q) { q.patient_id = "av35674"; }));  // LO: exact case
  EXPECT_TRUE(with([](WorklistQuery& q) { q.accession_number = "0000?"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.requested_procedure_id = "RP454G234"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.step_id = "SPD*"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.study_uid = "1.2.3\\1.2.276.0.7230010.3.2.101"; }));
  EXPECT_FALSE(with([](WorklistQuery& q) { q.study_uid = "1.2.276.0.7230010.3.2.10"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.priority = "LOW"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.patient_sex = "M"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.birth_date = "16000101-16991231"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.step_status = "SCHEDULED"; }));
  EXPECT_FALSE(with([](WorklistQuery& q) { q.step_status = "STARTED"; }));
  // No referring physician and no performing physician: a key with a value does not match,
  // "*" does (universal).
  EXPECT_FALSE(with([](WorklistQuery& q) { q.referring_physician = "SMITH"; }));
  EXPECT_TRUE(with([](WorklistQuery& q) { q.referring_physician = "*"; }));
  EXPECT_FALSE(with([](WorklistQuery& q) { q.performing_physician = "JOHNSON"; }));
}

TEST_F(MwlMatch, PerformingPhysicianFromImportedAttributes) {
  o.worklist_json =
      R"({"00400100":{"vr":"SQ","Value":[{"00400006":{"vr":"PN","Value":[{"Alphabetic":"JOHNSON"}]}}]}})";
  WorklistQuery q;
  q.performing_physician = "JOHN*";
  EXPECT_TRUE(Matches(q, o));
  q.performing_physician = "ROSS";
  EXPECT_FALSE(Matches(q, o));
}

TEST_F(MwlMatch, UnscheduledOrderHasNoDate) {
  o.scheduled_at = 0;
  WorklistQuery q;
  q.start_date = "19000101-";
  EXPECT_FALSE(Matches(q, o));
}

TEST(StepStatus, DefinedTerms) {
  EXPECT_EQ(StepStatusOf("scheduled"), "SCHEDULED");
  EXPECT_EQ(StepStatusOf("arrived"), "ARRIVED");
  EXPECT_EQ(StepStatusOf("in_progress"), "STARTED");
  EXPECT_EQ(StepStatusOf("completed"), "COMPLETED");
  EXPECT_EQ(StepStatusOf("discontinued"), "DISCONTINUED");
  EXPECT_EQ(StepStatusOf("cancelled"), "CANCELED");
  EXPECT_EQ(StepStatusOf("no_show"), "");
}

TEST(LocalTime, RoundTripInUtcAndOtherZone) {
  setenv("TZ", "UTC", 1);
  tzset();
  int64_t ms = FromLocalDicom("19951015", "085607");
  EXPECT_EQ(ms, 813747367000LL);
  EXPECT_EQ(LocalDicomDate(ms), "19951015");
  EXPECT_EQ(LocalDicomTime(ms), "085607");
  EXPECT_EQ(FromLocalDicom("16780304", ""), FromLocalDicom("16780304", "000000"));
  EXPECT_EQ(FromLocalDicom("1995101", "0856"), -1);
  EXPECT_EQ(FromLocalDicom("19951015", "0856x"), -1);
  EXPECT_EQ(FromLocalDicom("19951315", "085607"), -1);
  setenv("TZ", "Europe/Berlin", 1);
  tzset();
  // 1995-10-15 was after the end of summer time in the EU that year (24 September): CET, UTC+1.
  const int64_t berlin = FromLocalDicom("19951015", "085607");
  EXPECT_EQ(ms - berlin, 3600 * 1000LL);
  EXPECT_EQ(LocalDicomTime(berlin), "085607");
  const int64_t july = FromLocalDicom("19950715", "120000");
  EXPECT_EQ(LocalDicomTime(july), "120000");
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(LocalDicomTime(july), "100000");  // CEST, UTC+2
  setenv("TZ", "UTC", 1);
  tzset();
}

}  // namespace
}  // namespace radflow::orders
