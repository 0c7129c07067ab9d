// DICOM Segmentation objects (PS3.3 A.51 Segmentation, A.51.x Label Map Segmentation) →
// voxel masks / label volumes on an image grid.
//
// Frames are placed by their Plane Position (Patient) functional group (C.7.6.16.2.3,
// per-frame) with Plane Orientation and Pixel Measures (shared or per-frame). Each grid voxel
// of the plane a frame lies on takes the nearest frame pixel (so a SEG on the image's own
// grid is copied exactly). Supported: BINARY (1-bit, packed LSB first across frames, PS3.5
// 8.1.1), FRACTIONAL (a pixel is inside when value >= 0.5 × MaximumFractionalValue) and
// LABELMAP (pixel value = segment number; PixelPaddingValue is background). Compressed
// Pixel Data is decoded through pixel::DecodeFrame. Tiled microscopy SEGs (no
// ImagePositionPatient per frame) and projection SEGs without plane geometry are kUnsupported.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::imaging {

struct SegmentInfo {
  int number = 0;              // SegmentNumber (0062,0004)
  std::string label;           // SegmentLabel (0062,0005)
  std::string algorithm_type;  // SegmentAlgorithmType (0062,0008): AUTOMATIC, SEMIAUTOMATIC, MANUAL
};

// True when `path` is a DICOM file whose SOPClassUID is Segmentation Storage
// (1.2.840.10008.5.1.4.1.1.66.4) or Label Map Segmentation Storage (…66.7), or whose
// Modality is SEG. False for unreadable / other files (no error).
bool IsSegmentationFile(const std::string& path);

// SegmentSequence items in file order. Errors: kNotFound (no file), kInvalidDicom
// (unreadable), kInvalidArgument (not a Segmentation object).
Result<std::vector<SegmentInfo>> ListSegments(const std::string& path);

// Segment `segment` (a SegmentLabel, else a SegmentNumber written in decimal; "" = the only
// segment with a number > 0) as a mask (1 inside) on `grid`. Each frame goes to the grid
// plane nearest to it (within half a slice); a frame on no grid plane, or not parallel to
// the grid's planes, is kInvalidArgument naming the frame (1-based). kNotFound for an
// unknown segment (the message lists the segments).
Result<Mask> ReadSegment(const std::string& path, const std::string& segment, const Geometry& grid);

// All segments on `grid`: each voxel holds the number of the segment covering it (0 outside
// all; on overlap the segment listed last in SegmentSequence wins).
Result<Volume<int32_t>> ReadLabelVolume(const std::string& path, const Geometry& grid);

// The SEG's own grid: Columns × Rows in-plane, the frames' orientation and PixelSpacing;
// slices along the normal from the lowest to the highest frame position, spaced by
// SpacingBetweenSlices when present, else the smallest gap between frame positions.
Result<Geometry> SegmentationGrid(const std::string& path);

// ReadSegment on SegmentationGrid(path).
Result<Mask> ReadSegmentOnOwnGrid(const std::string& path, const std::string& segment);

}  // namespace radflow::imaging
