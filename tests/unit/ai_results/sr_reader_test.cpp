// ReadMeasurementReport on reference TID 1500 reports written by other tools (dcmqi, the
// RSNA 2018 interoperability sets, PixelMed); expected values from their .dsrdump files.
#include <gtest/gtest.h>

#include <string>

#include "ai/results/results.h"

namespace radflow::ai {
namespace {

std::string Data(const std::string& rel) { return std::string(RADFLOW_SHARED_DATA) + "/" + rel; }

// Reference TID 1500 reports written by other tools (dcmqi, RSNA 2018 sets).
TEST(ReadMeasurementReportTest, ReadsDcmqiLiverReport) {
  auto doc = ReadMeasurementReport(
      Data("seg_sr/tid1500_rsna2018/examples/rsna2018_dataset1/sr-tid1500-ct-liver-example.dcm"));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->template_id, "1500");
  ASSERT_EQ(doc->groups.size(), 1u);
  const auto& g = doc->groups[0];
  EXPECT_EQ(g.tracking_identifier, "Measurements group 1");
  EXPECT_EQ(g.tracking_uid, "1.3.6.1.4.1.43046.3.1.4.0.83735.1480019874.480725");
  EXPECT_EQ(g.finding.meaning, "Organ");
  EXPECT_EQ(g.referenced_segment.substr(g.referenced_segment.size() - 2), "#1");
  // Values from the file's dsrdump (sr-tid1500-ct-liver-example.dsrdump), which prints each
  // NUM's DS string as stored: strtod of that string is the nearest double, so equal (here
  // and below, to EXPECT_DOUBLE_EQ's 4 ulps).
  ASSERT_EQ(g.measurements.size(), 6u);
  const double expected[] = {37.3289, -778, 221, 59.1691, 70361.9, 70.3619};
  for (size_t i = 0; i < 6; ++i) EXPECT_DOUBLE_EQ(g.measurements[i].value, expected[i]) << i;
  EXPECT_EQ(g.measurements[0].name.meaning, "Attenuation Coefficient");
  EXPECT_EQ(g.measurements[0].unit.value, "[hnsf'U]");
  EXPECT_EQ(g.measurements[5].unit.value, "cm3");
}

TEST(ReadMeasurementReportTest, ReadsHeadNeckPetReportWithElevenGroups) {
  auto doc = ReadMeasurementReport(Data(
      "seg_sr/tid1500_rsna2018/examples/rsna2018_dataset2/Measurements_User2_SemiAuto_Trial2.dcm"));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_EQ(doc->groups.size(), 11u);
  const auto& g = doc->groups[0];
  EXPECT_EQ(g.tracking_identifier, "primary tumor");
  EXPECT_EQ(g.finding.meaning, "Neoplasm, Primary");
  auto find = [&](const std::string& meaning) -> const Measurement* {
    for (const auto& m : g.measurements) {
      if (m.name.meaning == meaning) return &m;
    }
    return nullptr;
  };
  ASSERT_NE(find("Volume"), nullptr);
  EXPECT_DOUBLE_EQ(find("Volume")->value, 39.5837);
  EXPECT_EQ(find("Volume")->unit.value, "ml");
  ASSERT_NE(find("Total Lesion Glycolysis"), nullptr);
  EXPECT_DOUBLE_EQ(find("Total Lesion Glycolysis")->value, 407.532);
  EXPECT_DOUBLE_EQ(g.measurements[0].value, 10.2955);  // SUVbw mean
}

TEST(ReadMeasurementReportTest, ReadsPixelMedLengthAndRejectsNonSr) {
  auto doc = ReadMeasurementReport(Data("seg_sr/tid1500_rsna2018/examples/rsna2018_dataset4/1.dcm"));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_GE(doc->groups.size(), 1u);
  ASSERT_FALSE(doc->groups[0].measurements.empty());
  EXPECT_DOUBLE_EQ(doc->groups[0].measurements[0].value, 66.43856134);
  EXPECT_EQ(doc->groups[0].measurements[0].name.meaning, "Length");

  auto not_sr = ReadMeasurementReport(Data("dicom/ct_lung_ibsi_pat1/dicom/image/DCM_IMG_00000.dcm"));
  EXPECT_FALSE(not_sr.ok());
  EXPECT_EQ(ReadMeasurementReport("/nonexistent.dcm").status().code(), ErrorCode::kNotFound);
}

TEST(ReadMeasurementReportTest, ReadsHighdicomComprehensive3dReportWithFourGroups) {
  auto doc = ReadMeasurementReport(Data("seg_sr/highdicom/test_files/sr_document_with_multiple_groups.dcm"));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_EQ(doc->groups.size(), 4u);
  const char* ids[] = {"Image0001", "LungNodule0001", "Aorta0001", "Vertebra0001"};
  const double values[] = {-119.07385253906, 10.0, 20.0, 200.0};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(doc->groups[i].tracking_identifier, ids[i]);
    ASSERT_EQ(doc->groups[i].measurements.size(), 1u) << i;
    EXPECT_DOUBLE_EQ(doc->groups[i].measurements[0].value, values[i]) << i;
  }
  EXPECT_EQ(doc->groups[1].measurements[0].name.meaning, "Diameter");
  EXPECT_EQ(doc->groups[3].measurements[0].unit.value, "mm3");
}

}  // namespace
}  // namespace radflow::ai
