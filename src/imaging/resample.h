// Pure functions on volumes: resampling onto another grid, connected components.
#pragma once

#include <array>
#include <cstddef>
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

// Mean over blocks of f[0] × f[1] × f[2] voxels (the last block along an axis may be
// partial): a coarser working grid whose voxel centres are the blocks' centres, covering
// the same LPS extent. All factors 1: the volume itself. Slices in parallel.
ImageVolume BlockMean(const ImageVolume& v, std::array<size_t, 3> f, int threads);
// Back from a BlockMean grid onto `fine`, the grid it started from: every voxel takes the
// value of its block.
Mask BlockExpand(const Mask& coarse, const Geometry& fine, std::array<size_t, 3> f, int threads);

struct Components {
  Volume<int32_t> labels;     // 0 background, 1..N in raster order of first voxel
  std::vector<size_t> sizes;  // sizes[l - 1] = voxels with label l
};

// Labels the nonzero voxels of `mask`; connectivity 6 (faces) or 26 (faces, edges,
// corners). Returns kInvalidArgument for another connectivity.
Result<Components> ConnectedComponents(const Mask& mask, int connectivity);
// The largest 6-connected component of `mask` (the first in raster order on a tie); an
// empty mask for an empty one.
Mask LargestComponent(const Mask& mask);

}  // namespace radflow::imaging
