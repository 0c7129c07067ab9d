// The feature vector of a lesion finding for similar-case search (docs/similar-cases.md):
// IBSI morphology and intensity statistics (radiomics, IBSI chapter 3) of the finding's
// SEG segment on its CT, and the app's measurements. Every feature is invariant under a
// rigid motion of the patient (rotation, translation): a lesion and its moved copy have the
// same vector up to the resampling of the mask.
//
// Pure functions; no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::similar {

// Bumped whenever the names, their order or their definitions change: cached vectors of
// another set are computed again.
inline constexpr const char* kFeatureSet = "v1";

// The names, in vector order (see docs/similar-cases.md for the definitions).
const std::vector<std::string>& FeatureNames();

// What a finding row says about the lesion (ai_findings columns and details_json).
struct LesionFacts {
  double volume_ml = 0;             // the app's volume (0: none)
  double size_mm = 0;               // the app's long axis
  std::optional<double> mean_hu;    // the app's "Mean" measurement, when it gives one
  std::string seg_sop_uid;          // details.segmentation: the SEG holding its segment
  int segment_number = 0;
};

// Reads details_json's "measurements" and "segmentation". Unparseable JSON gives the
// columns only.
LesionFacts ParseLesionFacts(double volume_ml, double size_mm, const std::string& details_json);

// A finding is a lesion for similar-case search when its app outlined it (a SEG segment)
// and measured a size: nodules, masses, haemorrhages — not whole-organ measurements
// (emphysema: no size) nor image-quality warnings (no segment).
bool IsLesion(const LesionFacts& facts);

// From the CT (HU) and the lesion's mask on the same grid (any orthonormal direction):
// the mask's bounding box plus 2 voxels is cropped and interpolated onto 1 mm isotropic
// voxels (IBSI 2.4: linear, the ROI at a partial-volume threshold of 0.5), then
// radiomics::Morphology and radiomics::IntensityStatistics. `facts.volume_ml` (> 0) is the volume used; else the
// mesh volume. InvalidArgument for an empty mask or differing grids.
Result<std::vector<double>> FeaturesFromMask(const imaging::ImageVolume& hu, const imaging::Mask& mask,
                                             const LesionFacts& facts);

// Without a mask (no SEG, or it could not be read): the app's measurements where a feature
// has an equivalent (volume; major axis from the long axis as for a sphere, 4/√5 × radius;
// mean HU), NaN for the others — the index puts a NaN at the feature's mean (z = 0).
std::vector<double> FeaturesFromMeasurements(const LesionFacts& facts);

}  // namespace radflow::similar
