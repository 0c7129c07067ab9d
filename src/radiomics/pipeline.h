// From an image and an ROI to IBSI features: the processing chain (preprocess.h) then each
// feature family on the volume it is defined on (IBSI 2.1, Figure 2.1): morphology on the
// morphological mask, local intensity and intensity statistics on the interpolated
// intensities inside the intensity mask, the other families on the discretised image.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "radiomics/preprocess.h"
#include "radiomics/radiomics.h"

namespace radflow::radiomics {

struct Extraction {
  std::vector<Feature> features;
  ChainResult chain;  // the volumes and diagnostics behind them
};

// Fails where RunChain does: for the CT configurations A..E (IbsiConfiguration) that
// includes an image without plausible CT intensities — some voxel <= -100 HU and all
// within [-32768, 32767] (CheckCtIntensities, preprocess.h). Without discretisation the
// ROI's intensities are its grey levels: whole numbers from 1 to 4096, else an error.
Result<Extraction> ExtractFeatures(const imaging::ImageVolume& image, const imaging::Mask& mask,
                                   const ChainSettings& chain, const Settings& settings = {});

// Every IBSI diagnostic value of the chain under its IBSI tag (the "Diagnostics-*" rows of
// the IBSI chapter 1 reference tables): for the initial and the interpolated image
// (img_dim_*, vox_dim_*, mean/min/max_int_* over the whole image), and for the initial,
// interpolated and re-segmented ROI (int_mask_dim_*, int_mask_bb_dim_*, morph_mask_bb_dim_*,
// int_mask_vox_count, morph_mask_vox_count, int_mask_mean/min/max_int; suffixes _init_roi,
// _interp_roi, _reseg_roi). The morphological mask is the interpolated ROI throughout.
std::vector<Feature> IbsiDiagnostics(const ChainResult& chain);

// Chain settings from JSON: {"two_d": false, "new_spacing": 2, "image_interpolation":
// "linear"|"cubic"|"nearest", "roi_interpolation": ..., "resegment_range": [-1000, 400],
// "resegment_outliers": true, "discretisation": "fbs"|"fbn"|"none", "bin_width": 25,
// "bin_number": 32}. Unknown keys are an error naming them.
Result<ChainSettings> ChainSettingsFromJson(const std::string& json);

}  // namespace radflow::radiomics
