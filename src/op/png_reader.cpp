#include "op/png_reader.h"

#include <png.h>

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <new>

namespace radflow::op {

namespace {

// Rows and Columns are US (PS3.3 C.7.6.3), so no photograph can be larger; libpng's own
// default limit (1,000,000) would let a few-kB file declare terabytes of pixels.
constexpr uint32_t kMaxSide = 65535;
// Decoded samples held in memory at once: a 16-bit RGB photograph of 8,000 x 5,000 is
// 240 MB. Larger input is refused before anything is allocated.
constexpr uint64_t kMaxDecodedBytes = 256ull << 20;

struct ErrorState {
  std::string message;
};

[[noreturn]] void OnError(png_structp png, png_const_charp msg) {
  auto* st = static_cast<ErrorState*>(png_get_error_ptr(png));
  if (st) st->message = msg ? msg : "libpng error";
  png_longjmp(png, 1);
}
void OnWarning(png_structp, png_const_charp) {}

// Frees libpng's structures on every return, the longjmp error path included (the guard
// lives in ReadPng's frame, which setjmp returns into).
struct ReadStruct {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~ReadStruct() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

uint32_t U32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

Result<PngPixels> ReadPng(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return Status(ErrorCode::kNotFound, path + ": cannot be opened");
  unsigned char sig[8] = {};
  if (std::fread(sig, 1, 8, f.get()) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
    return Status(ErrorCode::kInvalidArgument, path + ": not a PNG file");
  }
  // The IHDR chunk comes first (PNG 11.2.2): refuse an oversized image by its declared
  // size, with a clear reason, before libpng sees it.
  unsigned char ihdr[16] = {};
  if (std::fread(ihdr, 1, 16, f.get()) == 16 && std::string_view(reinterpret_cast<char*>(ihdr + 4), 4) == "IHDR") {
    const uint32_t w = U32(ihdr + 8), h = U32(ihdr + 12);
    if (w > kMaxSide || h > kMaxSide) {
      return Status(ErrorCode::kUnsupported, path + ": PNG of " + std::to_string(w) + "x" + std::to_string(h) +
                                                 " pixels is larger than 65535 (Rows/Columns are US)");
    }
  }
  if (std::fseek(f.get(), 8, SEEK_SET) != 0) return Status(ErrorCode::kIoError, path + ": cannot seek");

  ErrorState err;
  ReadStruct rs;
  rs.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, OnError, OnWarning);
  if (!rs.png) return Status(ErrorCode::kInternal, "libpng: out of memory");
  rs.info = png_create_info_struct(rs.png);
  png_structp png = rs.png;
  png_infop info = rs.info;
  PngPixels out;
  std::vector<png_bytep> rows;
  if (!info || setjmp(png_jmpbuf(png))) {
    return Status(ErrorCode::kInvalidArgument, path + ": unreadable PNG: " + err.message);
  }
  png_set_user_limits(png, kMaxSide, kMaxSide);
  png_set_chunk_malloc_max(png, 8u << 20);  // ancillary chunks (iCCP, text …) up to 8 MB
  png_init_io(png, f.get());
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  const int color = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  out.had_alpha = (color & PNG_COLOR_MASK_ALPHA) != 0 || png_get_valid(png, info, PNG_INFO_tRNS);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_alpha(png);  // the photograph's pixels; transparency has no DICOM meaning here
  if (depth == 16) png_set_swap(png);  // PNG is big-endian; DICOM Little Endian
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out.width = static_cast<int>(png_get_image_width(png, info));
  out.height = static_cast<int>(png_get_image_height(png, info));
  out.samples = png_get_channels(png, info);
  out.bits = png_get_bit_depth(png, info);
  const size_t row_bytes = png_get_rowbytes(png, info);
  if (out.samples != 1 && out.samples != 3) {
    return Status(ErrorCode::kUnsupported, path + ": PNG with " + std::to_string(out.samples) + " channels");
  }
  const uint64_t decoded = static_cast<uint64_t>(out.width) * out.height * out.samples * (out.bits / 8);
  if (decoded > kMaxDecodedBytes || static_cast<uint64_t>(row_bytes) * out.height > kMaxDecodedBytes) {
    return Status(ErrorCode::kUnsupported, path + ": PNG of " + std::to_string(out.width) + "x" +
                                               std::to_string(out.height) + " pixels would decode to " +
                                               std::to_string(decoded >> 20) + " MB, more than the " +
                                               std::to_string(kMaxDecodedBytes >> 20) + " MB radflow accepts");
  }
  try {
    out.pixels.resize(row_bytes * static_cast<size_t>(out.height));
    rows.resize(out.height);
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kInternal,
                  path + ": out of memory for " + std::to_string(decoded >> 20) + " MB of decoded pixels");
  }
  for (int y = 0; y < out.height; ++y) rows[y] = out.pixels.data() + row_bytes * static_cast<size_t>(y);
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  return out;
}

}  // namespace radflow::op
