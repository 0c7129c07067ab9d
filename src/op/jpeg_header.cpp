#include "op/jpeg_header.h"

#include <cstdint>
#include <map>

namespace radflow::op {

namespace {

int U16(std::string_view b, size_t i) {
  return (static_cast<uint8_t>(b[i]) << 8) | static_cast<uint8_t>(b[i + 1]);
}

uint32_t Exif32(std::string_view t, size_t i, bool le) {
  const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(t[i + k])); };
  return le ? b(0) | b(1) << 8 | b(2) << 16 | b(3) << 24 : b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}
int Exif16(std::string_view t, size_t i, bool le) {
  const int lo = static_cast<uint8_t>(t[i + (le ? 0 : 1)]), hi = static_cast<uint8_t>(t[i + (le ? 1 : 0)]);
  return hi << 8 | lo;
}

// Orientation (tag 0x0112, SHORT) of IFD0 in an APP1 "Exif\0\0" payload (EXIF 2.3 4.6.2,
// TIFF 6.0 header and IFD); 0 when absent or unreadable.
int ExifOrientation(std::string_view payload) {
  if (payload.size() < 14 || payload.substr(0, 6) != std::string_view("Exif\0\0", 6)) return 0;
  const std::string_view t = payload.substr(6);
  const bool le = t.substr(0, 2) == "II";
  if (!le && t.substr(0, 2) != "MM") return 0;
  if (Exif16(t, 2, le) != 42) return 0;
  const uint32_t ifd = Exif32(t, 4, le);
  if (ifd > t.size() || t.size() - ifd < 2) return 0;
  const int entries = Exif16(t, ifd, le);
  for (int e = 0; e < entries; ++e) {
    const size_t at = ifd + 2 + 12 * static_cast<size_t>(e);
    if (at + 12 > t.size()) return 0;
    if (Exif16(t, at, le) == 0x0112 && Exif16(t, at + 2, le) == 3) return Exif16(t, at + 8, le);
  }
  return 0;
}

// The identifier an APPn segment starts with (NUL-terminated by convention), for messages.
std::string AppId(std::string_view payload) {
  std::string id;
  for (char c : payload.substr(0, 40)) {
    if (c == '\0') break;
    if (c < 0x20 || c > 0x7E) return id.empty() ? "?" : id;
    id += c;
  }
  return id;
}

}  // namespace

Result<JpegStream> CleanJpegStream(std::string_view b) {
  if (b.size() < 4 || static_cast<uint8_t>(b[0]) != 0xFF || static_cast<uint8_t>(b[1]) != 0xD8) {
    return Status(ErrorCode::kInvalidArgument, "not a JPEG file (no SOI marker)");
  }
  JpegStream out;
  out.bytes.reserve(b.size());
  out.bytes.append(b.substr(0, 2));
  const auto at = [&](size_t k) { return static_cast<uint8_t>(b[k]); };
  std::map<int, std::string_view> icc_chunks;  // sequence number (1-based) -> data
  int icc_count = 0;
  size_t i = 2;
  for (;;) {
    if (i + 2 > b.size()) {
      return Status(ErrorCode::kInvalidArgument, "truncated JPEG: the file ends before its EOI marker");
    }
    if (at(i) != 0xFF) {
      return Status(ErrorCode::kInvalidArgument, "corrupt JPEG: expected a marker at byte " + std::to_string(i));
    }
    if (at(i + 1) == 0xFF) {  // fill byte before a marker (T.81 B.1.1.2)
      ++i;
      continue;
    }
    const int marker = at(i + 1);
    if (marker == 0xD9) {  // EOI
      out.bytes.append("\xFF\xD9");
      i += 2;
      break;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // TEM, RSTn: no length
      out.bytes.append(b.substr(i, 2));
      i += 2;
      continue;
    }
    if (i + 4 > b.size()) return Status(ErrorCode::kInvalidArgument, "truncated JPEG: a marker runs past the end");
    const size_t len = static_cast<size_t>(U16(b, i + 2));
    if (len < 2 || i + 2 + len > b.size()) {
      return Status(ErrorCode::kInvalidArgument, "truncated JPEG: a marker segment runs past the end");
    }
    const std::string_view payload = b.substr(i + 4, len - 2);
    bool keep = true;
    if (marker >= 0xE0 && marker <= 0xEF) {
      keep = (marker == 0xE0 && payload.substr(0, 5) == std::string_view("JFIF\0", 5)) ||
             (marker == 0xEE && payload.substr(0, 5) == "Adobe");
      if (marker == 0xE1) {
        const int o = ExifOrientation(payload);
        if (o != 0 && out.exif_orientation == 0) out.exif_orientation = o;
      }
      if (marker == 0xE2 && payload.size() > 14 && payload.substr(0, 12) == std::string_view("ICC_PROFILE\0", 12)) {
        icc_chunks[static_cast<uint8_t>(payload[12])] = payload.substr(14);
        icc_count = static_cast<uint8_t>(payload[13]);
      }
      if (!keep) {
        out.removed.push_back("APP" + std::to_string(marker - 0xE0) + " '" + AppId(payload) + "' (" +
                              std::to_string(len + 2) + " bytes)");
      }
    } else if (marker == 0xFE) {
      keep = false;
      out.removed.push_back("COM (" + std::to_string(len + 2) + " bytes)");
    }
    if (keep) out.bytes.append(b.substr(i, 2 + len));
    i += 2 + len;
    if (marker != 0xDA) continue;
    // Entropy-coded data after SOS, copied unchanged: it ends at the first marker that is
    // not a stuffed 0xFF00 or a restart marker (T.81 B.1.1.5, F.1.2.3).
    size_t j = i;
    while (j + 1 < b.size() &&
           !(at(j) == 0xFF && at(j + 1) != 0x00 && !(at(j + 1) >= 0xD0 && at(j + 1) <= 0xD7))) {
      ++j;
    }
    if (j + 1 >= b.size()) {
      return Status(ErrorCode::kInvalidArgument,
                    "truncated JPEG: the scan data ends without an EOI marker (the file was cut short)");
    }
    out.bytes.append(b.substr(i, j - i));
    i = j;
  }
  if (icc_count > 0 && static_cast<int>(icc_chunks.size()) == icc_count && icc_chunks.begin()->first == 1 &&
      icc_chunks.rbegin()->first == icc_count) {
    for (const auto& [n, data] : icc_chunks) out.icc_profile.append(data);
  }
  if (i < b.size()) {
    // Zero padding after EOI is what some writers leave; anything else (a second image,
    // MPF, trailer data) is dropped and reported.
    if (b.substr(i).find_first_not_of('\0') != std::string_view::npos) {
      out.removed.push_back(std::to_string(b.size() - i) + " bytes after EOI");
    }
  }
  return out;
}

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
