// RLE Lossless (PS3.5 8.2.2, Annex G): a 64-byte header of segment offsets, then one
// PackBits-coded segment per byte plane (most significant byte first, sample by sample).
#include <cstring>

#include "pixel/codecs.h"
#include "pixel/pixel_object.h"

namespace radflow::pixel {

namespace {

uint32_t Le32(std::string_view s, size_t at) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data() + at);
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

Status Invalid(const std::string& what) { return Status(ErrorCode::kInvalidDicom, "RLE: " + what); }

}  // namespace

Result<DecodedFrame> DecodeRle(std::string_view f, const ImageInfo& info) {
  const bool one_bit = info.bits_allocated == 1;
  const int spp = info.samples_per_pixel;
  const int bytes = one_bit ? 1 : info.bits_allocated / 8;
  if (one_bit && spp != 1) return Status(ErrorCode::kUnsupported, "RLE: 1-bit color data");
  // 1-bit data: one segment holding the packed frame (as pydicom and GDCM write it).
  const int segments = one_bit ? 1 : spp * bytes;
  if (segments > 15)
    return Status(ErrorCode::kUnsupported, "RLE: more than 15 segments needed (G.5)");
  const uint64_t pixels = uint64_t(info.rows) * uint64_t(info.columns);
  const uint64_t segment_size = one_bit ? (pixels + 7) / 8 : pixels;

  if (f.size() < 64) return Invalid("header truncated (" + std::to_string(f.size()) + " bytes)");
  const uint32_t count = Le32(f, 0);
  if (count != static_cast<uint32_t>(segments)) {
    return Invalid("header declares " + std::to_string(count) + " segments, expected " +
                   std::to_string(segments));
  }
  std::string out(NativeFrameBytes(info, false), '\0');
  const size_t stride = static_cast<size_t>(spp) * bytes;
  for (int s = 0; s < segments; ++s) {
    const uint64_t begin = Le32(f, 4 + 4 * s);
    const uint64_t end = s + 1 < segments ? Le32(f, 8 + 4 * s) : f.size();
    if (begin < 64 || begin > end || end > f.size()) {
      return Invalid("segment " + std::to_string(s + 1) + " offsets outside the frame");
    }
    const int sample = s / bytes;
    const int byte = s % bytes;  // 0: most significant
    char* dest = out.data() + (one_bit ? 0 : sample * bytes + (bytes - 1 - byte));
    const size_t step = one_bit ? 1 : stride;
    uint64_t produced = 0;
    size_t i = begin;
    // PackBits (G.3.1): n >= 0 copies n+1 literal bytes, -127..-1 repeats one byte 1-n
    // times, -128 is a no-op.
    while (i < end && produced < segment_size) {
      const auto n = static_cast<int8_t>(f[i++]);
      if (n >= 0) {
        const uint64_t run = uint64_t(n) + 1;
        if (i + run > end)
          return Invalid("literal run past the end of segment " + std::to_string(s + 1));
        for (uint64_t k = 0; k < run && produced < segment_size; ++k)
          dest[step * produced++] = f[i + k];
        i += run;
      } else if (n != -128) {
        if (i >= end)
          return Invalid("replicate run past the end of segment " + std::to_string(s + 1));
        const char v = f[i++];
        const uint64_t run = uint64_t(1 - n);
        for (uint64_t k = 0; k < run && produced < segment_size; ++k) dest[step * produced++] = v;
      }
    }
    if (produced < segment_size) {
      return Invalid("segment " + std::to_string(s + 1) + " decodes to " +
                     std::to_string(produced) + " bytes, expected " + std::to_string(segment_size));
    }
  }
  return DecodedFrame{std::move(out), info.photometric_interpretation};
}

}  // namespace radflow::pixel
