// The IBSI image processing chain (IBSI reference manual, chapter 2): interpolation onto an
// isotropic grid with aligned grid centres, intensity rounding, ROI interpolation with a
// partial-volume threshold, re-segmentation by range and by outliers, and discretisation.
// Pure functions of volumes and settings.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "imaging/resample.h"
#include "imaging/volume.h"

namespace radflow::radiomics {

enum class Discretisation { kNone, kFixedBinSize, kFixedBinNumber };

struct ChainSettings {
  bool two_d = false;                      // 2D: interpolation in-plane only
  std::optional<double> new_spacing;       // mm; none: no interpolation
  imaging::Interpolation image_interpolation = imaging::Interpolation::kLinear;
  imaging::Interpolation roi_interpolation = imaging::Interpolation::kLinear;
  double partial_volume_threshold = 0.5;
  bool round_intensities = true;           // CT: HU are integers (IBSI 2.4)
  std::optional<std::pair<double, double>> resegment_range;
  bool resegment_outliers = false;         // mean ± 3 SD of the ROI (IBSI 2.5)
  Discretisation discretisation = Discretisation::kNone;
  double bin_width = 25;                   // kFixedBinSize; lower bound = range minimum
  int bin_number = 32;                     // kFixedBinNumber
  // The intensity-volume histogram has its own discretisation (IBSI 3.5): the intensities
  // themselves (1 HU steps), a fixed bin size from the range minimum, or a bin number.
  Discretisation ivh_discretisation = Discretisation::kNone;
  double ivh_bin_width = 2.5;
  int ivh_bin_number = 1000;
};

// The five IBSI chapter 1 configurations for the lung CT (A..E).
Result<ChainSettings> IbsiConfiguration(char name);

// IBSI 2.4: n_new = ceil(n · s / s_new), and the grid centred on the original one.
imaging::Geometry InterpolationGrid(const imaging::Geometry& g, double new_spacing, bool two_d);

struct MaskDiagnostics {
  size_t dim[3] = {0, 0, 0};
  size_t bounding_box[3] = {0, 0, 0};
  size_t voxels = 0;
  double mean = 0, min = 0, max = 0;  // intensities inside
};
MaskDiagnostics Diagnose(const imaging::ImageVolume& image, const imaging::Mask& mask);

struct ChainResult {
  imaging::ImageVolume image;     // interpolated (and rounded)
  imaging::Mask morphological;    // interpolated ROI (morphological mask)
  imaging::Mask intensity;        // after re-segmentation (intensity mask)
  imaging::ImageVolume discretised;  // bin numbers inside the intensity mask, 0 outside
  MaskDiagnostics interpolated_roi, resegmented_roi;
  imaging::Geometry interpolated_grid;
};

Result<ChainResult> RunChain(const imaging::ImageVolume& image, const imaging::Mask& mask,
                             const ChainSettings& settings);

}  // namespace radflow::radiomics
