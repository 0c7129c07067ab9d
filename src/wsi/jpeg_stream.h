// JPEG bitstream helpers for WSI import: completing a TIFF's abbreviated tile streams
// (TIFF Technical Note 2, JPEGTables) and encoding computed tiles as baseline JPEG
// (ISO 10918-1, DICOM JPEG Baseline Process 1, PS3.5 A.4.1). No third-party types here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::wsi {

using Bytes = std::vector<uint8_t>;

// What the frame header (SOF) of a stream says.
struct JpegInfo {
  bool baseline = false;  // SOF0 (8-bit Huffman, sequential)
  int width = 0, height = 0, components = 0;
  int max_h = 1, max_v = 1;          // largest sampling factors
  bool chroma_subsampled = false;    // a component sampled below the largest factors
  bool has_jfif = false, has_adobe = false;
  int adobe_transform = -1;          // APP14 transform flag, -1 when absent
};

// Walks the markers up to the first SOS. kInvalidArgument when it is not a JPEG stream.
Result<JpegInfo> ParseJpeg(const uint8_t* data, size_t size);

// The tile as a complete interchange stream: SOI, the tables of `tables` (a JPEGTables
// abbreviated table-specification stream: SOI tables EOI), then the tile after its SOI.
// With `adobe_rgb`, an APP14 "Adobe" segment with transform 0 follows the SOI, so that any
// decoder reads the components as RGB without colour transform (T.872 6.5.3; Aperio
// "JPEG/RGB" tiles carry component ids 0,1,2, which decoders otherwise take as YCbCr).
// Empty tables: the tile is copied as it is.
Result<Bytes> SpliceTables(const Bytes& tables, const Bytes& tile, bool adobe_rgb);

enum class JpegColour { kYbr422, kRgb };
// Baseline JPEG of interleaved 8-bit RGB (width*height*3): kYbr422 converts to YCbCr with
// 2x1 chroma subsampling (DICOM YBR_FULL_422); kRgb encodes the RGB components as they are,
// marked with APP14 transform 0 (DICOM RGB).
Result<Bytes> EncodeJpeg(const uint8_t* rgb, int width, int height, int quality, JpegColour colour);

// Decodes a baseline JPEG to interleaved RGB (for tests and for computing levels from
// copied tiles); the colour space follows the stream's markers.
Result<Bytes> DecodeJpeg(const Bytes& stream, int* width, int* height);

}  // namespace radflow::wsi
