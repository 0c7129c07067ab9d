// ORU^R01 v2.5.1 of a signed report: the segments and fields oru.h promises, read back by
// radflow's parser and by Debian's python3-hl7 (check_oru.py); ParseOruR01 of messages built
// by hand as other systems send them, with errors naming segment and field.
#include "delivery/oru.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "hl7/message.h"
#include "sample_report.h"

namespace radflow::delivery {
namespace {

using testing::SampleReport;

OruOptions Options() {
  OruOptions o;
  o.sending_application = "RADFLOW";
  o.sending_facility = "RADIOLOGY";
  o.receiving_application = "RIS";
  o.receiving_facility = "HOSP";
  return o;
}

TEST(Oru, BuildsTheSegmentsAndFields) {
  SignedReport r = SampleReport();
  r.issuer_of_patient_id = "1.2.3.4.5";  // an OID: CX.4 as &1.2.3.4.5&ISO
  const std::string text = BuildOruR01(r, Options(), 'F', "CTL0001");
  auto m = hl7::Parse(text);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->Type(), "ORU^R01");
  const hl7::Segment& msh = *m->Find("MSH");
  EXPECT_EQ(msh.Get(9, 3), "ORU_R01");
  EXPECT_EQ(msh.Get(10), "CTL0001");
  EXPECT_EQ(msh.Get(12), "2.5.1");
  EXPECT_EQ(msh.Get(3), "RADFLOW");
  EXPECT_EQ(msh.Get(5), "RIS");
  EXPECT_EQ(msh.Get(18), "UNICODE UTF-8");
  const hl7::Segment& pid = *m->Find("PID");
  EXPECT_EQ(pid.Get(3, 1), "Lung_Dx-A0001");
  EXPECT_EQ(pid.Get(3, 4, 2), "1.2.3.4.5");
  EXPECT_EQ(pid.Get(3, 4, 3), "ISO");
  EXPECT_EQ(pid.Get(3, 5), "MR");
  EXPECT_EQ(pid.Get(8), "M");
  EXPECT_EQ(m->Find("PV1")->Get(2), "U");
  EXPECT_EQ(m->Find("ORC")->Get(1), "RE");
  EXPECT_EQ(m->Find("ORC")->Get(5), "CM");
  const hl7::Segment& obr = *m->Find("OBR");
  EXPECT_EQ(obr.Get(3), "ACC-2007-0404");
  EXPECT_EQ(obr.Get(18), "ACC-2007-0404");
  EXPECT_EQ(obr.Get(4, 1), "18748-4");
  EXPECT_EQ(obr.Get(4, 3), "LN");
  EXPECT_EQ(obr.Get(4, 5), "Chest");
  EXPECT_EQ(obr.Get(7), "20070404185824");
  EXPECT_EQ(obr.Get(16, 2), "House");
  EXPECT_EQ(obr.Get(22), "20240501120000+0000");
  EXPECT_EQ(obr.Get(24), "RAD");
  EXPECT_EQ(obr.Get(25), "F");
  EXPECT_EQ(obr.Get(32, 1, 2), "Curie");
  EXPECT_EQ(obr.Get(32, 1, 3), "Marie");

