// Binary mathematical morphology on masks, with a ball of a radius in millimetres as the
// structuring element (so that anisotropic voxels are handled), and hole filling. Pure
// functions; outside the grid counts as background.
#pragma once

#include <array>
#include <optional>

#include "imaging/volume.h"

namespace radflow::imaging {

// Voxels within `radius_mm` (centre to centre) of a foreground voxel.
Mask Dilate(const Mask& mask, double radius_mm);
// Voxels whose whole ball of `radius_mm` is foreground.
Mask Erode(const Mask& mask, double radius_mm);
Mask Open(const Mask& mask, double radius_mm);   // erode, then dilate: removes specks
Mask Close(const Mask& mask, double radius_mm);  // dilate, then erode: closes gaps
// Background not connected (6-connectivity) to the grid's border becomes foreground.
Mask FillHoles(const Mask& mask);
// The same within each slice (4-connectivity in the (i, j) plane): a region enclosed in its
// slice is filled even where it opens into the slices above or below. Slices in parallel.
Mask FillHolesPerSlice(const Mask& mask, int threads = 1);

// The smallest index box holding every non-zero voxel (inclusive bounds); none when the
// mask is empty.
struct IndexBox {
  std::array<size_t, 3> lo, hi;
};
std::optional<IndexBox> NonZeroBox(const Mask& mask);

}  // namespace radflow::imaging
