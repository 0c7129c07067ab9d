// CT quality apps: `ct-quality` (acquisition quality assurance) and `ct-denoise` (edge-
// preserving noise reduction for low-dose CT). The algorithms are pure functions of an
// ImageVolume in HU; RunCtQuality / RunCtDenoise are the thin adapters the AI engine calls
// (runner "builtin:ct-quality" / "builtin:ct-denoise"). docs/apps/ct-quality.md and
// docs/apps/ct-denoise.md document the methods, codes and measured results.
#pragma once

#include <string>

#include "ai/app.h"
#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::apps::qc {

// ---- Noise (Christianson et al., Radiology 2015: "global noise index") ----

// Voxels in homogeneous soft tissue: the in-plane window of `half_window_mm` around the
// voxel lies wholly in -300..400 HU and its mean in -100..150 HU. 2D per slice.
imaging::Mask HomogeneousRegions(const imaging::ImageVolume& image, double half_window_mm = 3.0,
                                 int threads = 1);

struct NoiseEstimate {
  double sd_hu = 0;        // mode of the local-SD histogram (the global noise index)
  double mean_hu = 0;      // mean HU over the region voxels
  double p10_sd_hu = 0;    // 10th percentile of the local SDs (a lower bound)
  size_t voxels = 0;       // region voxels used; 0 → no estimate
};

// Local SD over the same window at every voxel of `region`; its histogram's mode (0.5 HU
// bins, smoothed over 2.5 HU) is the noise. REQUIRES: region on image's grid.
NoiseEstimate EstimateNoiseInRegion(const imaging::ImageVolume& image, const imaging::Mask& region,
                                    double half_window_mm = 3.0, int threads = 1);
// HomogeneousRegions + EstimateNoiseInRegion.
NoiseEstimate EstimateNoise(const imaging::ImageVolume& image, int threads = 1);

// ---- Body and field of view ----

// Per slice: the largest 4-connected region above -500 HU after an opening of ±5 mm (the
// couch and pads fall away; the skin line is kept), holes filled.
imaging::Mask BodyMask(const imaging::ImageVolume& image, int threads = 1);

struct TruncationEstimate {
  size_t slices_with_body = 0;
  size_t truncated_slices = 0;  // body meets the edge of the FOV over >= 20 mm
  double max_contact_mm = 0;    // longest contact of the body with the FOV edge on a slice
  bool cropped_matrix = false;  // matrix not square or not a reconstruction size (likely a crop)
  double fraction() const {
    return slices_with_body ? double(truncated_slices) / double(slices_with_body) : 0.0;
  }
};

// True when a Rows × Columns matrix is not one a scanner reconstructs (square 256..1024):
// such images are crops, whose border is not the reconstruction FOV.
bool LooksCropped(size_t columns, size_t rows);

// The FOV edge is the image border, plus, where the scanner pads outside its circular
// reconstruction FOV (values below -1024 equal to the slice minimum; the loader fills voxels
// outside every slice of a resampled stack with that minimum too), that padding's rim.
// cropped_matrix is judged from the grid only when it was not resampled (`resampled`).
TruncationEstimate EstimateTruncation(const imaging::ImageVolume& image, const imaging::Mask& body,
                                      bool resampled = false);

// ---- Edge sharpness ----

// Mean 10–90 % rise distance (mm) of the body/air edge: radial profiles from the body's
// centroid on every `slice_step`-th slice (36 per slice), sampled bilinearly every 0.1 mm
// across ±`half_length_mm` of the -500 HU crossing; profiles that are not a clean
// monotone-ish air→tissue step are skipped. Returns 0 when no profile qualifies.
struct EdgeProfiles {
  double rise_mm = 0;
  size_t profiles = 0;
};
EdgeProfiles EdgeRise10to90(const imaging::ImageVolume& image, const imaging::Mask& body,
                            int slice_step = 2, double half_length_mm = 8.0);
// The same for the soft-tissue/bone edge: rays from the skin inwards (72 per slice) stop at
// the first sample above 400 HU after >= 3 mm of soft tissue (-150..300 HU); the profile runs
// from 4 mm before to 3 mm past that crossing, and the rise is measured from the soft-tissue
// plateau (first 2 mm) to the peak past the crossing (cortex is thin: no bone plateau).
EdgeProfiles BoneEdgeRise10to90(const imaging::ImageVolume& image, const imaging::Mask& body,
                                int slice_step = 2);

// ---- Denoising: Perona–Malik anisotropic diffusion, in-plane (slices stay independent) ----

struct DenoiseSettings {
  int iterations = 4;
  double time_step = 0.2;        // <= 0.25 for stability of the 4-neighbour explicit scheme
  double k_factor = 1.5;         // conductance K = k_factor × noise SD
  double noise_sd_hu = 0;        // 0: estimated (EstimateNoise)
  std::string Describe(double noise_sd_used) const;
};

// Same grid and HU scale. Slices are shared among `threads` worker threads.
imaging::ImageVolume Denoise(const imaging::ImageVolume& image, const DenoiseSettings& settings,
                             int threads);

// ---- Quality checks (each one finding) ----

struct MetalEstimate {
  size_t clusters = 0;        // 3D components of >= 10 voxels above 3000 HU
  double volume_ml = 0;       // their total volume
  // Extreme values (< -300 or > 1500 HU) among body voxels within 50 mm of metal on its
  // slices, less that fraction on the nearest slices without metal.
  double streak_fraction = 0;
};
MetalEstimate EstimateMetal(const imaging::ImageVolume& image, const imaging::Mask& body);

// ---- The apps ----

Result<ai::AppOutput> RunCtQuality(const ai::AppInput& input);
Result<ai::AppOutput> RunCtDenoise(const ai::AppInput& input);

}  // namespace radflow::apps::qc
