// The IBSI image processing chain (IBSI reference manual, chapter 2): interpolation onto an
// isotropic grid with aligned grid centres, intensity rounding, ROI interpolation with a
// partial-volume threshold, re-segmentation by range and by outliers, and discretisation.
// Pure functions of volumes and settings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
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
  // Set ("A".."E") for the IBSI CT configurations: RunChain then refuses an image without
  // plausible CT intensities (CheckCtIntensities), naming the configuration.
  std::string ct_configuration;
};

// The IBSI chapter 1 settings by name (IBSI reference manual, chapter 5, reference data sets):
// "A".."E", the five configurations for the lung CT (these are CT settings: a range in HU,
// a 25 HU bin width, intensities rounded to whole HU), and "phantom", the digital phantom's:
// no interpolation, no re-segmentation, no discretisation (its grey levels are the bins),
// the intensity-volume histogram on the grey levels in steps of 1.
Result<ChainSettings> IbsiConfiguration(std::string_view name);
inline Result<ChainSettings> IbsiConfiguration(char name) { return IbsiConfiguration(std::string_view(&name, 1)); }

// IBSI 2.4: n_new = ceil(n · s / s_new), and the grid centred on the original one.
imaging::Geometry InterpolationGrid(const imaging::Geometry& g, double new_spacing, bool two_d);

struct MaskDiagnostics {
  size_t dim[3] = {0, 0, 0};
  size_t bounding_box[3] = {0, 0, 0};
  size_t voxels = 0;
  double mean = 0, min = 0, max = 0;  // intensities inside
};
MaskDiagnostics Diagnose(const imaging::ImageVolume& image, const imaging::Mask& mask);

// The IBSI image diagnostics (IBSI chapter 1 reference tables, "Diagnostics-* image"):
// the grid, and the intensities over every voxel of the image.
struct ImageDiagnostics {
  size_t dim[3] = {0, 0, 0};
  double spacing[3] = {0, 0, 0};
  double mean = 0, min = 0, max = 0;  // over the finite voxels
  size_t non_finite = 0;               // NaN or infinite voxels
};
ImageDiagnostics DiagnoseImage(const imaging::ImageVolume& image);

// The rule for plausible CT intensities, which configurations A..E assume (their ranges are
// in HU): some voxel <= -100 HU (air, lung or fat are in every body CT) and every voxel
// within [-32768, 32767] (the 16-bit range of CT pixel data). An image outside it (the
// digital phantom's grey levels 1..6, an MR, a PET) is an error naming `configuration`,
// the image's intensity range and the way out (the phantom settings or a JSON file).
Status CheckCtIntensities(const ImageDiagnostics& image, const std::string& configuration);

struct ChainResult {
  imaging::ImageVolume image;     // interpolated (and rounded)
  imaging::Mask morphological;    // interpolated ROI (morphological mask)
  imaging::Mask intensity;        // after re-segmentation (intensity mask)
  imaging::ImageVolume discretised;  // bin numbers inside the intensity mask, 0 outside
  ImageDiagnostics initial_image, interpolated_image;
  // initial_roi: the given mask on the given image; interpolated_roi: the morphological mask
  // (= the intensity mask before re-segmentation); resegmented_roi: the intensity mask.
  MaskDiagnostics initial_roi, interpolated_roi, resegmented_roi;
  imaging::Geometry interpolated_grid;
};

// Fails on a mask off the image grid, an empty image, an image holding NaN or infinite
// voxels (interpolation would spread them and no feature is defined on them), an ROI empty
// before or after re-segmentation, and,
// when settings.ct_configuration is set, an image CheckCtIntensities rejects.
Result<ChainResult> RunChain(const imaging::ImageVolume& image, const imaging::Mask& mask,
                             const ChainSettings& settings);

}  // namespace radflow::radiomics
