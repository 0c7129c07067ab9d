// Built-in chest CT apps (classical image analysis, no learning): lung segmentation,
// lung lesion detection (ct-lung-lesions) and emphysema quantification (ct-emphysema).
// Pure functions of an HU volume; the AI engine turns AppOutput into SEG / SR / findings.
// Not a diagnosis: results support, never replace, a radiologist's reading.
#pragma once

#include <string>
#include <vector>

#include "ai/app.h"
#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::apps::lung {

// Masks on the grid of the volume given to SegmentLungs (1 inside, 0 outside).
struct LungMasks {
  imaging::Mask left;    // patient left lung (LPS +x side), vessels inside filled in
  imaging::Mask right;   // patient right lung
  imaging::Mask airway;  // trachea and main bronchi outside the lungs (air lumen)
  imaging::Mask body;    // the patient (largest > -500 HU component, 2D-hull filled)
};

// Lungs of a chest CT in HU: air (< -400 HU) inside the body's per-slice convex hull,
// trachea/bronchi tracked from the top slice down and removed, small or non-overlapping
// air (bowel gas) dropped, left/right from the two largest components (or one component
// split at the body's centre). Handles lungs touching the volume border (cropped CT).
// `threads` >= 1. Errors: kInvalidArgument (empty or < 3 slices), kNotFound (no lung air).
Result<LungMasks> SegmentLungs(const imaging::ImageVolume& hu, int threads = 1);

enum class LesionClass { kSolid, kPartSolid, kGroundGlass };

struct Lesion {
  imaging::Vec3 center{};      // LPS, mm (centroid)
  double volume_ml = 0;
  double long_axis_mm = 0;     // longest in-plane (axial) diameter
  double short_axis_mm = 0;    // longest diameter perpendicular to it, same slice
  double mean_hu = 0;
  double solid_fraction = 0;   // voxels > -300 HU / all voxels of the lesion
  double elongation = 0;       // sqrt(λ1/λ2) of the voxel coordinates' covariance
  LesionClass type = LesionClass::kSolid;
  std::string lung_rads;       // size-only Lung-RADS v2022 solid-nodule category: 2, 3, 4A, 4B
  double score = 0;            // 0..1 suspicion, for ranking
  imaging::Mask mask;          // on the input grid
};

// Why false-positive reduction dropped a candidate (kNone: kept).
enum class Reject {
  kNone,
  kSmall,     // mean axial diameter < 3 mm
  kLarge,     // long axis > 150 mm
  kEnclosed,  // < 15 % of the surface faces aerated lung (chest wall, mediastinum)
  kTubular,   // vessel: elongated (principal axes of the 3D moments), λ1/λ2 > 9
  kFlat,      // plate: z extent < 0.3 × long axis (diaphragm dome, fissure)
  kHilar,     // < 3 cm, >= 40 % against the mediastinum and elongated or branching (hilar
              // vessels), or >= 65 % against it (a node or vessel bulging into the lung)
  kVesselTree,  // dense tissue connected within 10 mm > 2.5 × its volume: a vessel
                // junction the opening cut out of its tree (unless sphere-like)
  kRim,       // partial-volume rim along the chest wall / diaphragm (no solid core, or a
              // one-slice plate wider than 1.5 slices)
  kFaint,     // no solid core: 90th percentile < -100 HU
  kCount
};

// What DetectLesions saw: distinct candidates (the two lung-region hypotheses merged) and
// how many each false-positive rule removed; by_reason[kNone] is the number kept, before
// the max_lesions cap.
struct LesionStats {
  size_t candidates = 0;
  size_t by_reason[size_t(Reject::kCount)] = {};
};

// Candidates inside the lungs: dense (> -500 HU) tissue within each lung closed by 30 mm
// in-plane, and within its per-slice convex hull; opened by 3 mm to cut vessels (6 and
// 10 mm for components too large to be one lesion); false positives removed by size (mean
// diameter >= 3 mm, long axis <= 150 mm), lung contact, 3D moment shape (tubular, flat),
// solid core and hilar position (see Reject); ranked by score, at most `max_lesions`, each
// with its mask on the input grid. With `lungs`, also returns the left and right lung masks
// on the input grid (airway and body left empty); with `stats`, the rejection counts.
// Errors: those of SegmentLungs.
Result<std::vector<Lesion>> DetectLesions(const imaging::ImageVolume& hu, int threads = 1,
                                          size_t max_lesions = 10, LungMasks* lungs = nullptr,
                                          LesionStats* stats = nullptr);

// Lung densitometry (ct-emphysema) over the voxels of `hu` where `lung` is non-zero
// (same grid). All zero when the mask is empty.
struct LungDensity {
  double volume_ml = 0;
  double laa950_percent = 0;  // % of lung voxels < -950 HU
  double perc15_hu = 0;       // 15th percentile of lung HU (1 HU bins)
  double mean_hu = 0;
  size_t voxels = 0;
};
LungDensity MeasureDensity(const imaging::ImageVolume& hu, const imaging::Mask& lung);

// The apps (runner "builtin:ct-lung-lesions" / "builtin:ct-emphysema").
Result<ai::AppOutput> RunLungLesions(const ai::AppInput& input);
Result<ai::AppOutput> RunEmphysema(const ai::AppInput& input);

}  // namespace radflow::apps::lung
