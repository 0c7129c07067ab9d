// Internal grid helpers of the lung apps: morphology at any radius by distance maps in mm,
// the working grid's block factors and per-slice convex hulls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/parallel.h"
#include "imaging/volume.h"

namespace radflow::apps::lung::grid {

// Morphology by distance maps (imaging::SquaredDistance), at any radius in linear time.
imaging::Mask Dilate(const imaging::Mask& m, double radius_mm, bool in_plane, int threads);
imaging::Mask Erode(const imaging::Mask& m, double radius_mm, bool in_plane, int threads);
// Closing united with the input (so it is extensive even at the border).
imaging::Mask Close(const imaging::Mask& m, double radius_mm, bool in_plane, int threads);
imaging::Mask Open(const imaging::Mask& m, double radius_mm, bool in_plane, int threads);

// Per slice, the convex hull of the foreground, filled.
imaging::Mask ConvexHull2D(const imaging::Mask& m, int threads);

// Block sizes of the working grid: ~1.6 mm pixels, ~2 mm slices (thin slices are paired).
struct Factors {
  size_t xy = 1, z = 1;
  // As imaging::BlockMean / BlockExpand take them.
  std::array<size_t, 3> blocks() const { return {xy, xy, z}; }
};
Factors WorkingFactors(const imaging::Geometry& g);

// Which way along k is superior (+z in LPS): +1 or -1.
int SuperiorStep(const imaging::Geometry& g);

}  // namespace radflow::apps::lung::grid
