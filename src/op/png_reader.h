// PNG files decoded with libpng (this file's .cpp is the only one that includes it).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::op {

struct PngPixels {
  int width = 0;
  int height = 0;
  int samples = 0;  // 1 grey, 3 RGB (palette expanded; alpha dropped, see `had_alpha`)
  int bits = 0;     // 8 or 16 (1, 2, 4-bit grey expanded to 8)
  bool had_alpha = false;
  // Row-major, interleaved (PlanarConfiguration 0); 16-bit samples little-endian, as
  // DICOM's Explicit VR Little Endian pixel data wants them.
  std::vector<unsigned char> pixels;
};

// Errors name the file and libpng's reason (not a PNG, truncated, CRC error).
Result<PngPixels> ReadPng(const std::string& path);

}  // namespace radflow::op
