// Internal helpers of the head app: Euclidean distance maps in mm (linear time, unlike the
// ball morphology of imaging/, so that a 512² × 300 head CT stays within the app's time
// budget).
#pragma once

#include <cstddef>
#include <vector>

#include "base/parallel.h"
#include "imaging/volume.h"

namespace radflow::apps::head {

// Squared distance (mm²) from every voxel to the nearest voxel where `feature` is nonzero
// (Felzenszwalb & Huttenlocher's separable exact transform, anisotropic spacing). With
// `in_plane`, distances are measured within each slice only. No feature: a huge value.
std::vector<float> SquaredDistance(const imaging::Mask& feature, bool in_plane, int threads);


// The largest 6-connected component of `mask` (empty mask → empty result).
imaging::Mask LargestComponent(const imaging::Mask& mask);

// The skull: the largest connected piece of bone (> bone_hu). Calcifications inside the
// cavity (pineal gland, choroid plexus, falx) are separate small pieces and are not in it.
// With `spread_slices`, the skull also covers the slice above and below each of its voxels:
// a slice of thickness t averages over t, so a skull that runs tangentially to the slices
// (vertex, skull base, orbital roofs) brightens the brain in the neighbouring slices.
imaging::Mask SkullMask(const imaging::ImageVolume& hu, double bone_hu, bool spread_slices);

}  // namespace radflow::apps::head
