// Internal to the lung lesion detector: measurement of one candidate's mask (on a crop of
// the input grid) and the shape/density features false-positive reduction uses.
#pragma once

#include <cstddef>

#include "apps/lung/lung_apps.h"

namespace radflow::apps::lung {

constexpr float kDenseHu = -500;  // nodule (incl. part of a ground-glass rim) vs parenchyma
constexpr float kSolidHu = -300;  // solid component

// Second-moment shape and density of a candidate beyond what Lesion reports.
struct Shape {
  double p90_hu = 0;                   // 90th percentile HU (the dense core)
  size_t slices = 0;                   // axial slices the mask spans
};

// Measures `mask` (same grid as `hu`, a crop): centroid, volume, axial long/short axis
// (RECIST-like, on the slice with the largest cross-section), mean HU, solid fraction,
// class, size band; moves the mask into out->mask. Returns false for an empty mask.
bool Measure(const imaging::ImageVolume& hu, imaging::Mask mask, Lesion* out, Shape* shape);

// A mass's mask without the enhancing tissue around it (atelectasis, consolidation,
// vessels, mediastinum denser than the tumour after contrast): voxels whose 5×5 in-plane
// mean exceeds 100 HU are removed and the largest 6-connected remainder kept. Returns
// false (mask unchanged) when that keeps less than half of it.
bool TrimEnhancing(const imaging::ImageVolume& hu, imaging::Mask* mask);

constexpr double kMinDiameterMm = 3;  // Lung-RADS ignores smaller
constexpr double kMassMm = 30;        // Fleischner glossary: a mass is > 3 cm

// Everything false-positive reduction looks at besides the Lesion's own measurements.
struct Features {
  Shape shape;
  double contact = 0;      // surface fraction facing aerated lung (working grid, 6-faces)
  double wall = 0;         // surface fraction facing tissue outside the lungs
  double medial = 0;       // ... of which on the mediastinal/hilar side (between the lungs)
  double z_extent_mm = 0;  // cranio-caudal extent on the working grid
  double slice_mm = 0;     // input slice spacing
  double attached = 1;     // dense tissue connected within ~10 mm / own volume (>= 1)
};

// The first false-positive rule a candidate fails (kNone: a lesion candidate).
Reject Classify(const Lesion& les, const Features& f);
// 0..1 suspicion for ranking (not a probability).
double Suspicion(const Lesion& les, const Features& f);

}  // namespace radflow::apps::lung
