// Clean Pixel Data (PS3.15 E.3.1) by OCR: each frame rendered to 8 bits (window from the
// frame's own minimum and maximum), words found by Tesseract (ocr.h), and their boxes plus
// a margin set to the frame's minimum stored value in the Pixel Data itself.
#pragma once

#include "base/status.h"

class DcmDataset;

namespace radflow::deid {

inline constexpr int kMaskMargin = 3;  // pixels added around each word's box

// REQUIRES: the data set's Pixel Data is native (uncompressed) and in memory.
// Returns the number of boxes masked; kUnsupported for pixel layouts it cannot render
// (float pixels, more than 16 bits allocated); 1-bit (binary segmentation) frames hold no
// text and return 0.
Result<int> CleanPixelData(DcmDataset& dataset);

}  // namespace radflow::deid
