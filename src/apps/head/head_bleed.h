// ct-head-bleed: suspected intracranial haemorrhage on non-contrast head CT, by classical
// image analysis (skull stripping, then hyperdense 50–90 HU clusters in the parenchyma).
// Triage support that puts a study first on the worklist, never a diagnosis: a negative
// result does not rule out haemorrhage (docs/apps/ct-head-bleed.md lists the limits).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "ai/app.h"
#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::apps::head {

struct HeadBleedSettings {
  double bone_hu = 300;           // skull (and dense calcification)
  double tissue_low_hu = -20;     // intracranial soft tissue and CSF, with noise
  double tissue_high_hu = 100;
  double skull_gap_mm = 10;       // narrower gaps in the skull (foramina, sutures) close the cavity
  double skull_margin_mm = 5;     // brain voxels nearer the skull are dropped (partial volume)
  double edge_margin_mm = 2;      // and voxels nearer the cavity's own edge (air, orbits)
  double blood_low_hu = 50;       // acute blood, after smoothing
  double blood_high_hu = 90;
  double min_volume_ml = 0.5;     // smaller clusters are noise or partial volume
  double min_thickness_mm = 3;    // thinner clusters are rims (falx, tentorium, beam hardening)
  double skull_zone_mm = 10;      // clusters mostly this near the skull are partial volume or
  double max_skull_zone_fraction = 0.5;  // skull-base beam hardening (or extra-axial: missed)
  double calcification_hu = 100;  // dense voxels near a cluster mean calcification
  double max_calcified_fraction = 0.05;  // dense volume around a cluster / cluster volume
  double max_mean_hu = 85;        // denser clusters on average are calcified or bone
  double working_spacing_mm = 1.0;  // finer voxels are block-averaged to about this first
  int threads = 1;
};

struct BleedCandidate {
  imaging::Vec3 center{};       // LPS, mm
  double volume_ml = 0;
  double longest_axial_mm = 0;  // longest diameter in a slice plane (Feret)
  double mean_hu = 0;           // unsmoothed
  double skull_distance_mm = 0; // nearest voxel to the skull
  double near_skull_fraction = 0;  // of its voxels within skull_zone_mm of the skull
  double thickness_mm = 0;      // twice the largest inner distance
  double calcified_fraction = 0;
  double score = 0;             // 0..1, from volume and contrast
  bool accepted = false;
  std::string rejection;        // why not, when not accepted
  int label = 0;                // its value in DetectHyperdense's labels volume
};

// The working grid's integer block factors per axis for an input grid: voxels of about
// settings.working_spacing_mm, 1 on axes that are not finer.
std::array<size_t, 3> WorkingFactors(const imaging::Geometry& input, const HeadBleedSettings& s);
// Block-averages `hu` by WorkingFactors (imaging::BlockMean: block centres keep the LPS
// geometry); a copy when no axis is finer.
imaging::ImageVolume WorkingGrid(const imaging::ImageVolume& hu, const HeadBleedSettings& s);

// The intracranial soft tissue away from the skull (skull stripping): per slice, the region
// that bone > bone_hu encloses up to gaps of skull_gap_mm, minus bone, restricted to tissue
// HU; the largest 3D component; then eroded by skull_margin_mm from the skull (spread one
// slice up and down for partial volume) and edge_margin_mm from the cavity's edge.
// kInvalidArgument for an empty volume; kNotFound when no skull encloses anything.
// `skull_distance2` (optional) receives each voxel's squared distance (mm²) to that spread
// skull, which DetectHyperdense needs too.
Result<imaging::Mask> BrainMask(const imaging::ImageVolume& hu, const HeadBleedSettings& s,
                                std::vector<float>* skull_distance2 = nullptr);
Result<imaging::Mask> BrainMask(const imaging::ImageVolume& hu);

// Hyperdense clusters inside `brain` (same grid as `hu`): in-plane 3×3 median, voxels in
// [blood_low_hu, blood_high_hu], 6-connected components; every component of at least half
// min_volume_ml is returned with its measurements and whether it is accepted. `labels`
// (optional) receives each returned candidate's voxels with its `label`. `skull_distance2`:
// BrainMask's, when at hand (computed here otherwise).
std::vector<BleedCandidate> DetectHyperdense(const imaging::ImageVolume& hu, const imaging::Mask& brain,
                                             const HeadBleedSettings& s,
                                             imaging::Volume<int32_t>* labels = nullptr,
                                             const std::vector<float>* skull_distance2 = nullptr);

// The app: AppInput (HU) → a critical "Intracranial hemorrhage" finding and a SEG segment per
// accepted cluster, or no findings and summary "no suspected haemorrhage". A study with a
// ContrastBolusAgent is not analysed (no findings, summary "not analysed: ..."). Errors:
// kInvalidArgument (empty image), kNotFound (no skull-enclosed tissue: not a head CT).
Result<ai::AppOutput> RunHeadBleed(const ai::AppInput& input);
Result<ai::AppOutput> RunHeadBleed(const ai::AppInput& input, HeadBleedSettings s);

}  // namespace radflow::apps::head
