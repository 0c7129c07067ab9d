// The one tolerance rule (radiomics/ibsi_reference.h, docs/ibsi-compliance.md) on hand-made
// rows: |ours - reference| <= tolerance + half a unit of the last significant digit printed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <unistd.h>

#include "radiomics/ibsi_reference.h"

namespace radflow::radiomics {
namespace {

IbsiReferenceRow Row(const std::string& printed, double tolerance) {
  IbsiReferenceRow r;
  r.tag.assign(1, 't');  // not = "t": GCC 12 warns falsely (-Wrestrict) on that
  r.printed = printed;
  r.value = std::stod(printed);
  r.tolerance = tolerance;
  return r;
}

TEST(IbsiReference, HalfUnitOfLastDigit) {
  // Every digit after the decimal point is significant.
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("0.377").value(), 0.0005);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("0.50").value(), 0.005);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("1.2e3").value(), 50);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("3.00E+03").value(), 5);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("-0.377").value(), 0.0005);
  // An integer is exact to the unit up to three digits (voxel counts, dimensions)...
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("204").value(), 0.5);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("100").value(), 0.5);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("60").value(), 0.5);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("-500").value(), 0.5);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("125256").value(), 0.5);
  // ...and beyond three digits its trailing zeros are the rounding's (1490 is 1.49e3).
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("1490").value(), 5);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("-1000").value(), 5);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit("18000000").value(), 50000);
  EXPECT_DOUBLE_EQ(HalfUnitOfLastDigit(" 204\t").value(), 0.5);
  // A printed zero is exactly zero.
  EXPECT_EQ(HalfUnitOfLastDigit("0").value(), 0.0);
  for (const char* junk : {"", "-", "abc", "1.2.3", "1e", "1e3x", "e5", "nan", "--1", "1,5", "0x10"}) {
    EXPECT_FALSE(HalfUnitOfLastDigit(junk).has_value()) << "'" << junk << "'";
  }
}

TEST(IbsiReference, AllowedDeviationIsTolerancePlusHalfUnit) {
  EXPECT_DOUBLE_EQ(AllowedDeviation(Row("0.377", 0.001)), 0.0015);
  EXPECT_DOUBLE_EQ(AllowedDeviation(Row("556", 4)), 4.5);
  EXPECT_DOUBLE_EQ(AllowedDeviation(Row("1490", 0)), 5);
  EXPECT_EQ(AllowedDeviation(Row("0", 0)), 0.0);
}

TEST(IbsiReference, WithinToleranceAtTheBoundary) {
  const auto r = Row("0.377", 0.001);  // allowed 0.0015: [0.3755, 0.3785]
  EXPECT_TRUE(WithinIbsiTolerance(0.377, r));
  EXPECT_TRUE(WithinIbsiTolerance(0.3785, r));
  EXPECT_FALSE(WithinIbsiTolerance(0.37851, r));
  EXPECT_TRUE(WithinIbsiTolerance(0.3755, r));
  EXPECT_FALSE(WithinIbsiTolerance(0.37549, r));
  const auto n = Row("-0.377", 0.001);  // a negative reference: [-0.3785, -0.3755]
  EXPECT_TRUE(WithinIbsiTolerance(-0.3785, n));
  EXPECT_FALSE(WithinIbsiTolerance(-0.37851, n));
  EXPECT_TRUE(WithinIbsiTolerance(-0.3755, n));
  EXPECT_FALSE(WithinIbsiTolerance(-0.37549, n));
  // Tolerance 0, integer with trailing zeros: 1490 +- 5.
  const auto z = Row("1490", 0);
  EXPECT_TRUE(WithinIbsiTolerance(1494.6, z));
  EXPECT_FALSE(WithinIbsiTolerance(1495.01, z));
  // A printed 0 with tolerance 0 accepts only 0.
  EXPECT_TRUE(WithinIbsiTolerance(0.0, Row("0", 0)));
  EXPECT_FALSE(WithinIbsiTolerance(1e-12, Row("0", 0)));
  EXPECT_FALSE(WithinIbsiTolerance(std::nan(""), r));
  EXPECT_FALSE(WithinIbsiTolerance(INFINITY, r));
}

class IbsiReferenceTable : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    path_ = (std::filesystem::temp_directory_path() /
             ("radflow_ibsi_ref_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".csv"))
                .string();
    std::ofstream(path_, std::ios::binary) << text;
    return path_;
  }
  void TearDown() override {
    if (!path_.empty()) std::filesystem::remove(path_);
  }
  std::string path_;
};

