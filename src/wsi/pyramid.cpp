#include "wsi/pyramid.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace radflow::wsi {

Bytes CutTile(const RgbRaster& level, int col, int row, int tile_w, int tile_h) {
  Bytes tile(static_cast<size_t>(tile_w) * tile_h * 3, 255);
  const int x0 = col * tile_w, y0 = row * tile_h;
  const int w = std::max(0, std::min(tile_w, level.width - x0));
  const int h = std::max(0, std::min(tile_h, level.height - y0));
  for (int y = 0; y < h; ++y) {
    std::memcpy(&tile[static_cast<size_t>(y) * tile_w * 3],
                &level.pixels[(static_cast<size_t>(y0 + y) * level.width + x0) * 3], static_cast<size_t>(w) * 3);
  }
  return tile;
}

RgbRaster Halve(const RgbRaster& in) {
  RgbRaster out;
  out.width = (in.width + 1) / 2;
  out.height = (in.height + 1) / 2;
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * 3);
  const size_t in_stride = static_cast<size_t>(in.width) * 3;
  const int full = in.width / 2;  // output columns with two source columns
  for (int y = 0; y < out.height; ++y) {
    const uint8_t* a = &in.pixels[static_cast<size_t>(2 * y) * in_stride];
    const bool two_rows = 2 * y + 1 < in.height;
    const uint8_t* b = two_rows ? a + in_stride : a;
    uint8_t* o = &out.pixels[static_cast<size_t>(y) * out.width * 3];
    if (two_rows) {
      for (int x = 0; x < full; ++x, a += 6, b += 6, o += 3) {
        for (int c = 0; c < 3; ++c) o[c] = static_cast<uint8_t>((a[c] + a[c + 3] + b[c] + b[c + 3] + 2) >> 2);
      }
      if (in.width & 1) {
        for (int c = 0; c < 3; ++c) o[c] = static_cast<uint8_t>((a[c] + b[c] + 1) >> 1);
      }
    } else {  // the last, odd row: pairs of columns, then the corner pixel
      for (int x = 0; x < full; ++x, a += 6, o += 3) {
        for (int c = 0; c < 3; ++c) o[c] = static_cast<uint8_t>((a[c] + a[c + 3] + 1) >> 1);
      }
      if (in.width & 1) {
        for (int c = 0; c < 3; ++c) o[c] = a[c];
      }
    }
  }
  return out;
}

RgbRaster Shrink(const RgbRaster& in, int width, int height) {
  RgbRaster out;
  out.width = std::max(1, std::min(width, in.width));
  out.height = std::max(1, std::min(height, in.height));
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * 3);
  const double sx = static_cast<double>(in.width) / out.width;
  const double sy = static_cast<double>(in.height) / out.height;
  std::vector<double> acc(static_cast<size_t>(out.width) * 3);
  for (int y = 0; y < out.height; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0);
    const double y0 = y * sy, y1 = (y + 1) * sy;
    for (int iy = static_cast<int>(y0); iy < in.height && iy < y1; ++iy) {
      const double wy = std::min<double>(iy + 1, y1) - std::max<double>(iy, y0);
      const uint8_t* row = &in.pixels[static_cast<size_t>(iy) * in.width * 3];
      for (int x = 0; x < out.width; ++x) {
        const double x0 = x * sx, x1 = (x + 1) * sx;
        for (int ix = static_cast<int>(x0); ix < in.width && ix < x1; ++ix) {
          const double w = wy * (std::min<double>(ix + 1, x1) - std::max<double>(ix, x0));
          for (int c = 0; c < 3; ++c) acc[static_cast<size_t>(x) * 3 + c] += w * row[ix * 3 + c];
        }
      }
    }
    const double area = sx * sy;
    uint8_t* o = &out.pixels[static_cast<size_t>(y) * out.width * 3];
    for (size_t i = 0; i < acc.size(); ++i) {
      o[i] = static_cast<uint8_t>(std::clamp(acc[i] / area + 0.5, 0.0, 255.0));
    }
  }
  return out;
}

}  // namespace radflow::wsi
