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

Result<Extraction> ExtractFeatures(const imaging::ImageVolume& image, const imaging::Mask& mask,
                                   const ChainSettings& chain, const Settings& settings = {});

// Chain settings from JSON: {"two_d": false, "new_spacing": 2, "image_interpolation":
// "linear"|"cubic"|"nearest", "roi_interpolation": ..., "resegment_range": [-1000, 400],
// "resegment_outliers": true, "discretisation": "fbs"|"fbn"|"none", "bin_width": 25,
// "bin_number": 32}. Unknown keys are an error naming them.
Result<ChainSettings> ChainSettingsFromJson(const std::string& json);

}  // namespace radflow::radiomics
