// radiomics: IBSI chapter 1 features (Zwanenburg et al., Radiology 2020; ibsi.readthedocs.io)
// as pure functions of (discretised volume, mask, settings). No I/O here.
//
// REQUIRES for every family: `discretised` holds grey levels 1..Ng (integers stored as float;
// the IBSI digital phantom is already discretised, bin = grey level) and `mask` is on the
// same grid (non-zero = inside the ROI). Ng is the highest grey level inside the ROI.
// An empty ROI, or a mask whose size differs from the image's, yields no features. Each feature is
// named by its IBSI tag, with the aggregation suffix of the IBSI reference tables (_2D_avg,
// _2_5D_comb, _3D, ...). 2D and 2.5D aggregations treat k (the third index) as the slice axis.
// Thread-safety: all functions are reentrant.
#pragma once

#include <string>
#include <vector>

#include "imaging/volume.h"

namespace radflow::radiomics {

using imaging::ImageVolume;
using imaging::Mask;

struct Feature {
  std::string tag;  // IBSI tag, e.g. "stat_mean", "cm_joint_max_3D_avg"
  double value;
};

// Distances below 1 count as 1.
struct Settings {
  int glcm_distance = 1;   // Chebyshev distance between voxel pairs (IBSI 3.6)
  int ngtdm_distance = 1;  // neighbourhood radius (IBSI 3.10)
  int ngldm_distance = 1;  // neighbourhood radius (IBSI 3.11)
  int ngldm_alpha = 0;     // coarseness parameter (IBSI 3.11)
};

// IBSI 3.1 morphology of the mask (REQUIRES an axis-aligned grid): mesh volume and area
// from marching cubes, shape ratios, PCA axes, bounding-box, ellipsoid and convex-hull
// densities, and, from `image`, centre-of-mass shift, integrated intensity,
// Moran's I and Geary's C (these two only for ROIs of at most 20000 voxels: the cost is
// quadratic). Not computed: oriented bounding box, minimum-volume enclosing ellipsoid
// (IBSI gives no reference values for them).
// `autocorrelation` false leaves Moran's I and Geary's C out: the pipeline computes them on
// the intensity mask instead, and they are the costliest morphology features.
std::vector<Feature> Morphology(const ImageVolume& image, const Mask& mask, bool autocorrelation = true);
// IBSI 3.2 local intensity peaks: mean intensity in a 1 cm^3 sphere (voxel centres within
// it, inside the ROI or not) around the ROI voxel(s) of highest intensity (loc_peak_loc)
// and the highest such mean over all ROI voxels (loc_peak_glob). Uses the spacing.
std::vector<Feature> LocalIntensity(const ImageVolume& image, const Mask& mask);
// IBSI 3.3, on the intensities inside the ROI (tags stat_*).
std::vector<Feature> IntensityStatistics(const ImageVolume& image, const Mask& mask);
// IBSI 3.4, on the discretised grey levels (tags ih_*).
std::vector<Feature> IntensityHistogram(const ImageVolume& discretised, const Mask& mask);
// IBSI 3.5 for a discretised volume: grey levels from the ROI minimum to maximum in steps
// of 1 (tags ivh_v10, ivh_v90, ivh_i10, ivh_i90, ivh_diff_*; the AUC is not computed).
std::vector<Feature> IntensityVolumeHistogram(const ImageVolume& discretised, const Mask& mask);
// The same from the ROI's (discretised) values and an explicit set of levels: first,
// first + step, ... up to hi; the intensity fraction of a level is (level - lo) / (hi - lo).
struct IvhLevels {
  double first, step, lo, hi;
};
std::vector<Feature> IntensityVolumeHistogram(std::vector<double> values, const IvhLevels& levels);
// IBSI 3.6, symmetric co-occurrence matrices; 2D/2.5D/3D × averaged/merged (tags cm_*).
std::vector<Feature> Glcm(const ImageVolume& discretised, const Mask& mask, const Settings& s);
// IBSI 3.7, run lengths; 2D/2.5D/3D × averaged/merged (tags rlm_*).
std::vector<Feature> Glrlm(const ImageVolume& discretised, const Mask& mask);
// IBSI 3.8, zones (8-connected in 2D, 26-connected in 3D); 2D, 2.5D, 3D (tags szm_*).
std::vector<Feature> Glszm(const ImageVolume& discretised, const Mask& mask);
// IBSI 3.9, zones by distance to the ROI edge (4-/6-connected distance) (tags dzm_*).
// `distance_mask`, when given, is the mask distances to the edge are measured in (the
// morphological mask; IBSI 3.9), else `mask`.
std::vector<Feature> Gldzm(const ImageVolume& discretised, const Mask& mask,
                           const Mask* distance_mask = nullptr);
// IBSI 3.10 (tags ngt_*).
std::vector<Feature> Ngtdm(const ImageVolume& discretised, const Mask& mask, const Settings& s);
// IBSI 3.11 (tags ngl_*).
std::vector<Feature> Ngldm(const ImageVolume& discretised, const Mask& mask, const Settings& s);

// Every family above, in that order. Local intensity and intensity statistics are computed
// on `discretised` too: right for the IBSI digital phantom (already discretised), while a
// real image needs them called on its intensities.
std::vector<Feature> ComputeAll(const ImageVolume& discretised, const Mask& mask,
                                const Settings& settings);

}  // namespace radflow::radiomics
