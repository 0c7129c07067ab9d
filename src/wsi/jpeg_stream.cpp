// libjpeg (libjpeg-turbo) lives in this file only.
#include "wsi/jpeg_stream.h"

#include <jpeglib.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace radflow::wsi {

namespace {

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// APP14 "Adobe": version 100, flags0 0, flags1 0, transform 0 (no colour transform).
const uint8_t kAdobeRgb[] = {0xFF, 0xEE, 0x00, 0x0E, 'A', 'd', 'o', 'b', 'e',
                             0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00};

struct ErrorMgr {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void OnError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorMgr*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

void Quiet(j_common_ptr, int) {}

}  // namespace

Result<JpegInfo> ParseJpeg(const uint8_t* d, size_t n) {
  if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return Status(ErrorCode::kInvalidArgument, "not a JPEG stream (no SOI)");
  JpegInfo info;
  bool sof = false;
  size_t i = 2;
  while (i + 4 <= n) {
    if (d[i] != 0xFF) return Status(ErrorCode::kInvalidArgument, "JPEG stream: marker expected");
    const uint8_t m = d[i + 1];
    if (m == 0xFF) { ++i; continue; }  // fill byte
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { i += 2; continue; }
    if (m == 0xD9) break;
    const size_t len = Be16(d + i + 2);
    if (len < 2 || i + 2 + len > n) return Status(ErrorCode::kInvalidArgument, "JPEG stream: truncated segment");
    const uint8_t* s = d + i + 4;
    if (m == 0xE0 && len >= 7 && std::memcmp(s, "JFIF", 4) == 0) info.has_jfif = true;
    if (m == 0xEE && len >= 14 && std::memcmp(s, "Adobe", 5) == 0) {
      info.has_adobe = true;
      info.adobe_transform = s[11];
    }
    if ((m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      if (len < 8) return Status(ErrorCode::kInvalidArgument, "JPEG stream: short SOF");
      info.baseline = m == 0xC0 && s[0] == 8;
      info.height = Be16(s + 1);
      info.width = Be16(s + 3);
      info.components = s[5];
      if (len < 8 + 3u * info.components) return Status(ErrorCode::kInvalidArgument, "JPEG stream: short SOF");
      int max_h = 1, max_v = 1;
      for (int c = 0; c < info.components; ++c) {
        max_h = std::max(max_h, s[7 + 3 * c] >> 4);
        max_v = std::max(max_v, s[7 + 3 * c] & 15);
      }
      for (int c = 0; c < info.components; ++c) {
        if ((s[7 + 3 * c] >> 4) != max_h || (s[7 + 3 * c] & 15) != max_v) info.chroma_subsampled = true;
      }
      info.max_h = max_h;
      info.max_v = max_v;
      sof = true;
    }
    if (m == 0xDA) break;
    i += 2 + len;
  }
  if (!sof) return Status(ErrorCode::kInvalidArgument, "JPEG stream: no frame header (SOF)");
  return info;
}

Result<Bytes> SpliceTables(const Bytes& tables, const Bytes& tile, bool adobe_rgb) {
  if (tile.size() < 4 || tile[0] != 0xFF || tile[1] != 0xD8) {
    return Status(ErrorCode::kInvalidArgument, "tile is not a JPEG stream (no SOI)");
  }
  size_t tables_begin = 0, tables_end = 0;
  if (!tables.empty()) {
    if (tables.size() < 4 || tables[0] != 0xFF || tables[1] != 0xD8) {
      return Status(ErrorCode::kInvalidArgument, "JPEGTables is not a table-specification stream");
    }
    tables_begin = 2;
    tables_end = tables.size();
    if (tables[tables_end - 2] == 0xFF && tables[tables_end - 1] == 0xD9) tables_end -= 2;
  }
  Bytes out;
  out.reserve(tile.size() + (tables_end - tables_begin) + sizeof kAdobeRgb);
  out.insert(out.end(), tile.begin(), tile.begin() + 2);
  if (adobe_rgb) out.insert(out.end(), std::begin(kAdobeRgb), std::end(kAdobeRgb));
  out.insert(out.end(), tables.begin() + tables_begin, tables.begin() + tables_end);
  out.insert(out.end(), tile.begin() + 2, tile.end());
  return out;
}

namespace {

// The libjpeg calls run in these helpers, whose only state after setjmp is their
// parameters (never modified) and the C structs they point to: a longjmp from the error
// handler back to the setjmp then leaves no C++ local with an indeterminate value and
// skips no destructor (C11 7.13.2.1, C++ [csetjmp.syn]).
bool CompressInto(jpeg_compress_struct* cinfo, ErrorMgr* err, const uint8_t* rgb, int width, int height,
                  int quality, bool rgb_colour, unsigned char** mem, unsigned long* mem_size) {
  if (setjmp(err->jump)) return false;
  jpeg_create_compress(cinfo);
  jpeg_mem_dest(cinfo, mem, mem_size);
  cinfo->image_width = static_cast<JDIMENSION>(width);
  cinfo->image_height = static_cast<JDIMENSION>(height);
  cinfo->input_components = 3;
  cinfo->in_color_space = JCS_RGB;
  jpeg_set_defaults(cinfo);
  jpeg_set_quality(cinfo, quality, TRUE);
  if (rgb_colour) {
    jpeg_set_colorspace(cinfo, JCS_RGB);  // writes APP14 transform 0, no JFIF
  } else {
    // 4:2:2 (2x1): DICOM YBR_FULL_422 (PS3.3 C.7.6.3.1.2).
    cinfo->comp_info[0].h_samp_factor = 2;
    cinfo->comp_info[0].v_samp_factor = 1;
    cinfo->write_JFIF_header = FALSE;  // DICOM's attributes describe the stream
  }
  jpeg_start_compress(cinfo, TRUE);
  while (cinfo->next_scanline < cinfo->image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(rgb + static_cast<size_t>(cinfo->next_scanline) * width * 3);
    jpeg_write_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_compress(cinfo);
  return true;
}

bool ReadHeader(jpeg_decompress_struct* cinfo, ErrorMgr* err, const uint8_t* data, size_t size) {
  if (setjmp(err->jump)) return false;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  cinfo->out_color_space = JCS_RGB;
  jpeg_start_decompress(cinfo);
  return true;
}

bool ReadPixels(jpeg_decompress_struct* cinfo, ErrorMgr* err, uint8_t* out) {
  if (setjmp(err->jump)) return false;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = out + static_cast<size_t>(cinfo->output_scanline) * cinfo->output_width * 3;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

}  // namespace

Result<Bytes> EncodeJpeg(const uint8_t* rgb, int width, int height, int quality, JpegColour colour) {
  if (width <= 0 || height <= 0 || width > 65500 || height > 65500) {
    return Status(ErrorCode::kInvalidArgument, "JPEG encode: bad size");
  }
  jpeg_compress_struct cinfo{};  // zeroed: jpeg_destroy is safe even if create failed
  ErrorMgr err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = OnError;
  unsigned char* mem = nullptr;
  unsigned long mem_size = 0;
  const bool ok = CompressInto(&cinfo, &err, rgb, width, height, quality, colour == JpegColour::kRgb, &mem, &mem_size);
  jpeg_destroy_compress(&cinfo);
  if (!ok) {
    std::free(mem);
    return Status(ErrorCode::kInternal, std::string("JPEG encode: ") + err.message);
  }
  Bytes out(mem, mem + mem_size);
  std::free(mem);
  return out;
}

Result<Bytes> DecodeJpeg(const Bytes& stream, int* width, int* height) {
  jpeg_decompress_struct cinfo{};  // zeroed: jpeg_destroy is safe even if create failed
  ErrorMgr err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = OnError;
  err.pub.emit_message = Quiet;
  Bytes out;
  bool ok = ReadHeader(&cinfo, &err, stream.data(), stream.size());
  if (ok) {
    out.resize(static_cast<size_t>(cinfo.output_width) * cinfo.output_height * 3);
    *width = static_cast<int>(cinfo.output_width);
    *height = static_cast<int>(cinfo.output_height);
    ok = ReadPixels(&cinfo, &err, out.data());
  }
  jpeg_destroy_decompress(&cinfo);
  if (!ok) return Status(ErrorCode::kInvalidArgument, std::string("JPEG decode: ") + err.message);
  return out;
}

}  // namespace radflow::wsi
