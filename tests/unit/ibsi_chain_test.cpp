// The IBSI processing chain on PAT1 against the IBSI chapter 1 diagnostic reference values
// (zrad export: dataset, family, feature, consensus, reference value, tolerance, ..., tag).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "ibsi_reference.h"
#include "imaging/nifti_io.h"
#include "imaging/rtstruct.h"
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

}  // namespace

TEST_P(IbsiChain, DiagnosticsMatchTheReference) {
  const char config = GetParam();
  auto settings = IbsiConfiguration(config);
  ASSERT_TRUE(settings.ok());
  auto r = RunChain(*image_, *mask_, settings.value());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto refs = radflow::testing::ReadIbsiReferences(RADFLOW_SHARED_DATA, config, true);
  const auto& g = r->interpolated_grid;
  const auto& ir = r->interpolated_roi;
  const auto& rr = r->resegmented_roi;
  const std::map<std::string, double> ours = {
      {"img_dim_x_interp_img", double(g.size[0])},
      {"img_dim_y_interp_img", double(g.size[1])},
      {"img_dim_z_interp_img", double(g.size[2])},
      {"vox_dim_x_interp_img", g.spacing[0]},
      {"vox_dim_y_interp_img", g.spacing[1]},
      {"vox_dim_z_interp_img", g.spacing[2]},
      {"int_mask_bb_dim_x_interp_roi", double(ir.bounding_box[0])},
      {"int_mask_bb_dim_y_interp_roi", double(ir.bounding_box[1])},
      {"int_mask_bb_dim_z_interp_roi", double(ir.bounding_box[2])},
      {"int_mask_vox_count_interp_roi", double(ir.voxels)},
      {"morph_mask_vox_count_interp_roi", double(ir.voxels)},
      {"int_mask_mean_int_interp_roi", ir.mean},
      {"int_mask_min_int_interp_roi", ir.min},
      {"int_mask_max_int_interp_roi", ir.max},
      {"int_mask_vox_count_reseg_roi", double(rr.voxels)},
      {"int_mask_mean_int_reseg_roi", rr.mean},
      {"int_mask_min_int_reseg_roi", rr.min},
      {"int_mask_max_int_reseg_roi", rr.max},
      {"int_mask_bb_dim_x_reseg_roi", double(rr.bounding_box[0])},
      {"int_mask_bb_dim_y_reseg_roi", double(rr.bounding_box[1])},
      {"int_mask_bb_dim_z_reseg_roi", double(rr.bounding_box[2])},
  };
  int checked = 0, within = 0;
  std::printf("configuration %c\n%-34s %12s %12s %10s\n", config, "tag", "radflow", "reference", "tolerance");
  for (const auto& [tag, value] : ours) {
    auto it = refs.find(tag);
    if (it == refs.end()) continue;
    ++checked;
    const bool ok = radflow::testing::WithinIbsiTolerance(value, it->second);
    within += ok;
    std::printf("%-34s %12.3f %12.3f %10.3f %s\n", tag.c_str(), value, it->second.value,
                it->second.tolerance, ok ? "ok" : "OUT");
    EXPECT_TRUE(ok) << "config " << config << " " << tag << ": " << value << " vs " << it->second.value;
  }
  std::printf("configuration %c: %d of %d diagnostic values within tolerance\n", config, within, checked);
  EXPECT_GT(checked, 5);
}

INSTANTIATE_TEST_SUITE_P(ConfigurationsAtoE, IbsiChain, ::testing::Values('A', 'B', 'C', 'D', 'E'));

TEST(IbsiChainErrors, MaskOffTheGridAndEmptyRoi) {
  imaging::Geometry g;
  g.size = {4, 4, 4};
  imaging::ImageVolume image(g, 0);
  imaging::Geometry other = g;
  other.spacing = {2, 2, 2};
  EXPECT_EQ(RunChain(image, imaging::Mask(other, 1), ChainSettings{}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(RunChain(image, imaging::Mask(g, 0), ChainSettings{}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(IbsiConfiguration('Z').ok());
}

}  // namespace radflow::radiomics
