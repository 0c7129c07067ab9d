// Raw tile access to a slide's TIFF directories through libtiff (TIFFReadRawTile), so that
// JPEG tiles are copied into DICOM frames without decoding. libtiff types stay in the .cpp.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "wsi/jpeg_stream.h"

namespace radflow::wsi {

struct TiffDirectory {
  int index = 0;
  uint32_t width = 0, height = 0;
  bool tiled = false;
  uint32_t tile_width = 0, tile_height = 0;
  int compression = 1;   // TIFF Compression tag: 7 = JPEG
  int photometric = -1;  // 2 = RGB, 6 = YCbCr
  int samples_per_pixel = 0, bits_per_sample = 0;
  int planar_config = 1;
  Bytes jpeg_tables;  // JPEGTables (347), empty when absent
  Bytes icc_profile;  // InterColorProfile (34675), empty when absent
  uint64_t raw_bytes = 0;  // sum of TileByteCounts (324/325): the stored tile bytes
  uint32_t tiles_across() const { return tiled ? (width + tile_width - 1) / tile_width : 0; }
  uint32_t tiles_down() const { return tiled ? (height + tile_height - 1) / tile_height : 0; }
};

class TiffTiles {
 public:
  ~TiffTiles();
  // kInvalidArgument naming the file when libtiff cannot read it.
  static Result<std::unique_ptr<TiffTiles>> Open(const std::string& path);
  const std::vector<TiffDirectory>& directories() const { return dirs_; }
  // The stored bytes of tile (col,row) of directory `dir` (row-major tile index).
  Result<Bytes> ReadRawTile(int dir, uint32_t col, uint32_t row);
  // Whether libtiff decodes this directory's tiles to 8-bit interleaved RGB itself
  // (uncompressed, LZW, deflate, ... with Photometric RGB; not JPEG).
  static bool Decodable(const TiffDirectory& d);
  // The decoded tile: tile_width * tile_height * 3 bytes.
  Result<Bytes> ReadTile(int dir, uint32_t col, uint32_t row);

 private:
  TiffTiles() = default;
  Status Select(int dir);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<TiffDirectory> dirs_;
  int current_ = -1;
};

}  // namespace radflow::wsi
