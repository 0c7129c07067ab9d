#include "op/png_reader.h"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <memory>

namespace radflow::op {

namespace {

struct ErrorState {
  std::string message;
};

[[noreturn]] void OnError(png_structp png, png_const_charp msg) {
  auto* st = static_cast<ErrorState*>(png_get_error_ptr(png));
  if (st) st->message = msg ? msg : "libpng error";
  png_longjmp(png, 1);
}
void OnWarning(png_structp, png_const_charp) {}

}  // namespace

Result<PngPixels> ReadPng(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return Status(ErrorCode::kNotFound, path + ": cannot be opened");
  unsigned char sig[8] = {};
  if (std::fread(sig, 1, 8, f.get()) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
    return Status(ErrorCode::kInvalidArgument, path + ": not a PNG file");
  }
  ErrorState err;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, OnError, OnWarning);
  if (!png) return Status(ErrorCode::kInternal, "libpng: out of memory");
  png_infop info = png_create_info_struct(png);
  PngPixels out;
  std::vector<png_bytep> rows;
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return Status(ErrorCode::kInvalidArgument, path + ": unreadable PNG: " + err.message);
  }
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
    png_destroy_read_struct(&png, &info, nullptr);
    return Status(ErrorCode::kUnsupported, path + ": PNG with " + std::to_string(out.samples) + " channels");
  }
  out.pixels.resize(row_bytes * static_cast<size_t>(out.height));
  rows.resize(out.height);
  for (int y = 0; y < out.height; ++y) rows[y] = out.pixels.data() + row_bytes * static_cast<size_t>(y);
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return out;
}

}  // namespace radflow::op
