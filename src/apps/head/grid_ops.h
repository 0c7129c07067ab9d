// Internal helpers of the head app: the skull. Distance maps in
// mm come from imaging::SquaredDistance (linear time, unlike the ball morphology of
// imaging/, so that a 512² × 300 head CT stays within the app's time budget).
#pragma once

#include <cstddef>
#include <vector>

#include "base/parallel.h"
#include "imaging/distance.h"
#include "imaging/volume.h"

namespace radflow::apps::head {

// The skull: the largest connected piece of bone (> bone_hu). Calcifications inside the
// cavity (pineal gland, choroid plexus, falx) are separate small pieces and are not in it.
// With `spread_slices`, the skull also covers the slice above and below each of its voxels:
// a slice of thickness t averages over t, so a skull that runs tangentially to the slices
// (vertex, skull base, orbital roofs) brightens the brain in the neighbouring slices.
imaging::Mask SkullMask(const imaging::ImageVolume& hu, double bone_hu, bool spread_slices);

}  // namespace radflow::apps::head
