// Pure functions on volumes: resampling onto another grid, connected components.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::imaging {

enum class Interpolation { kNearest, kLinear, kCubicBSpline };

// Samples `image` at every voxel centre of `target` (both grids in LPS). Points outside the
// source grid get `fill`, or, with `extend_edges`, the value at the nearest edge (as the
// IBSI reference implementations extrapolate). kCubicBSpline is Unser's interpolating cubic B-spline (prefiltered,
// mirror boundaries), so it passes through the samples and keeps constants constant.
ImageVolume Resample(const ImageVolume& image, const Geometry& target, Interpolation interpolation,
                     float fill = 0, bool extend_edges = false);

struct Components {
  Volume<int32_t> labels;     // 0 background, 1..N in raster order of first voxel
  std::vector<size_t> sizes;  // sizes[l - 1] = voxels with label l
};

// Labels the nonzero voxels of `mask`; connectivity 6 (faces) or 26 (faces, edges,
// corners). Returns kInvalidArgument for another connectivity.
Result<Components> ConnectedComponents(const Mask& mask, int connectivity);

}  // namespace radflow::imaging
