// ct-denoise: one derived series, the input after anisotropic diffusion (denoise.cpp), on
// the same grid and HU scale; DerivationDescription (0008,2111) names method and parameters.
#include <algorithm>
#include <cstdio>
#include <string>

#include "apps/qc/qc_apps.h"
#include "apps/qc/qc_internal.h"

namespace radflow::apps::qc {

Result<ai::AppOutput> RunCtDenoise(const ai::AppInput& input) {
  const auto& g = input.image.geometry();
  if (input.image.empty() || g.size[0] < 8 || g.size[1] < 8) {
    return Status(ErrorCode::kInvalidArgument, "ct-denoise: empty or too small image");
  }
  const int threads = std::max(1, input.threads);
  DenoiseSettings settings;
  // Noise measured before and after in the same homogeneous regions of the input.
  const imaging::Mask regions = HomogeneousRegions(input.image, 3.0, threads);
  const NoiseEstimate before = EstimateNoiseInRegion(input.image, regions, 3.0, threads);
  settings.noise_sd_hu = before.sd_hu > 0 ? before.sd_hu : kFallbackNoiseHu;
  ai::DerivedSeries derived;
  derived.image = Denoise(input.image, settings, threads);
  derived.derivation_description = settings.Describe(settings.noise_sd_hu);
  std::string original = "CT";
  if (auto it = input.attributes.find("SeriesDescription"); it != input.attributes.end() && !it->second.empty()) {
    original = it->second;
  }
  derived.series_description = (original + " denoised").substr(0, 64);  // LO: 64 characters
  ai::AppOutput out;
  char summary[160];
  if (before.voxels > 0) {
    const NoiseEstimate after = EstimateNoiseInRegion(derived.image, regions, 3.0, threads);
    std::snprintf(summary, sizeof summary, "denoised: noise SD %.1f -> %.1f HU in soft tissue",
                  before.sd_hu, after.sd_hu);
  } else {
    std::snprintf(summary, sizeof summary, "denoised (no soft tissue to measure noise; K from %.0f HU)",
                  settings.noise_sd_hu);
  }
  out.summary = summary;
  out.derived.push_back(std::move(derived));
  return out;
}

}  // namespace radflow::apps::qc