  const auto obxs = m->FindAll("OBX");
  ASSERT_FALSE(obxs.empty());
  EXPECT_EQ(obxs[0]->Get(2), "HD");
  EXPECT_EQ(obxs[0]->Get(3, 1), "113014");
  EXPECT_EQ(obxs[0]->Get(3, 3), "DCM");
  EXPECT_EQ(obxs[0]->Get(5), testing::kStudyUid);
  EXPECT_EQ(obxs[0]->Get(11), "O");
  int tx = 0, nm = 0, findings = 0;
  for (size_t i = 0; i < obxs.size(); ++i) {
    EXPECT_EQ(obxs[i]->Get(1), std::to_string(i + 1));  // set ids in order
    if (obxs[i]->Get(2) == "TX") {
      ++tx;
      EXPECT_EQ(obxs[i]->Get(11), "F");
      EXPECT_EQ(obxs[i]->Get(3, 3), "LN");
      if (obxs[i]->Get(3, 1) == "59776-5") ++findings;
    }
    if (obxs[i]->Get(2) == "NM") {
      ++nm;
      EXPECT_EQ(obxs[i]->Get(6, 3), "UCUM");
      EXPECT_EQ(obxs[i]->Get(11), "F");
    }
  }
  EXPECT_EQ(findings, 3);    // the three lines of findings_text
  EXPECT_EQ(tx, 3 + 3 + 2);  // history, technique, comparison; findings; impression
  EXPECT_EQ(nm, 5);
  EXPECT_EQ(m->FindAll("NTE").size(), 5u);  // one per AI measurement
  // The first NM: mean HU of nodule 1, value as NM (no exponent), "<section>.<finding>".
  const hl7::Segment* hu = nullptr;
  for (const auto* s : obxs) {
    if (s->Get(3, 1) == "373098007") hu = s;
  }
  ASSERT_NE(hu, nullptr);
  EXPECT_EQ(hu->Get(5), "-35.5");
  EXPECT_EQ(hu->Get(6, 1), "[hnsf'U]");
  EXPECT_EQ(hu->Get(4), "4.1");
  EXPECT_NE(text.find("NTE|1|L|AI-measured by lung-nodules 1.2.0; finding: Nodule 1; site: right upper lobe"),
            std::string::npos);
}

TEST(Oru, ResultStatusPreliminaryAndCorrected) {
  SignedReport r = SampleReport();
  r.status = "preliminary";
  auto p = hl7::Parse(BuildOruR01(r, Options(), 'P', "C1"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Find("OBR")->Get(25), "P");
  EXPECT_EQ(p->Find("ORC")->Get(5), "IP");
  EXPECT_EQ(p->FindAll("OBX")[1]->Get(11), "P");
  r.status = "final";
  r.corrected = true;
  auto c = hl7::Parse(BuildOruR01(r, Options(), '?', "C2"));  // derived: C
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Find("OBR")->Get(25), "C");
  EXPECT_EQ(c->FindAll("OBX")[1]->Get(11), "C");
}

TEST(Oru, DelimitersInTheTextAreEscaped) {
  SignedReport r = SampleReport();
  r.findings_text = "Nodule 5|6 mm ^ left & right ~ both \\ none";
  r.accepted.clear();
  const std::string text = BuildOruR01(r, Options(), 'F', "C3");
  EXPECT_NE(text.find("Nodule 5\\F\\6 mm \\S\\ left \\T\\ right \\R\\ both \\E\\ none"), std::string::npos);
  auto back = ParseOruR01(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_NE(back->text.find("Nodule 5|6 mm ^ left & right ~ both \\ none\n"), std::string::npos) << back->text;
}

TEST(Oru, RoundTripThroughParseOruR01) {
  const SignedReport r = SampleReport();
  auto back = ParseOruR01(BuildOruR01(r, Options(), 'F', "CTL9"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->patient_id, "Lung_Dx-A0001");
  EXPECT_EQ(back->issuer_of_patient_id, "TCIA");
  EXPECT_EQ(back->patient_name, "Lung_Dx-A0001");
  EXPECT_EQ(back->accession_number, "ACC-2007-0404");
  EXPECT_EQ(back->study_uid, testing::kStudyUid);
  EXPECT_EQ(back->status, "final");
  EXPECT_EQ(back->author, "Curie^Marie");
  EXPECT_EQ(back->observed_at, "20070404185824");
  EXPECT_EQ(back->control_id, "CTL9");
  EXPECT_EQ(back->sending_application, "RADFLOW");
  EXPECT_NE(back->text.find("Solid nodule in the right upper lobe measuring 7.2 mm (volume 0.19 ml).\n"),
            std::string::npos);
  EXPECT_NE(back->text.find("Long Axis: 7.2 mm"), std::string::npos) << back->text;
}

// As another RIS sends it: v2.3, <LF> endings, FT with \.br\, no OBR-25 (OBX-11 instead),
// the study UID in ZDS, accession in OBR-3 only, several PID-3 repetitions.
TEST(Oru, ParsesReportsFromOtherSystems) {
  const std::string msg =
      "MSH|^~\\&|OTHERRIS|CITY|RADFLOW|RAD|20230115093000||ORU^R01|X77|P|2.3\n"
      "PID|||A55^^^SSN^SS~P-9^^^CITY^MR||Smith^Anna^B||19600203|F\n"
      "OBR|1|PL1|ACC9|CTCHEST^CT chest^L|||20230114101500|||||||||||||||||||||||||^^Dr Jones\n"
      "OBX|1|FT|IMP^Impression^L||No nodule.\\.br\\Stable emphysema.||||||F||||||\n"
      "OBX|2|NM|VOL^Volume^L||12.5|ml^ml^UCUM|||||F\n"
      "ZDS|1.2.3.4.5.6^RIS^Application^DICOM\n";
  auto r = ParseOruR01(msg);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->patient_id, "P-9");  // the MR one
  EXPECT_EQ(r->issuer_of_patient_id, "CITY");
  EXPECT_EQ(r->patient_name, "Smith^Anna^B");
  EXPECT_EQ(r->accession_number, "ACC9");
  EXPECT_EQ(r->filler_order_number, "ACC9");
  EXPECT_EQ(r->study_uid, "1.2.3.4.5.6");
  EXPECT_EQ(r->status, "final");
  EXPECT_EQ(r->text, "No nodule.\nStable emphysema.\nVolume: 12.5 ml\n");
  EXPECT_EQ(r->observed_at, "20230114101500");
  EXPECT_EQ(r->control_id, "X77");
}

TEST(Oru, ErrorsNameSegmentAndField) {
  auto expect_error = [](const std::string& msg, const std::string& prefix) {
    auto r = ParseOruR01(msg);
    ASSERT_FALSE(r.ok()) << msg;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind(prefix, 0), 0u) << r.status().message();
  };
  const std::string msh = "MSH|^~\\&|A|B|C|D|20230101||ORU^R01|X1|P|2.5.1\r";
  const std::string pid = "PID|1||123^^^H^MR\r";
  const std::string obr = "OBR|1||ACC|X^Y^L|||20230101||||||||||||||||||F\r";
  const std::string obx = "OBX|1|TX|59776-5^Findings^LN||Normal.||||||F\r";
  expect_error("MSH|^~\\&|A|B|C|D|20230101||ADT^A01|X1|P|2.5.1\r" + pid, "MSH-9:");
  expect_error("MSH|^~\\&|A|B|C|D|20230101||ORU^R01||P|2.5.1\r" + pid + obr + obx, "MSH-10:");
  expect_error(msh + obr + obx, "PID:");
  expect_error(msh + "PID|1||^^^H^MR\r" + obr + obx, "PID-3:");
  expect_error(msh + pid + obx, "OBR:");
  expect_error(msh + pid + "OBR|1||ACC|X^Y^L\r" + "OBX|1|TX|X^Y^L||Normal.\r", "OBR-25:");
  expect_error(msh + pid + "OBR|1||ACC|X^Y^L|||20230101||||||||||||||||||X\r" + obx, "OBR-25:");
  expect_error(msh + pid + obr, "OBX:");
  expect_error("garbage", "MSH:");
  EXPECT_EQ(hl7::ErrorLocation(ParseOruR01(msh + "PID|1||^^^H^MR\r" + obr + obx).status().message()), "PID^1^3");
}

// Debian's python3-hl7 reads radflow's message (hl7.parse) and finds the same fields.
TEST(Oru, Python3Hl7ParsesIt) {
  if (std::system("/usr/bin/python3 -c 'import hl7' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3-hl7 not installed";
  }
  const std::filesystem::path dir = std::filesystem::path(RADFLOW_BUILD_DIR) / "test-artifacts" / "delivery";
  std::filesystem::create_directories(dir);
  SignedReport r = SampleReport();
  r.findings_text += "\nEscapes: a|b ^ c & d ~ e \\ f.";
  const std::string path = (dir / "oru_final.hl7").string();
  const std::string message = BuildOruR01(r, Options(), 'F', "PYCHECK1");
  std::ofstream(path, std::ios::binary) << message;
  const std::string script = std::string(RADFLOW_SOURCE_DIR) + "/tests/unit/delivery/check_oru.py";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(
      popen(("/usr/bin/python3 '" + script + "' '" + path + "' 2>&1").c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  while (pipe && fgets(buf, sizeof buf, pipe.get())) out += buf;
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["segments"][0], "MSH");
  EXPECT_EQ(j["segments"][1], "PID");
  EXPECT_EQ(j["msh9"], nlohmann::json::array({"ORU", "R01", "ORU_R01"}));
  EXPECT_EQ(j["msh10"], "PYCHECK1");
  EXPECT_EQ(j["msh12"], "2.5.1");
  EXPECT_EQ(j["msh18"], "UNICODE UTF-8");
  EXPECT_EQ(j["pid3_id"], "Lung_Dx-A0001");
  EXPECT_EQ(j["pid3_authority"], "TCIA");
  EXPECT_EQ(j["pid3_type"], "MR");
  EXPECT_EQ(j["pid8"], "M");
  EXPECT_EQ(j["pv1_2"], "U");
  EXPECT_EQ(j["orc1"], "RE");
  EXPECT_EQ(j["obr3"], "ACC-2007-0404");
  EXPECT_EQ(j["obr4"], nlohmann::json::array({"18748-4", "LN"}));
  EXPECT_EQ(j["obr7"], "20070404185824");
  EXPECT_EQ(j["obr25"], "F");
  EXPECT_EQ(j["obr32_family"], "Curie");
  const auto& obx = j["obx"];
  ASSERT_GE(obx.size(), 10u);
  EXPECT_EQ(obx[0]["type"], "HD");
  EXPECT_EQ(obx[0]["code"], "113014");
  EXPECT_EQ(obx[0]["value"], testing::kStudyUid);
  EXPECT_EQ(obx[0]["status"], "O");
  bool escaped_line = false, hu = false;
  for (const auto& o : obx) {
    if (o["value"] == "Escapes: a|b ^ c & d ~ e \\ f.") escaped_line = true;
    if (o["code"] == "373098007") {
      hu = true;
      EXPECT_EQ(o["type"], "NM");
      EXPECT_EQ(o["value"], "-35.5");
      EXPECT_EQ(o["units"], "[hnsf'U]");
      EXPECT_EQ(o["units_system"], "UCUM");
      EXPECT_EQ(o["status"], "F");
    }
  }
  EXPECT_TRUE(escaped_line) << out;
  EXPECT_TRUE(hu) << out;
}

}  // namespace
}  // namespace radflow::delivery
