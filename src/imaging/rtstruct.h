// RT Structure Set (PS3.3 A.19) ROI contours → a voxel mask on a given grid.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::imaging {

// ROIName of every item of the StructureSetROISequence (C.8.8.5), in file order.
Result<std::vector<std::string>> ListRois(const std::string& rtstruct_path);

// Rasterises the CLOSED_PLANAR contours of ROI `roi_name` (C.8.8.6) onto `grid`: a voxel is
// inside when its centre is inside an odd number of the contours of its plane (so nested
// contours make holes). Each contour goes to the grid plane nearest to it; contours more
// than half a slice from every plane are dropped. `grid` is normally the referenced image
// series' geometry (LoadSeries). Returns kNotFound for an unknown ROI name, kInvalidDicom
// for an unreadable file or malformed ContourData.
Result<Mask> RasterizeRoi(const std::string& rtstruct_path, const std::string& roi_name,
                          const Geometry& grid);

}  // namespace radflow::imaging
