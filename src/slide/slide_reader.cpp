// ReadRegion: a region of a level's total pixel matrix composed from its tiles (TILED_FULL
// frame order and TILED_SPARSE positions, PS3.3 C.7.6.17.3), each decoded once by
// radflow_pixel and made 8-bit. Each instance (concatenation part) the region needs is
// opened once per call through pixel::FrameDecoder, so that its header is parsed once, not
// once per tile.
#include "slide/slide_reader.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include "pixel/pixel_data.h"

namespace radflow::slide {
namespace {

constexpr long long kMaxRegionPixels = 64LL * 1024 * 1024;

struct Tile {
  int frame = 0;  // 0-based, in the level's frame order (across a concatenation's parts)
  int x = 0, y = 0;
};

// The frames whose tile meets the region [x, x+w) x [y, y+h) (inside the matrix): TILED_FULL
// row by row (first focal plane and optical path come first, PS3.3 C.7.6.17.3); sparse by
// position, the first frame at a position standing for it (further focal planes / optical
// paths ignored), found through the level's cell index. Sorted by frame.
std::vector<Tile> CoveringTiles(const SlideLevel& level, int x, int y, int w, int h) {
  std::vector<Tile> tiles;
  const int tw = level.tile_columns, th = level.tile_rows;
  const int across = (level.total_columns + tw - 1) / tw;
  const int down = (level.total_rows + th - 1) / th;
  if (level.tiled_full) {
    const int tx0 = std::max(0, x / tw), ty0 = std::max(0, y / th);
    const int tx1 = std::min(across - 1, (x + w - 1) / tw);
    const int ty1 = std::min(down - 1, (y + h - 1) / th);
    for (int ty = ty0; ty <= ty1; ++ty)
      for (int tx = tx0; tx <= tx1; ++tx) tiles.push_back({ty * across + tx, tx * tw, ty * th});
    return tiles;
  }
  // Origins are in [-tile, total) (ReadSlideSeries): 64-bit sums cannot overflow.
  auto meets = [&](long long ox, long long oy) {
    return ox < static_cast<long long>(x) + w && oy < static_cast<long long>(y) + h &&
           ox + tw > x && oy + th > y;
  };
  const size_t cells = static_cast<size_t>(across + 1) * (down + 1) + 1;
  if (level.cell_start.size() == cells) {
    // A tile meeting the region has its origin in the cells from one before the region's
    // first to its last (origins are at most one tile left of / above what they cover).
    const int cx0 = std::max(-1, x / tw - 1), cy0 = std::max(-1, y / th - 1);
    const int cx1 = std::min(across - 1, (x + w - 1) / tw);
    const int cy1 = std::min(down - 1, (y + h - 1) / th);
    for (int cy = cy0; cy <= cy1; ++cy) {
      for (int cx = cx0; cx <= cx1; ++cx) {
        const size_t c = static_cast<size_t>(cy + 1) * (across + 1) + cx + 1;
        for (int i = level.cell_start[c]; i < level.cell_start[c + 1]; ++i) {
          const int f = level.cell_frames[i];
          const auto [ox, oy] = level.frame_origins[f];
          if (meets(ox, oy)) tiles.push_back({f, ox, oy});
        }
      }
    }
  } else {  // a level built without IndexSparseFrames
    std::set<std::pair<int, int>> seen;
    for (size_t f = 0; f < level.frame_origins.size(); ++f) {
      const auto [ox, oy] = level.frame_origins[f];
      if (!seen.insert({ox, oy}).second || !meets(ox, oy)) continue;
      tiles.push_back({static_cast<int>(f), ox, oy});
    }
  }
  std::sort(tiles.begin(), tiles.end(), [](const Tile& a, const Tile& b) { return a.frame < b.frame; });
  return tiles;
}

uint8_t Clamp8(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

// One decoded frame (DecodeFrame's layout) -> 8-bit samples. 16-bit grey maps the range of
// BitsStored linearly onto 0..255 (no window: the SM image carries none); MONOCHROME1 is
// inverted; native YBR_FULL becomes RGB (PS3.3 C.7.6.3.1.2). JPEG / JPEG 2000 output is RGB.
Result<std::vector<uint8_t>> To8Bit(const std::string& decoded, const pixel::ImageInfo& info) {
  const size_t n = static_cast<size_t>(info.rows) * info.columns * info.samples_per_pixel;
  const int bytes = info.bits_allocated <= 8 ? 1 : 2;
  if (info.bits_allocated > 16 || decoded.size() < n * bytes) {
    return Status(ErrorCode::kInvalidDicom, "decoded frame has " + std::to_string(decoded.size()) +
                                                " bytes, expected " + std::to_string(n * bytes) +
                                                " (BitsAllocated " +
                                                std::to_string(info.bits_allocated) + ")");
  }
  std::vector<uint8_t> out(n);
  const auto* p = reinterpret_cast<const uint8_t*>(decoded.data());
  if (bytes == 1) {
    std::copy(p, p + n, out.begin());
  } else {
    const int bits = std::clamp(info.bits_stored, 1, 16);
    const double max = static_cast<double>((1 << bits) - 1);
    for (size_t i = 0; i < n; ++i) {
      int v = p[2 * i] | (p[2 * i + 1] << 8);
      v &= (1 << bits) - 1;
      if (info.pixel_representation == 1 && (v >> (bits - 1)) != 0) v -= 1 << bits;
      const double shifted = info.pixel_representation == 1 ? v + max / 2.0 + 0.5 : v;
      out[i] = Clamp8(shifted * 255.0 / max);
    }
  }
  if (info.photometric_interpretation == "MONOCHROME1") {
    for (auto& v : out) v = static_cast<uint8_t>(255 - v);
  }
  const bool codec_rgb = info.transfer_syntax_uid.rfind("1.2.840.10008.1.2.4.", 0) == 0;
  if (info.samples_per_pixel == 3 && info.photometric_interpretation == "YBR_FULL" && !codec_rgb) {
    for (size_t i = 0; i + 2 < n; i += 3) {
      const double Y = out[i], cb = out[i + 1] - 128.0, cr = out[i + 2] - 128.0;
      out[i] = Clamp8(Y + 1.402 * cr);
      out[i + 1] = Clamp8(Y - 0.344136 * cb - 0.714136 * cr);
      out[i + 2] = Clamp8(Y + 1.772 * cb);
    }
  }
  return out;
}

}  // namespace

Result<RgbImage> ReadRegion(const SlideLevel& level, int x, int y, int width, int height) {
  if (width <= 0 || height <= 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "empty region " + std::to_string(width) + "x" + std::to_string(height));
  }
  if (static_cast<long long>(width) * height > kMaxRegionPixels) {
    return Status(ErrorCode::kInvalidArgument, "region " + std::to_string(width) + "x" +
                                                   std::to_string(height) +
                                                   " exceeds 64 megapixels");
  }
  if (level.tile_columns <= 0 || level.tile_rows <= 0) {
    return Status(ErrorCode::kInvalidArgument, "level without tile size");
  }
  RgbImage image;
  image.width = width;
  image.height = height;
  image.samples = level.samples_per_pixel;
  const int s = image.samples;
  image.pixels.assign(static_cast<size_t>(width) * height * s, 255);

