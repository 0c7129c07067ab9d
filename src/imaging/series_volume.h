// A DICOM image series (classic single-frame or enhanced multi-frame) → one ImageVolume
// on a regular, orthogonal grid, with a report of what the stack looked like.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::imaging {

struct SpacingCount {
  double mm = 0;    // a distinct gap between neighbouring slices, along the normal
  size_t gaps = 0;  // how many gaps have it (within 0.05 mm)
};

struct SeriesReport {
  size_t slice_count = 0;  // frames found (all files, all frames)
  size_t frame_count = 0;  // sum of NumberOfFrames (1 per classic image)
  // Estimated from gaps > 1.5 × median spacing: round(gap / median) - 1 per such gap.
  // A series acquired with a thicker section part-way counts those gaps too.
  size_t missing_slices = 0;
  bool nonuniform_spacing = false;
  double min_spacing = 0;  // along the slice normal, mm
  double max_spacing = 0;
  double median_spacing = 0;
  std::vector<SpacingCount> spacings;  // distinct gaps, in stacking order of first appearance
  double gantry_tilt_degrees = 0;      // slice normal vs first→last ImagePositionPatient
  bool resampled = false;              // true when the volume was interpolated onto a new grid
  float fill_value = 0;                // value of resampled voxels outside every slice
};

struct SeriesVolume {
  ImageVolume volume;
  SeriesReport report;
};

// Loads the frames of `files` (any order): sorts them by position along the slice normal
// (PS3.3 C.7.6.2.1.1), applies RescaleSlope/Intercept (C.11.1.1.2) or, for enhanced
// images, the Pixel Value Transformation functional group (C.7.6.16.2.9).
// Uniform untilted stacks are copied as is; otherwise (tilt, gaps, irregular spacing) the
// frames are interpolated onto an orthogonal grid along the slice normal (spacing = median
// gap), linearly between neighbouring slices along the stacking line, and report.resampled
// is set. Errors: kNotFound (missing file), kInvalidDicom (unreadable), kMissingAttribute
// (no geometry), kInvalidArgument (mixed sizes/orientations, duplicate positions),
// kUnsupported (compressed transfer syntax, colour, > 16 bits).
Result<SeriesVolume> LoadSeries(const std::vector<std::string>& files);

}  // namespace radflow::imaging
