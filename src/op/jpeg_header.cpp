#include "op/jpeg_header.h"

#include <cstdint>

namespace radflow::op {

namespace {

int U16(std::string_view b, size_t i) {
  return (static_cast<uint8_t>(b[i]) << 8) | static_cast<uint8_t>(b[i + 1]);
}

}  // namespace

std::string JpegProcessName(int sof) {
  switch (sof) {
    case 0: return "baseline (SOF0)";
    case 1: return "extended sequential (SOF1)";
    case 2: return "progressive (SOF2)";
    case 3: return "lossless (SOF3)";
    case 9: return "extended sequential arithmetic (SOF9)";
    case 10: return "progressive arithmetic (SOF10)";
    case 11: return "lossless arithmetic (SOF11)";
    default: return "hierarchical (SOF" + std::to_string(sof) + ")";
  }
}

Result<JpegHeader> ReadJpegHeader(std::string_view b) {
  if (b.size() < 4 || static_cast<uint8_t>(b[0]) != 0xFF || static_cast<uint8_t>(b[1]) != 0xD8) {
    return Status(ErrorCode::kInvalidArgument, "not a JPEG file (no SOI marker)");
  }
  JpegHeader h;
  bool have_sof = false;
  size_t i = 2;
  for (;;) {
    // Markers may be preceded by fill bytes 0xFF (T.81 B.1.1.2).
    while (i < b.size() && static_cast<uint8_t>(b[i]) == 0xFF && i + 1 < b.size() &&
           static_cast<uint8_t>(b[i + 1]) == 0xFF) {
      ++i;
    }
    if (i + 4 > b.size()) return Status(ErrorCode::kInvalidArgument, "truncated JPEG: no scan (SOS) found");
    if (static_cast<uint8_t>(b[i]) != 0xFF) {
      return Status(ErrorCode::kInvalidArgument, "corrupt JPEG: expected a marker at byte " + std::to_string(i));
    }
    const int marker = static_cast<uint8_t>(b[i + 1]);
    if (marker == 0xD9) return Status(ErrorCode::kInvalidArgument, "JPEG without image data (EOI before SOS)");
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // parameterless
      i += 2;
      continue;
    }
    const int len = U16(b, i + 2);
    if (len < 2 || i + 2 + len > b.size()) {
      return Status(ErrorCode::kInvalidArgument, "truncated JPEG: a marker segment runs past the end");
    }
    std::string_view seg = b.substr(i + 4, len - 2);
    if (marker == 0xDA) break;  // SOS: the header is complete
    if (marker == 0xE0 && seg.size() >= 5 && seg.substr(0, 5) == std::string_view("JFIF\0", 5)) h.jfif = true;
    if (marker == 0xEE && seg.size() >= 12 && seg.substr(0, 5) == "Adobe") {
      h.adobe_transform = static_cast<uint8_t>(seg[11]);
    }
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof && !have_sof) {
      if (seg.size() < 6) return Status(ErrorCode::kInvalidArgument, "corrupt JPEG frame header");
      h.sof = marker - 0xC0;
      h.precision = static_cast<uint8_t>(seg[0]);
      h.height = U16(seg, 1);
      h.width = U16(seg, 3);
      h.components = static_cast<uint8_t>(seg[5]);
      if (seg.size() < 6 + 3 * static_cast<size_t>(h.components) || h.components == 0) {
        return Status(ErrorCode::kInvalidArgument, "corrupt JPEG frame header (components)");
      }
      std::string ids;
      for (int c = 0; c < h.components; ++c) {
        const int id = static_cast<uint8_t>(seg[6 + 3 * c]);
        const int hv = static_cast<uint8_t>(seg[7 + 3 * c]);
        ids += static_cast<char>(id);
        if (c == 0) {
          h.h0 = hv >> 4;
          h.v0 = hv & 15;
        } else if ((hv >> 4) < h.h0 || (hv & 15) < h.v0) {
          h.chroma_subsampled = true;
        }
      }
      h.rgb_component_ids = ids == "RGB";
      have_sof = true;
    }
    i += 2 + len;
  }
  if (!have_sof) return Status(ErrorCode::kInvalidArgument, "corrupt JPEG: no frame header (SOF) before the scan");
  if (h.width == 0 || h.height == 0) {
    return Status(ErrorCode::kInvalidArgument, "JPEG with a zero width or height (DNL-defined height is not supported)");
  }
  return h;
}

}  // namespace radflow::op
