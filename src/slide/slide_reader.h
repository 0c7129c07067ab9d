// A stored DICOM VL Whole Slide Microscopy series (PS3.3 A.32.8) as a pyramid: its levels
// (the VOLUME images, finest first), thumbnail, label and overview, and pixel regions of a
// level composed from its tiles (TILED_FULL and TILED_SPARSE, PS3.3 C.7.6.17.3). Used by
// the slide apps (apps/pathology) and by WADO-RS /rendered regions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::slide {

// One instance of a concatenated level (PS3.3 C.7.6.16.2.2, Concatenation): its file and
// where its frames are in the level's frame order.
struct SlidePart {
  std::string path;
  int first_frame = 0;  // ConcatenationFrameOffsetNumber (0-based frame of the level)
  int frames = 0;       // its NumberOfFrames
};

struct SlideLevel {
  std::string path;  // the Part-10 file of this level (first of a concatenation)
  std::string sop_instance_uid;
  int total_columns = 0;  // TotalPixelMatrixColumns
  int total_rows = 0;     // TotalPixelMatrixRows
  int tile_columns = 0;   // Columns
  int tile_rows = 0;      // Rows
  int frames = 0;         // NumberOfFrames (summed over a concatenation's parts)
  int samples_per_pixel = 3;
  bool tiled_full = true;  // DimensionOrganizationType TILED_FULL (or absent and implied)
  double pixel_spacing_mm[2] = {0, 0};  // row spacing, column spacing (Pixel Measures)
  // TILED_SPARSE (or no DimensionOrganizationType): the 0-based (column, row) of each
  // frame's top-left pixel in the total pixel matrix (PlanePositionSlideSequence), in frame
  // order. Empty for TILED_FULL (frames row by row, PS3.3 C.7.6.17.3).
  std::vector<std::pair<int, int>> frame_origins;
  // The instances holding the frames, in frame order: one {path, 0, frames} unless the level
  // is a concatenation. Empty (a level built by hand): ReadRegion reads `path` alone.
  std::vector<SlidePart> parts;
  // TILED_SPARSE: the frames by the tile-grid cell of their origin, so that a region finds
  // its tiles without scanning frame_origins. Cell (cx, cy), cx in [-1, across), cy in
  // [-1, down), is entry (cy + 1) * (across + 1) + cx + 1; its frames are
  // cell_frames[cell_start[i] .. cell_start[i + 1]), the first frame at each distinct
  // origin only. Built by IndexSparseFrames; empty: ReadRegion scans frame_origins.
  std::vector<int> cell_start;
  std::vector<int> cell_frames;
};

// Builds level.cell_start / cell_frames from frame_origins (ReadSlideSeries calls it).
// Origins must lie in [-tile, total) (ReadSlideSeries checks them).
void IndexSparseFrames(SlideLevel& level);

struct Slide {
  std::vector<SlideLevel> levels;  // VOLUME images, finest first (largest TotalPixelMatrixColumns)
  std::string thumbnail_path, label_path, overview_path;  // "" when absent
  std::string container_identifier;
  std::string frame_of_reference_uid;
};

// The series' files (any order). kInvalidArgument when none is a VL Whole Slide
// Microscopy image with a VOLUME level; unreadable files are kInvalidDicom naming the file.
// The parts of a concatenated level (same ConcatenationUID) become one level; a part
// missing, or frame offsets that do not add up, is kInvalidDicom naming the concatenation.
Result<Slide> ReadSlideSeries(const std::vector<std::string>& files);

// 8-bit RGB (or grey, samples 1), row-major, no padding.
struct RgbImage {
  int width = 0;
  int height = 0;
  int samples = 3;
  std::vector<uint8_t> pixels;
};

// The region [x, x+width) × [y, y+height) of the level's total pixel matrix (0-based
// pixels), composed from the tiles it covers, each decoded once; pixels outside the matrix
// or in absent sparse tiles are white (255). kInvalidArgument for an empty or oversized
// request (over 64 megapixels). Each instance the region needs is opened once per call.
Result<RgbImage> ReadRegion(const SlideLevel& level, int x, int y, int width, int height);

}  // namespace radflow::slide
