// Exact Euclidean distance maps in millimetres, in linear time (Felzenszwalb &
// Huttenlocher, "Distance Transforms of Sampled Functions", 2012: the separable
// lower-envelope transform, exact for anisotropic spacing). Fast morphology at any radius
// and distance-based margins for the apps.
#pragma once

#include <vector>

#include "imaging/volume.h"

namespace radflow::imaging {

// Squared distance (mm², voxel centre to centre) from every voxel to the nearest voxel
// with (mask != 0) == target; 0 on those voxels. Along i and j only (`in_plane`: within
// each slice) or in 3D. Outside the grid counts as neither, so that structures touching
// the border are not eroded by it; no such voxel at all: a huge value (> 1e30).
std::vector<float> SquaredDistance(const Mask& mask, bool target, bool in_plane, int threads);

}  // namespace radflow::imaging
