// A DICOM Segmentation (PS3.3 A.51) of a slide: BINARY, on the total pixel matrix of a level
// of the slide (or of a coarser grid over it), tiled and sparse (frames only where a segment
// has pixels, each placed by its Plane Position (Slide), C.8.12.6.1), in the slide's Frame of
// Reference, with its Container Identifier and Specimen (C.7.6.22), written with DCMTK
// dcmdata as highdicom writes slide SEGs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ai/app.h"
#include "base/status.h"
#include "slide/slide_reader.h"

namespace radflow::apps::pathology {

struct SlideSegment {
  std::string label;
  ai::Code category, type;
  std::vector<uint8_t> mask;  // on the SEG grid, non-zero inside
};

struct SlideSegInput {
  const slide::SlideLevel* level = nullptr;  // the source level (header copied, referenced)
  int factor = 1;                            // SEG pixel = factor x factor level pixels
  int width = 0, height = 0;                 // the SEG's total pixel matrix
  // Row and column spacing (mm) of the level's pixels: its Pixel Measures, else derived
  // from level 0's (what the area finding used). 0: unknown (see docs/apps/wsi-tissue.md).
  double level_spacing_mm[2] = {0, 0};
  std::vector<SlideSegment> segments;
  std::string manufacturer = "radflow";
  std::string algorithm_name = "wsi-tissue";
  std::string algorithm_version = "1";
  std::string algorithm_id = "wsi-tissue";  // DeviceSerialNumber (the app's id)
  int series_number = 9000;
  int tile_size = 256;  // SEG frame Rows = Columns
};

struct SlideSegWritten {
  std::string sop_instance_uid;
  std::string series_instance_uid;
  int frames = 0;
};

// kInvalidArgument for masks that do not fit the grid or no segment pixel at all;
// kInvalidDicom when the level's file cannot be read; kIoError when the file cannot be written.
Result<SlideSegWritten> WriteSlideSegmentation(const SlideSegInput& input, const std::string& path);

}  // namespace radflow::apps::pathology