  // Intersect with the matrix: outside stays white.
  const int cx0 = std::max(x, 0), cy0 = std::max(y, 0);
  const int cx1 = std::min<long long>(static_cast<long long>(x) + width, level.total_columns);
  const int cy1 = std::min<long long>(static_cast<long long>(y) + height, level.total_rows);
  if (cx0 >= cx1 || cy0 >= cy1) return image;
  const std::vector<Tile> tiles = CoveringTiles(level, cx0, cy0, cx1 - cx0, cy1 - cy0);
  if (tiles.empty()) return image;

  // The instances to read: the concatenation's parts, else the level's file.
  std::vector<SlidePart> parts = level.parts;
  if (parts.empty()) parts.push_back({level.path, 0, level.frames});
  size_t next = 0;  // tiles are sorted by frame: each part's tiles follow each other
  for (const SlidePart& part : parts) {
    size_t end = next;
    while (end < tiles.size() && tiles[end].frame < part.first_frame + part.frames) ++end;
    if (end == next) continue;
    // One open of the part for all its tiles (the header, per-frame groups included, parsed
    // once); frames decoded as pixel::DecodeFrame decodes them.
    auto opened = pixel::FrameDecoder::Open(part.path);
    if (!opened.ok()) return Status(opened.status().code(), part.path + ": " + opened.status().message());
    pixel::FrameDecoder& decoder = *opened.value();
    const pixel::ImageInfo& info = decoder.info();
    if (info.rows != level.tile_rows || info.columns != level.tile_columns ||
        info.samples_per_pixel != s) {
      return Status(ErrorCode::kInvalidDicom,
                    part.path + ": Rows/Columns/SamplesPerPixel differ from the level's");
    }
    for (; next < end; ++next) {
      const Tile& t = tiles[next];
      const int local = t.frame - part.first_frame;
      if (local < 0 || local >= info.number_of_frames) continue;  // absent: white
      Result<std::string> decoded = decoder.Decode(local);
      if (!decoded.ok()) {
        return Status(decoded.status().code(), part.path + " frame " + std::to_string(local + 1) +
                                                   ": " + decoded.status().message());
      }
      auto pixels = To8Bit(*decoded, info);
      if (!pixels.ok()) return pixels.status();
      const int ix0 = std::max(t.x, cx0), iy0 = std::max(t.y, cy0);
      const int ix1 = static_cast<int>(
          std::min<long long>(static_cast<long long>(t.x) + level.tile_columns, cx1));
      const int iy1 = static_cast<int>(
          std::min<long long>(static_cast<long long>(t.y) + level.tile_rows, cy1));
      for (int yy = iy0; yy < iy1; ++yy) {
        const uint8_t* src = pixels->data() +
                             (static_cast<size_t>(yy - t.y) * level.tile_columns + (ix0 - t.x)) * s;
        uint8_t* dst =
            image.pixels.data() + (static_cast<size_t>(yy - y) * width + (ix0 - x)) * s;
        std::copy(src, src + static_cast<size_t>(ix1 - ix0) * s, dst);
      }
    }
  }
  return image;
}

}  // namespace radflow::slide
