// FHIR R4 ServiceRequest <-> order (orders/fhir_service_request.h): the fields of the mapping
// table in docs/orders.md, both ways, and the errors naming the JSON path.
#include "orders/fhir_service_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace radflow::orders {
namespace {

using nlohmann::json;

json Example() {
  return json::parse(R"({
    "resourceType": "ServiceRequest",
    "contained": [{"resourceType": "Patient", "id": "p1",
                   "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN77", "assigner": {"display": "HOSP"}}],
                   "name": [{"family": "Doe", "given": ["Jane", "Q"]}],
                   "birthDate": "1970-04-01", "gender": "female"},
                  {"resourceType": "Practitioner", "id": "dr", "name": [{"family": "House", "given": ["Greg"]}]}],
    "identifier": [
      {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PLAC"}]}, "value": "PL-1"},
      {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]}, "value": "ACC-1"}],
    "status": "active",
    "intent": "order",
    "priority": "stat",
    "code": {"coding": [{"system": "http://loinc.org", "code": "30799-1", "display": "CT Head WO contrast"},
                        {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}],
             "text": "CT head without contrast"},
    "subject": {"reference": "#p1"},
    "requester": {"reference": "#dr"},
    "reasonCode": [{"text": "suspected stroke"}],
    "reasonReference": [{"display": "left arm weakness"}],
    "occurrencePeriod": {"start": "2026-03-11T10:30:00+01:00", "end": "2026-03-11T10:45:00+01:00"},
    "authoredOn": "2026-03-10T08:00:00Z",
    "locationCode": [{"coding": [{"code": "CT1"}], "text": "CT scanner 1"}]
  })");
}

TEST(FhirServiceRequest, ReadsEveryMappedField) {
  auto in = ParseServiceRequest(Example().dump());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  const auto& o = in->order;
  EXPECT_EQ(in->fhir_status, "active");
  EXPECT_EQ(o.placer_order_number, "PL-1");
  EXPECT_EQ(o.accession_number, "ACC-1");
  EXPECT_EQ(o.patient_id, "MRN77");
  EXPECT_EQ(o.issuer_of_patient_id, "HOSP");
  EXPECT_EQ(o.patient_name, "Doe^Jane^Q");
  EXPECT_EQ(o.birth_date, "19700401");
  EXPECT_EQ(o.sex, "F");
  EXPECT_EQ(o.procedure_code, "30799-1");
  EXPECT_EQ(o.procedure_scheme, "LN");
  EXPECT_EQ(o.procedure_text, "CT head without contrast");
  EXPECT_EQ(o.modality, "CT");
  EXPECT_EQ(o.priority, "STAT");
  EXPECT_EQ(o.referring_physician, "House^Greg");
  EXPECT_EQ(o.reason, "suspected stroke; left arm weakness");
  EXPECT_EQ(o.scheduled_at, 1773221400000);  // 2026-03-11T09:30:00Z
  EXPECT_EQ(o.duration_minutes, 15);
  EXPECT_EQ(o.booked_at, 1773129600000);     // 2026-03-10T08:00:00Z
  EXPECT_EQ(o.station_ae, "CT1");
  EXPECT_EQ(o.station_name, "CT scanner 1");
  EXPECT_EQ(o.source, "fhir");
}

TEST(FhirServiceRequest, WritesWhatItReads) {
  auto in = ParseServiceRequest(Example().dump());
  ASSERT_TRUE(in.ok());
  storage::OrderRow o = in->order;
  o.id = 12;
  o.status = "scheduled";
  o.study_uid = "1.2.826.0.1.3680043.10.1170.12.1";
  const json out = json::parse(ServiceRequestJson(o));
  EXPECT_EQ(out["id"], "order-12");
  EXPECT_EQ(out["status"], "active");
  EXPECT_EQ(out["intent"], "order");
  EXPECT_EQ(out["priority"], "stat");
  EXPECT_EQ(out["occurrencePeriod"]["start"], "2026-03-11T09:30:00Z");
  EXPECT_EQ(out["occurrencePeriod"]["end"], "2026-03-11T09:45:00Z");
  EXPECT_EQ(out["contained"][0]["birthDate"], "1970-04-01");
  // Round trip: reading the written resource gives the same order fields.
  auto again = ParseServiceRequest(out.dump());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  storage::OrderRow back = again->order;
  back.id = o.id;
  back.status = o.status;
  back.study_uid = o.study_uid;
  EXPECT_EQ(back, o);
  EXPECT_EQ(out["supportingInfo"][0]["identifier"]["value"], "urn:oid:1.2.826.0.1.3680043.10.1170.12.1");
}

TEST(FhirServiceRequest, StatusAndPriorityMaps) {
  EXPECT_EQ(FhirStatusOf("scheduled"), "active");
  EXPECT_EQ(FhirStatusOf("in_progress"), "active");
  EXPECT_EQ(FhirStatusOf("completed"), "completed");
  EXPECT_EQ(FhirStatusOf("cancelled"), "revoked");
  EXPECT_EQ(FhirStatusOf("no_show"), "revoked");
  EXPECT_EQ(*PriorityOfFhir("urgent"), "HIGH");
  EXPECT_EQ(*PriorityOfFhir("asap"), "HIGH");
  EXPECT_EQ(*PriorityOfFhir(""), "ROUTINE");
  EXPECT_FALSE(PriorityOfFhir("soon").ok());
  EXPECT_EQ(FhirOfPriority("HIGH"), "urgent");
  EXPECT_EQ(FhirOfPriority("MEDIUM"), "routine");
}

