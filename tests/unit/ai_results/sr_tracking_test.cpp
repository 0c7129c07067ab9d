// TID 1500 with longitudinal tracking: given Tracking Identifier / UID kept, a fresh UID
// otherwise; the status and growth measures of a finding compared with a prior
// examination; the prior's report in PertinentOtherEvidenceSequence; dciodvfy clean.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ai/results/results.h"

namespace radflow::ai {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> PatientOneFiles() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(std::string(RADFLOW_SHARED_DATA) + "/dicom/ct_lung_ibsi_pat1/dicom/image")) {
    if (e.path().extension() == ".dcm") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// dciodvfy's "Error" and "Warning" lines.
std::pair<std::string, std::string> Dciodvfy(const std::string& path) {
  std::string errors, warnings;
  const std::string cmd = "dciodvfy '" + path + "' 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  char line[4096];
  while (pipe && fgets(line, sizeof line, pipe.get())) {
    const std::string s(line);
    if (s.rfind("Error", 0) == 0) errors += s;
    if (s.rfind("Warning", 0) == 0) warnings += s;
  }
  return {errors, warnings};
}

const Measurement* Find(const SrMeasurementGroup& g, const std::string& code) {
  for (const auto& m : g.measurements)
    if (m.name.value == code) return &m;
  return nullptr;
}

TEST(SrTracking, KeepsTrackingUidsAndWritesTheComparison) {
  const fs::path dir = fs::temp_directory_path() / ("radflow_sr_tracking_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "sr-1.dcm").string();

  PriorComparison prior;  // the prior examination's SR
  prior.study_uid = "2.25.1001";
  prior.series_uid = "2.25.1002";
  prior.sop_class_uid = "1.2.840.10008.5.1.4.1.1.88.34";
  prior.sop_instance_uid = "2.25.1003";
  prior.interval_days = 90;

  Finding tracked;
  tracked.type = {"27925004", "SCT", "Nodule"};
  tracked.label = "solid nodule 16 mm";
  tracked.center = {-60, 140, -250};
  tracked.volume_ml = 2.0;
  tracked.size_mm = 15.6;
  tracked.tracking_uid = "2.25.123456789";
  tracked.tracking_id = "Nodule 1";
  tracked.prior = prior;
  tracked.prior->volume_change_pct = 100;
  tracked.prior->diameter_change_mm = 3.2;
  tracked.prior->doubling_time_days = 90;

  Finding fresh;  // new since the prior: status only, its own (given) UID
  fresh.type = tracked.type;
  fresh.label = "solid nodule 12 mm";
  fresh.center = {70, 135, -290};
  fresh.volume_ml = 1.0;
  fresh.size_mm = 12.4;
  fresh.tracking_uid = "2.25.987654321";
  fresh.prior = prior;
  fresh.prior->status = "new";

  Finding resolved;  // only in the prior: no measurement of its own
  resolved.type = tracked.type;
  resolved.tracking_uid = "2.25.555";
  resolved.tracking_id = "Nodule 3";
  resolved.prior = prior;
  resolved.prior->status = "resolved";

  Finding plain;  // not tracked at all: a fresh UID, the label as identifier
  plain.type = tracked.type;
  plain.label = "nodule 5 mm";
  plain.size_mm = 5;

  auto sr = WriteMeasurementReport({tracked, fresh, resolved, plain}, SourceSeries{PatientOneFiles()},
                                   {"ct-lung-lesions", "Lung lesions", "1.0", "radflow"}, nullptr, path, 9200);
  ASSERT_TRUE(sr.ok()) << sr.status().ToString();

  const auto [errors, warnings] = Dciodvfy(path);
  EXPECT_TRUE(errors.empty()) << errors;
  std::printf("dciodvfy sr with tracking: %s errors\n%s", errors.empty() ? "no" : "some", warnings.c_str());

  auto doc = ReadMeasurementReport(path);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_EQ(doc->groups.size(), 4u);
  const auto& g0 = doc->groups[0];
  EXPECT_EQ(g0.tracking_uid, "2.25.123456789");
  EXPECT_EQ(g0.tracking_identifier, "Nodule 1");
  ASSERT_NE(Find(g0, "RFLT-VOLCHG"), nullptr);
  EXPECT_DOUBLE_EQ(Find(g0, "RFLT-VOLCHG")->value, 100);
  EXPECT_EQ(Find(g0, "RFLT-VOLCHG")->unit.value, "%");
  ASSERT_NE(Find(g0, "RFLT-AXISCHG"), nullptr);
  EXPECT_DOUBLE_EQ(Find(g0, "RFLT-AXISCHG")->value, 3.2);
  ASSERT_NE(Find(g0, "RFLT-VDT"), nullptr);
  EXPECT_DOUBLE_EQ(Find(g0, "RFLT-VDT")->value, 90);
  EXPECT_EQ(Find(g0, "RFLT-VDT")->unit.value, "d");
  ASSERT_NE(Find(g0, "RFLT-INTERVAL"), nullptr);
  EXPECT_NE(Find(g0, "118565006"), nullptr);  // its own volume still there

  const auto& g1 = doc->groups[1];
  EXPECT_EQ(g1.tracking_uid, "2.25.987654321");
  EXPECT_EQ(g1.tracking_identifier, "solid nodule 12 mm");
  EXPECT_EQ(Find(g1, "RFLT-VOLCHG"), nullptr);  // new: no change measures
  EXPECT_EQ(Find(g1, "RFLT-VDT"), nullptr);

  const auto& g2 = doc->groups[2];
  EXPECT_EQ(g2.tracking_uid, "2.25.555");
  EXPECT_EQ(g2.tracking_identifier, "Nodule 3");
  EXPECT_EQ(Find(g2, "118565006"), nullptr);

  const auto& g3 = doc->groups[3];
  EXPECT_EQ(g3.tracking_identifier, "nodule 5 mm");
  EXPECT_FALSE(g3.tracking_uid.empty());
  EXPECT_NE(g3.tracking_uid, g0.tracking_uid);

  // Header: the prior's SR as pertinent other evidence (once), 99RADFLOW declared, and the
  // status codes in the content tree.
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(path.c_str()).good());
  DcmDataset& ds = *file.getDataset();
  DcmSequenceOfItems* other = nullptr;
  ASSERT_TRUE(ds.findAndGetSequence(DCM_PertinentOtherEvidenceSequence, other).good() && other);
  ASSERT_EQ(other->card(), 1u);
  OFString study;
  other->getItem(0)->findAndGetOFString(DCM_StudyInstanceUID, study);
  EXPECT_EQ(std::string(study.c_str()), "2.25.1001");
  DcmItem* instance = nullptr;
  ASSERT_TRUE(ds.findAndGetSequenceItem(DCM_PertinentOtherEvidenceSequence, instance).good());
  DcmItem* series_item = nullptr;
  ASSERT_TRUE(instance->findAndGetSequenceItem(DCM_ReferencedSeriesSequence, series_item).good());
  DcmItem* sop_item = nullptr;
  ASSERT_TRUE(series_item->findAndGetSequenceItem(DCM_ReferencedSOPSequence, sop_item).good());
  OFString sop;
  sop_item->findAndGetOFString(DCM_ReferencedSOPInstanceUID, sop);
  EXPECT_EQ(std::string(sop.c_str()), "2.25.1003");
  DcmItem* scheme = nullptr;
  bool declared = false;
  for (unsigned long i = 0; ds.findAndGetSequenceItem(DCM_CodingSchemeIdentificationSequence, scheme, int(i)).good(); ++i) {
    OFString designator;
    scheme->findAndGetOFString(DCM_CodingSchemeDesignator, designator);
    declared |= designator == "99RADFLOW";
  }
  EXPECT_TRUE(declared);
  std::string dump;
  {
    const std::string cmd = "dsrdump '" + path + "' 2>&1";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    char line[4096];
    while (pipe && fgets(line, sizeof line, pipe.get())) dump += line;
  }
  EXPECT_NE(dump.find("Tracked lesion"), std::string::npos) << dump;
  EXPECT_NE(dump.find("New lesion"), std::string::npos);
  EXPECT_NE(dump.find("Resolved lesion"), std::string::npos);
  if (!std::getenv("RADFLOW_KEEP_TEST_OUTPUT")) fs::remove_all(dir);
}

}  // namespace
}  // namespace radflow::ai
