// libtiff lives in this file only.
#include "wsi/tiff_tiles.h"

#include <tiffio.h>

#include <cstdarg>

namespace radflow::wsi {

struct TiffTiles::Impl {
  TIFF* tif = nullptr;
};

TiffTiles::~TiffTiles() {
  if (impl_ && impl_->tif) TIFFClose(impl_->tif);
}

namespace {
// libtiff's default handlers print to stderr; the caller reports failures itself. Set per
// handle (TIFFOpenExt, libtiff 4.5), so other libtiff users in the process keep theirs;
// returning 1 stops libtiff from also calling the process-wide handler.
int Silent(TIFF*, void*, const char*, const char*, va_list) { return 1; }
}  // namespace

Result<std::unique_ptr<TiffTiles>> TiffTiles::Open(const std::string& path) {
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  if (!opts) return Status(ErrorCode::kInternal, "libtiff: out of memory");
  TIFFOpenOptionsSetErrorHandlerExtR(opts, Silent, nullptr);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, Silent, nullptr);
  TIFF* tif = TIFFOpenExt(path.c_str(), "rm", opts);  // m: no memory mapping of huge files
  TIFFOpenOptionsFree(opts);  // the handle keeps its own copy of the handlers
  if (!tif) return Status(ErrorCode::kInvalidArgument, path + ": not a TIFF file libtiff can read");
  std::unique_ptr<TiffTiles> t(new TiffTiles());
  t->impl_ = std::make_unique<Impl>();
  t->impl_->tif = tif;
  int index = 0;
  do {
    TiffDirectory d;
    d.index = index;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &d.width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &d.height);
    d.tiled = TIFFIsTiled(tif) != 0;
    if (d.tiled) {
      TIFFGetField(tif, TIFFTAG_TILEWIDTH, &d.tile_width);
      TIFFGetField(tif, TIFFTAG_TILELENGTH, &d.tile_height);
    }
    uint16_t v16 = 0;
    if (TIFFGetField(tif, TIFFTAG_COMPRESSION, &v16)) d.compression = v16;
    if (TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &v16)) d.photometric = v16;
    if (TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &v16)) d.samples_per_pixel = v16;
    if (TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &v16)) d.bits_per_sample = v16;
    if (TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &v16)) d.planar_config = v16;
    uint32_t count = 0;
    void* data = nullptr;
    if (d.compression == COMPRESSION_JPEG && TIFFGetField(tif, TIFFTAG_JPEGTABLES, &count, &data) && data) {
      auto* p = static_cast<const uint8_t*>(data);
      d.jpeg_tables.assign(p, p + count);
    }
    uint64_t* counts = nullptr;
    if (d.tiled && TIFFGetField(tif, TIFFTAG_TILEBYTECOUNTS, &counts) && counts) {
      const ttile_t n = TIFFNumberOfTiles(tif);
      for (ttile_t i = 0; i < n; ++i) d.raw_bytes += counts[i];
    }
    if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, &count, &data) && data) {
      auto* p = static_cast<const uint8_t*>(data);
      d.icc_profile.assign(p, p + count);
    }
    t->dirs_.push_back(std::move(d));
    ++index;
  } while (TIFFReadDirectory(tif));
  t->current_ = index - 1;
  return t;
}

Result<Bytes> TiffTiles::ReadRawTile(int dir, uint32_t col, uint32_t row) {
  if (dir < 0 || dir >= static_cast<int>(dirs_.size()) || !dirs_[dir].tiled) {
    return Status(ErrorCode::kInvalidArgument, "no tiled TIFF directory " + std::to_string(dir));
  }
  RADFLOW_RETURN_IF_ERROR(Select(dir));
  TIFF* tif = impl_->tif;
  const TiffDirectory& d = dirs_[dir];
  const ttile_t tile = static_cast<ttile_t>(row * d.tiles_across() + col);
  if (tile >= TIFFNumberOfTiles(tif)) return Status(ErrorCode::kInvalidArgument, "tile index out of range");
  uint64_t* counts = nullptr;
  if (!TIFFGetField(tif, TIFFTAG_TILEBYTECOUNTS, &counts) || !counts) {
    return Status(ErrorCode::kInvalidArgument, "TIFF directory without TileByteCounts");
  }
  const uint64_t size = counts[tile];
  if (size == 0 || size > (1u << 30)) return Status(ErrorCode::kInvalidArgument, "TIFF tile of bad size");
  Bytes out(size);
  const tmsize_t got = TIFFReadRawTile(tif, tile, out.data(), static_cast<tmsize_t>(size));
  if (got < 0) return Status(ErrorCode::kIoError, "TIFFReadRawTile failed on tile " + std::to_string(tile));
  out.resize(static_cast<size_t>(got));
  return out;
}

Status TiffTiles::Select(int dir) {
  if (current_ != dir) {
    if (!TIFFSetDirectory(impl_->tif, static_cast<tdir_t>(dir))) {
      return Status(ErrorCode::kIoError, "cannot read TIFF directory " + std::to_string(dir));
    }
    current_ = dir;
  }
  return Status::Ok();
}

bool TiffTiles::Decodable(const TiffDirectory& d) {
  return d.tiled && d.compression != COMPRESSION_JPEG && d.compression != COMPRESSION_OJPEG &&
         d.photometric == PHOTOMETRIC_RGB && d.samples_per_pixel == 3 && d.bits_per_sample == 8 &&
         d.planar_config == PLANARCONFIG_CONTIG && TIFFIsCODECConfigured(static_cast<uint16_t>(d.compression));
}

Result<Bytes> TiffTiles::ReadTile(int dir, uint32_t col, uint32_t row) {
  if (dir < 0 || dir >= static_cast<int>(dirs_.size()) || !Decodable(dirs_[dir])) {
    return Status(ErrorCode::kUnsupported, "TIFF directory " + std::to_string(dir) + " is not decodable here");
  }
  RADFLOW_RETURN_IF_ERROR(Select(dir));
  const TiffDirectory& d = dirs_[dir];
  Bytes out(static_cast<size_t>(d.tile_width) * d.tile_height * 3);
  if (TIFFTileSize(impl_->tif) != static_cast<tmsize_t>(out.size())) {
    return Status(ErrorCode::kUnsupported, "unexpected TIFF tile size");
  }
  const tmsize_t got = TIFFReadTile(impl_->tif, out.data(), col * d.tile_width, row * d.tile_height, 0, 0);
  if (got < 0) return Status(ErrorCode::kIoError, "cannot decode TIFF tile " + std::to_string(col) + "," + std::to_string(row));
  return out;
}

}  // namespace radflow::wsi