TEST(FhirServiceRequest, DateTimes) {
  EXPECT_EQ(*ParseFhirDateTime("2026-03-11T09:30:00Z"), 1773221400000);
  EXPECT_EQ(*ParseFhirDateTime("2026-03-11T09:30:00.250Z"), 1773221400250);
  EXPECT_EQ(*ParseFhirDateTime("2026-03-11T04:30:00-05:00"), 1773221400000);
  EXPECT_EQ(*ParseFhirDateTime("2026-03-11T09:30Z"), 1773221400000);
  for (const char* bad : {"2026-02-30", "2026-03-11T25:00:00Z", "11.03.2026", "2026-03-11T09:30:00+0100", "2026-03-11 09:30"}) {
    EXPECT_FALSE(ParseFhirDateTime(bad).ok()) << bad;
  }
}

TEST(FhirServiceRequest, SubjectByReferenceOrIdentifier) {
  json sr = Example();
  sr.erase("contained");
  sr["subject"] = {{"reference", "Patient/MRN5"}, {"display", "Roe^Rick"}};
  sr.erase("requester");
  auto in = ParseServiceRequest(sr.dump());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->order.patient_id, "MRN5");
  EXPECT_EQ(in->order.patient_name, "Roe^Rick");
  sr["subject"] = {{"identifier", {{"value", "MRN6"}, {"system", "HOSP2"}}}};
  in = ParseServiceRequest(sr.dump());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->order.patient_id, "MRN6");
  EXPECT_EQ(in->order.issuer_of_patient_id, "HOSP2");
}

TEST(FhirServiceRequest, ErrorsNameThePath) {
  struct Case {
    std::function<void(json&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](json& j) { j["resourceType"] = "Patient"; }, "ServiceRequest.resourceType: expected \"ServiceRequest\""},
      {[](json& j) { j.erase("status"); }, "ServiceRequest.status: missing"},
      {[](json& j) { j["status"] = "done"; }, "ServiceRequest.status: 'done' is not a ServiceRequest status"},
      {[](json& j) { j["intent"] = "plan"; }, "ServiceRequest.intent: 'plan'"},
      {[](json& j) { j.erase("code"); }, "ServiceRequest.code: missing"},
      {[](json& j) { j["code"] = json::object(); }, "ServiceRequest.code: neither a coding nor text"},
      {[](json& j) { j.erase("subject"); }, "ServiceRequest.subject: missing"},
      {[](json& j) { j["subject"]["reference"] = "#nobody"; }, "ServiceRequest.subject.reference: '#nobody' names no contained Patient"},
      {[](json& j) { j["priority"] = "soon"; }, "ServiceRequest.priority: 'soon'"},
      {[](json& j) { j["occurrencePeriod"]["start"] = "tomorrow"; }, "ServiceRequest.occurrencePeriod.start:"},
      {[](json& j) { j["occurrencePeriod"]["end"] = "2026-03-11T08:00:00Z"; }, "ServiceRequest.occurrencePeriod.end: before the start"},
      {[](json& j) { j["contained"][0]["gender"] = "f"; }, "ServiceRequest.contained(Patient).gender: 'f'"},
      {[](json& j) { j["contained"][0]["birthDate"] = "1970"; }, "ServiceRequest.contained(Patient).birthDate:"},
      {[](json& j) { j["reasonCode"] = "stroke"; }, "ServiceRequest.reasonCode: expected an array"},
  };
  for (const auto& c : cases) {
    json sr = Example();
    c.edit(sr);
    auto in = ParseServiceRequest(sr.dump());
    ASSERT_FALSE(in.ok()) << c.message;
    EXPECT_EQ(in.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(in.status().message().rfind(c.message, 0), 0u) << in.status().message();
  }
  // Wrong JSON types anywhere: an error, never an exception.
  for (const char* bad : {R"({"contained":[{"resourceType":5,"id":"p1"}]})", R"({"contained":"x"})",
                          R"({"contained":[{"resourceType":"Patient","id":"p1","name":[{"family":7}]}]})",
                          R"({"subject":{"identifier":"MRN"}})", R"({"identifier":[{"type":{"coding":[5]},"value":1}]})",
                          R"({"requester":{"reference":"#dr"},"contained":[{"id":"dr","name":[{"given":[1,{"a":2}]}]}]})",
                          R"({"locationCode":[{"coding":[{"code":7}]}]})", R"({"occurrencePeriod":{"start":5}})",
                          R"({"code":{"coding":[{"system":3,"code":"x"}]}})"}) {
    json sr = Example();
    sr.merge_patch(json::parse(bad));
    auto in = ParseServiceRequest(sr.dump());
    EXPECT_FALSE(in.ok()) << bad;
    EXPECT_EQ(in.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ParseServiceRequest("{not json").ok());
  EXPECT_FALSE(ParseServiceRequest("[]").ok());
}

TEST(FhirServiceRequest, BundleAndIds) {
  storage::OrderRow a, b;
  a.id = 1;
  a.patient_id = "P";
  b.id = 2;
  b.patient_id = "P";
  const json bundle = json::parse(ServiceRequestBundleJson({a, b}, "http://h/api/v1/fhir", 7));
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  EXPECT_EQ(bundle["type"], "searchset");
  EXPECT_EQ(bundle["total"], 7);
  ASSERT_EQ(bundle["entry"].size(), 2u);
  EXPECT_EQ(bundle["entry"][1]["fullUrl"], "http://h/api/v1/fhir/ServiceRequest/order-2");
  EXPECT_EQ(*ParseServiceRequestId("order-12"), 12);
  EXPECT_EQ(*ParseServiceRequestId("12"), 12);
  for (const char* bad : {"", "order-", "order-x", "0", "-3", "order-99999999999999999999"}) {
    EXPECT_EQ(ParseServiceRequestId(bad).status().code(), ErrorCode::kNotFound) << bad;
  }
}

}  // namespace
}  // namespace radflow::orders