TEST_F(IbsiReferenceTable, ReadsRowsWithAReferenceValue) {
  const std::string csv =
      "\xEF\xBB\xBF"
      "dataset,family,feature,consensus,reference value,tolerance,your result,difference,check,tag\r\n"
      "digital phantom,Morphology,Volume (mesh),\xE2\x89\xA5 10,556,4,,,,morph_volume\r\n"
      "digital phantom,Morphology,Volume density (OMBB),not standardized,,,,,,morph_vol_dens_ombb\r\n"
      "\r\n"
      "digital phantom,\"Grey level co-occurrence, 3D\",\"Joint maximum, averaged\",strong,0.509,,,,,cm_joint_max_3D_avg\r\n"
      "configuration B,Diagnostics-initial image,Dim x,strong,512,0,,,,img_dim_x_init_img\r\n";
  auto rows = ReadIbsiReferenceTable(Write(csv));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 3u);  // the OMBB row has no reference value
  const auto& v = (*rows)[0];
  EXPECT_EQ(v.dataset, "digital phantom");
  EXPECT_EQ(v.family, "Morphology");
  EXPECT_EQ(v.feature, "Volume (mesh)");
  EXPECT_EQ(v.tag, "morph_volume");
  EXPECT_EQ(v.printed, "556");
  EXPECT_EQ(v.value, 556);
  EXPECT_EQ(v.tolerance, 4);
  EXPECT_FALSE(v.diagnostic());
  const auto& q = (*rows)[1];  // quoted fields with commas
  EXPECT_EQ(q.family, "Grey level co-occurrence, 3D");
  EXPECT_EQ(q.feature, "Joint maximum, averaged");
  EXPECT_EQ(q.tag, "cm_joint_max_3D_avg");
  EXPECT_EQ(q.value, 0.509);
  EXPECT_EQ(q.tolerance, 0);  // empty tolerance
  EXPECT_TRUE((*rows)[2].diagnostic());
}

TEST_F(IbsiReferenceTable, NonNumberIsAnErrorNamingTheLine) {
  const std::string csv =
      "dataset,family,feature,consensus,reference value,tolerance,tag\n"
      "p,Morphology,Volume,strong,556,4,morph_volume\n"
      "p,Morphology,Area,strong,about 388,3,morph_area_mesh\n";
  auto rows = ReadIbsiReferenceTable(Write(csv));
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().ToString().find("line 3"), std::string::npos) << rows.status().ToString();
  // "12abc" starts like a number (std::stod would take 12): still an error.
  auto trailing = ReadIbsiReferenceTable(
      Write("reference value,tolerance,tag\n1,0,a\n12abc,0,b\n"));
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().ToString().find("line 3"), std::string::npos);
  auto tolerance = ReadIbsiReferenceTable(Write("reference value,tolerance,tag\n1,x,a\n"));
  ASSERT_FALSE(tolerance.ok());
  EXPECT_NE(tolerance.status().ToString().find("line 2"), std::string::npos);
}

TEST_F(IbsiReferenceTable, MissingColumnsOrFileIsAnError) {
  auto rows = ReadIbsiReferenceTable(Write("dataset,family,feature,value,tag\np,M,V,556,morph_volume\n"));
  ASSERT_FALSE(rows.ok());
  EXPECT_NE(rows.status().ToString().find("reference value"), std::string::npos);
  EXPECT_NE(rows.status().ToString().find(path_), std::string::npos);
  auto none = ReadIbsiReferenceTable("/nonexistent/ibsi.csv");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().ToString().find("/nonexistent/ibsi.csv"), std::string::npos);
}

TEST(IbsiReference, ReferencePaths) {
  EXPECT_EQ(IbsiReferencePath("/d", "phantom"),
            "/d/ibsi/ibsi1_reference_values/zrad/ibsi_1_reference_values_digital_phantom.csv");
  EXPECT_EQ(IbsiReferencePath("/d", "C"),
            "/d/ibsi/ibsi1_reference_values/zrad/ibsi_1_reference_values_config_C.csv");
}

TEST(IbsiReference, CompareWithIbsi) {
  auto a = Row("0.377", 0.001);
  a.tag = "a";
  auto b = Row("204", 0);
  b.tag = "b";
  auto c = Row("1490", 0);
  c.tag = "c";
  const std::map<std::string, double> ours = {{"a", 0.3790}, {"b", 204.4}, {"x", 1.0}};
  const auto out = CompareWithIbsi(ours, {a, b, c});
  ASSERT_EQ(out.size(), 3u);  // one per reference row, in the table's order; "x" has none
  EXPECT_EQ(out[0].reference.tag, "a");
  EXPECT_DOUBLE_EQ(*out[0].ours, 0.3790);
  EXPECT_NEAR(out[0].deviation, 0.002, 1e-12);
  EXPECT_DOUBLE_EQ(out[0].allowed, 0.0015);
  EXPECT_FALSE(out[0].within);
  EXPECT_TRUE(out[1].within);
  EXPECT_DOUBLE_EQ(out[1].allowed, 0.5);
  EXPECT_EQ(out[2].reference.tag, "c");
  EXPECT_FALSE(out[2].ours.has_value());  // missing: no value and not within
  EXPECT_FALSE(out[2].within);
  EXPECT_DOUBLE_EQ(out[2].allowed, 5);
}

}  // namespace

TEST(IbsiReference, DataSetNamesAreTheTablesOwn) {
  EXPECT_EQ(IbsiDataSetName("phantom"), "digital phantom");
  EXPECT_EQ(IbsiDataSetName("C"), "configuration C");
  EXPECT_EQ(IbsiDataSetName("F"), "");
  EXPECT_EQ(IbsiDataSetName("cfg.json"), "");
}

}  // namespace radflow::radiomics
