// The IBSI processing chain: on PAT1, every diagnostic reference row of configurations A-E
// (zrad export, "Diagnostics-*" families) by the one rule of radiomics/ibsi_reference.h; on
// the digital phantom, the chain with the phantom settings (the path `radflow radiomics
// --config phantom` takes) against every feature row; and the CT plausibility rule of A-E.
#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <map>
#include <string>

#include "imaging/nifti_io.h"
#include "imaging/rtstruct.h"
#include "radiomics/ibsi_reference.h"
#include "radiomics/pipeline.h"
#include "radiomics/preprocess.h"

namespace radflow::radiomics {

namespace {

std::string Data(const std::string& rel) { return std::string(RADFLOW_SHARED_DATA) + "/" + rel; }

class IbsiChain : public ::testing::TestWithParam<char> {
 protected:
  static void SetUpTestSuite() {
    auto image = imaging::ReadNifti(Data("dicom/ct_lung_ibsi_pat1/nifti/image/phantom.nii.gz"));
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    image_ = new imaging::ImageVolume(std::move(image.value()));
    auto mask = imaging::RasterizeRoi(Data("dicom/ct_lung_ibsi_pat1/dicom/mask/DCM_RS_00060.dcm"),
                                      "GTV-1", image_->geometry());
    ASSERT_TRUE(mask.ok()) << mask.status().ToString();
    mask_ = new imaging::Mask(std::move(mask.value()));
  }
  static void TearDownTestSuite() {
    delete image_;
    delete mask_;
  }
  static imaging::ImageVolume* image_;
  static imaging::Mask* mask_;
};
imaging::ImageVolume* IbsiChain::image_ = nullptr;
imaging::Mask* IbsiChain::mask_ = nullptr;

std::map<std::string, double> ByTag(const std::vector<Feature>& list) {
  std::map<std::string, double> out;
  for (const auto& f : list) out.emplace(f.tag, f.value);
  return out;
}

}  // namespace

TEST_P(IbsiChain, EveryDiagnosticMatchesTheReference) {
  const std::string config(1, GetParam());
  auto settings = IbsiConfiguration(config);
  ASSERT_TRUE(settings.ok());
  auto r = RunChain(*image_, *mask_, settings.value());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto table = ReadIbsiReferenceTable(IbsiReferencePath(RADFLOW_SHARED_DATA, config));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  std::vector<IbsiReferenceRow> rows;
  for (const auto& row : table.value()) {
    if (row.diagnostic()) rows.push_back(row);
  }
  // The IBSI chapter 1 tables give 60 diagnostic values per configuration (5 steps).
  ASSERT_EQ(rows.size(), 60u);
  int within = 0;
  std::printf("configuration %s\n%-34s %12s %12s %10s %10s\n", config.c_str(), "tag", "radflow", "reference",
              "tolerance", "allowed");
  for (const auto& c : CompareWithIbsi(ByTag(IbsiDiagnostics(r.value())), rows)) {
    if (!c.ours) {
      ADD_FAILURE() << "config " << config << ": no diagnostic value for " << c.reference.tag;
      continue;
    }
    within += c.within;
    std::printf("%-34s %12.6g %12s %10g %10g %s\n", c.reference.tag.c_str(), *c.ours, c.reference.printed.c_str(),
                c.reference.tolerance, c.allowed, c.within ? "ok" : "OUT");
    EXPECT_TRUE(c.within) << "config " << config << " " << c.reference.tag << ": " << *c.ours << " vs "
                          << c.reference.printed << " (allowed " << c.allowed << ")";
  }
  std::printf("configuration %s: %d of %zu diagnostic values within tolerance\n", config.c_str(), within,
              rows.size());
}

INSTANTIATE_TEST_SUITE_P(ConfigurationsAtoE, IbsiChain, ::testing::Values('A', 'B', 'C', 'D', 'E'));

// The chain with the phantom settings (no interpolation, re-segmentation or discretisation)
// must give what ComputeAll gives on the digital phantom: every feature row within the rule.
TEST(IbsiChainPhantom, EveryFeatureWithinTolerance) {
  auto image = imaging::ReadNifti(Data("ibsi/ibsi1_digital_phantom/image.nii.gz"));
  auto mask = imaging::ReadNiftiMask(Data("ibsi/ibsi1_digital_phantom/mask.nii.gz"));
  ASSERT_TRUE(image.ok() && mask.ok());
  auto settings = IbsiConfiguration("phantom");
  ASSERT_TRUE(settings.ok());
  auto e = ExtractFeatures(image.value(), mask.value(), settings.value());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const auto table = ReadIbsiReferenceTable(IbsiReferencePath(RADFLOW_SHARED_DATA, "phantom"));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_EQ(table->size(), 482u);
  int within = 0;
  for (const auto& c : CompareWithIbsi(ByTag(e->features), table.value())) {
    if (!c.ours) {
      ADD_FAILURE() << "phantom: no value for " << c.reference.tag;
      continue;
    }
    within += c.within;
    EXPECT_TRUE(c.within) << "phantom " << c.reference.tag << ": " << *c.ours << " vs " << c.reference.printed
                          << " (allowed " << c.allowed << ")";
  }
  std::printf("digital phantom through the chain: %d of %zu features within tolerance\n", within, table->size());
}

// Configurations A-E assume CT intensities: some voxel <= -100 HU, all within [-32768, 32767].
TEST(IbsiChainErrors, CtConfigurationsNeedCtIntensities) {
  imaging::Geometry g;
  g.size = {4, 4, 4};
  const imaging::Mask roi(g, 1);
  auto c = IbsiConfiguration("C");
  ASSERT_TRUE(c.ok());
  imaging::ImageVolume grey_levels(g, 3);  // like the digital phantom
  auto r = RunChain(grey_levels, roi, c.value());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("configuration C"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("--config phantom"), std::string::npos) << r.status().message();

  ImageDiagnostics d;
  d.min = -100, d.max = 32767;
  EXPECT_TRUE(CheckCtIntensities(d, "C").ok());
  d.min = -99;
  EXPECT_FALSE(CheckCtIntensities(d, "C").ok());
  d.min = -1000, d.max = 32768;
  EXPECT_FALSE(CheckCtIntensities(d, "C").ok());
  d.min = -32769, d.max = 0;
  EXPECT_FALSE(CheckCtIntensities(d, "C").ok());

  auto phantom = IbsiConfiguration("phantom");  // no CT check: the same image is fine
  ASSERT_TRUE(phantom.ok());
  EXPECT_TRUE(phantom->ct_configuration.empty());
  EXPECT_FALSE(phantom->new_spacing);
  EXPECT_EQ(phantom->discretisation, Discretisation::kNone);
  EXPECT_TRUE(RunChain(grey_levels, roi, phantom.value()).ok());
}

TEST(IbsiChainErrors, MaskOffTheGridAndEmptyRoi) {
  imaging::Geometry g;
  g.size = {4, 4, 4};
  imaging::ImageVolume image(g, 0);
  imaging::Geometry other = g;
  other.spacing = {2, 2, 2};
  EXPECT_EQ(RunChain(image, imaging::Mask(other, 1), ChainSettings{}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(RunChain(image, imaging::Mask(g, 0), ChainSettings{}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(IbsiConfiguration('Z').ok());
  EXPECT_FALSE(IbsiConfiguration("F").ok());
  EXPECT_FALSE(IbsiConfiguration("").ok());
}

TEST(IbsiChainErrors, NonFiniteVoxelsAreRefusedByName) {
  imaging::Geometry g;
  g.size = {4, 4, 4};
  const imaging::Mask roi(g, 1);
  for (size_t at : {size_t{0}, size_t{21}}) {  // the first voxel, and one inside
    imaging::ImageVolume image(g, -500);
    image.data()[at] = std::numeric_limits<float>::quiet_NaN();
    image.data()[63] = -std::numeric_limits<float>::infinity();
    auto r = RunChain(image, roi, ChainSettings{});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("2 voxels that are NaN or infinite"), std::string::npos)
        << r.status().message();
  }
}

TEST(IbsiChainErrors, WithoutDiscretisationTheGreyLevelsMustBeWholeFromOne) {
  imaging::Geometry g;
  g.size = {4, 4, 4};
  const imaging::Mask roi(g, 1);
  auto phantom = IbsiConfiguration("phantom");
  ASSERT_TRUE(phantom.ok());
  imaging::ImageVolume levels(g, 2);
  levels.data()[5] = 6;
  EXPECT_TRUE(ExtractFeatures(levels, roi, phantom.value()).ok());
  imaging::ImageVolume hu(g, 40);  // a CT's HU as grey levels: below 1 somewhere
  hu.data()[7] = -300;
  auto r = ExtractFeatures(hu, roi, phantom.value());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("run from -300 to 40"), std::string::npos) << r.status().message();
  imaging::ImageVolume fractional(g, 2);
  fractional.data()[9] = 2.5f;
  r = ExtractFeatures(fractional, roi, phantom.value());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not all whole"), std::string::npos) << r.status().message();
  imaging::ImageVolume too_many(g, 2);
  too_many.data()[3] = 4097;
  EXPECT_FALSE(ExtractFeatures(too_many, roi, phantom.value()).ok());
}

TEST(IbsiChainErrors, AnRoiLostToInterpolationSaysSo) {
  imaging::Geometry g;
  g.size = {8, 8, 8};
  g.spacing = {0.5, 0.5, 0.5};
  imaging::ImageVolume image(g, -500);
  imaging::Mask roi(g, 0);
  roi.at(3, 3, 3) = 1;  // one 0.5 mm voxel: under half of any 2 mm voxel
  auto c = IbsiConfiguration("C");
  ASSERT_TRUE(c.ok());
  auto r = RunChain(image, roi, c.value());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("empty after interpolation to 2 mm"), std::string::npos)
      << r.status().message();
}

}  // namespace radflow::radiomics
