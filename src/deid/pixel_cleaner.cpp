#include "deid/pixel_cleaner.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcelem.h>

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <limits>
#include <vector>

#include "deid/ocr.h"

namespace radflow::deid {

namespace {

struct Layout {
  int rows = 0, columns = 0, samples = 1, bits_allocated = 0, bits_stored = 0;
  int pixel_representation = 0, planar = 0, frames = 1;
  bool monochrome1 = false;
};

int GetInt(DcmDataset& ds, const DcmTagKey& key, int fallback) {
  Uint16 v16;
  if (ds.findAndGetUint16(key, v16).good()) return v16;
  OFString s;
  if (ds.findAndGetOFString(key, s).good() && !s.empty()) return std::atoi(s.c_str());
  return fallback;
}

// Tesseract can miss the first or last characters of a line of burned-in text: the box
// grows sideways, in steps of half its height, while the next strip holds at least 3 pixels
// of the text's own grey (within 8 levels of the box's extreme on the text's side of its
// median: burned-in text is drawn at one colour, anatomy rarely reaches it).
TextBox ExtendAlongLine(const std::vector<uint8_t>& gray, int width, int height, TextBox b) {
  std::vector<uint8_t> v;
  const int y0 = std::max(0, b.y), y1 = std::min(height, b.y + b.height);
  for (int y = y0; y < y1; ++y) {
    for (int x = std::max(0, b.x); x < std::min(width, b.x + b.width); ++x) {
      v.push_back(gray[static_cast<size_t>(y) * width + x]);
    }
  }
  if (v.empty()) return b;
  const int lo = *std::min_element(v.begin(), v.end());
  const int hi = *std::max_element(v.begin(), v.end());
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  const int median = v[v.size() / 2];
  const bool light = hi - median >= median - lo;
  auto is_ink = [&](int g) { return light ? g >= hi - 8 : g <= lo + 8; };
  auto ink_in = [&](int x0, int x1) {
    int n = 0;
    for (int y = y0; y < y1; ++y) {
      for (int x = std::max(0, x0); x < std::min(width, x1); ++x) {
        n += is_ink(gray[static_cast<size_t>(y) * width + x]);
      }
    }
    return n >= 3;
  };
  const int step = std::max(2, b.height / 2);
  while (b.x + b.width < width && ink_in(b.x + b.width, b.x + b.width + step)) {
    b.width = std::min(width - b.x, b.width + step);
  }
  while (b.x > 0 && ink_in(b.x - step, b.x)) {
    const int nx = std::max(0, b.x - step);
    b.width += b.x - nx;
    b.x = nx;
  }
  return b;
}

}  // namespace

Result<int> CleanPixelData(DcmDataset& ds) {
  if (ds.tagExists(DCM_FloatPixelData) || ds.tagExists(DCM_DoubleFloatPixelData)) {
    return Status(ErrorCode::kUnsupported, "float pixel data cannot be cleaned");
  }
  DcmElement* px = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, px).bad() || !px) return 0;
  Layout l;
  l.rows = GetInt(ds, DCM_Rows, 0);
  l.columns = GetInt(ds, DCM_Columns, 0);
  l.samples = GetInt(ds, DCM_SamplesPerPixel, 1);
  l.bits_allocated = GetInt(ds, DCM_BitsAllocated, 0);
  l.bits_stored = GetInt(ds, DCM_BitsStored, l.bits_allocated);
  l.pixel_representation = GetInt(ds, DCM_PixelRepresentation, 0);
  l.planar = GetInt(ds, DCM_PlanarConfiguration, 0);
  l.frames = std::max(1, GetInt(ds, DCM_NumberOfFrames, 1));
  OFString photometric;
  ds.findAndGetOFString(DCM_PhotometricInterpretation, photometric);
  l.monochrome1 = photometric == "MONOCHROME1";
  if (l.bits_allocated == 1) return 0;
  if (l.rows <= 0 || l.columns <= 0 || (l.samples != 1 && l.samples != 3) ||
      (l.bits_allocated != 8 && l.bits_allocated != 16) || l.bits_stored <= 0 ||
      l.bits_stored > l.bits_allocated) {
    return Status(ErrorCode::kUnsupported, "pixel layout cannot be rendered for OCR (" +
                                               std::to_string(l.bits_allocated) + " bits, " +
                                               std::to_string(l.samples) + " samples)");
  }
  const size_t pixels = static_cast<size_t>(l.rows) * l.columns;
  const size_t frame_samples = pixels * l.samples;
  const size_t total = frame_samples * l.frames;
  Uint8* data8 = nullptr;
  Uint16* data16 = nullptr;
  if (l.bits_allocated == 8) {
    if (px->getUint8Array(data8).bad() || !data8 || px->getLength() < total) {
      return Status(ErrorCode::kInvalidDicom, "pixel data shorter than the image declares");
    }
  } else {
    if (px->getUint16Array(data16).bad() || !data16 || px->getLength() < total * 2) {
      return Status(ErrorCode::kInvalidDicom, "pixel data shorter than the image declares");
    }
  }
  const uint32_t mask = l.bits_stored >= 32 ? 0xFFFFFFFFu : ((1u << l.bits_stored) - 1);
  auto sample_at = [&](size_t frame, size_t pixel, int s) -> size_t {
    return frame * frame_samples +
           (l.planar == 1 && l.samples > 1 ? s * pixels + pixel : pixel * l.samples + s);
  };
  auto value = [&](size_t index) -> int64_t {
    uint32_t raw = data8 ? data8[index] : data16[index];
    raw &= mask;
    if (l.pixel_representation == 1 && (raw >> (l.bits_stored - 1)) & 1) {
      return static_cast<int64_t>(raw) - (int64_t{1} << l.bits_stored);
    }
    return raw;
  };

  int masked = 0;
  std::vector<uint8_t> gray(pixels);
  for (size_t f = 0; f < static_cast<size_t>(l.frames); ++f) {
    // Luminance (color: the mean of the samples), windowed to the frame's range.
    std::vector<int64_t> lum(pixels);
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    int64_t min_stored = lo;
    size_t min_index = 0;
    for (size_t p = 0; p < pixels; ++p) {
      int64_t sum = 0;
      for (int s = 0; s < l.samples; ++s) {
        const size_t idx = sample_at(f, p, s);
        const int64_t v = value(idx);
        sum += v;
        if (v < min_stored) {
          min_stored = v;
          min_index = idx;
        }
      }
      lum[p] = sum / l.samples;
      lo = std::min(lo, lum[p]);
      hi = std::max(hi, lum[p]);
    }
    if (hi <= lo) continue;  // a flat frame holds no text
    for (size_t p = 0; p < pixels; ++p) {
      int v = static_cast<int>((lum[p] - lo) * 255 / (hi - lo));
      gray[p] = static_cast<uint8_t>(l.monochrome1 ? 255 - v : v);
    }
    auto boxes = FindText(gray, l.columns, l.rows);
    if (!boxes.ok()) return boxes.status();
    const uint32_t fill = data8 ? data8[min_index] : data16[min_index];
    for (TextBox b : *boxes) {
      b = ExtendAlongLine(gray, l.columns, l.rows, b);
      const int x0 = std::max(0, b.x - kMaskMargin), y0 = std::max(0, b.y - kMaskMargin);
      const int x1 = std::min(l.columns, b.x + b.width + kMaskMargin);
      const int y1 = std::min(l.rows, b.y + b.height + kMaskMargin);
      for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
          const size_t p = static_cast<size_t>(y) * l.columns + x;
          for (int s = 0; s < l.samples; ++s) {
            const size_t idx = sample_at(f, p, s);
            if (data8) data8[idx] = static_cast<Uint8>(l.samples > 1 ? 0 : fill);
            else data16[idx] = static_cast<Uint16>(l.samples > 1 ? 0 : fill);
          }
        }
      }
      ++masked;
    }
  }
  return masked;
}

}  // namespace radflow::deid
