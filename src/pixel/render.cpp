// Rendered resources (PS3.18 8.3.5.1): one decoded frame through DCMTK's DicomImage
// (Modality LUT, VOI window or LUT, MONOCHROME1 polarity, palette and YBR color), scaled
// to the viewport, encoded with libjpeg or libpng.
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmimage/diregist.h>  // color images
#include <dcmtk/dcmimgle/dcmimage.h>
#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <memory>

#include "pixel/codecs.h"
#include "pixel/pixel_object.h"

namespace radflow::pixel {

namespace {

constexpr int kMaxRenderedSide = 16384;

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
};

[[noreturn]] void JpegFail(j_common_ptr c) {
  std::longjmp(reinterpret_cast<JpegError*>(c->err)->jump, 1);
}
void JpegQuiet(j_common_ptr) {}

// No C++ object lives across setjmp/longjmp here.
bool EncodeJpeg(const unsigned char* px, int w, int h, int channels, int quality,
                std::string* out) {
  jpeg_compress_struct c{};
  JpegError err{};
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  c.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = JpegFail;
  err.mgr.output_message = JpegQuiet;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&c);
    std::free(buffer);
    return false;
  }
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, &buffer, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = channels;
  c.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(px + size_t(c.next_scanline) * size_t(w) * channels);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  out->assign(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return true;
}

void PngWrite(png_structp png, png_bytep data, png_size_t length) {
  static_cast<std::string*>(png_get_io_ptr(png))
      ->append(reinterpret_cast<const char*>(data), length);
}
void PngFlush(png_structp) {}
[[noreturn]] void PngFail(png_structp png, png_const_charp) { png_longjmp(png, 1); }
void PngQuiet(png_structp, png_const_charp) {}

bool EncodePng(const unsigned char* px, int w, int h, int channels, std::string* out) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, PngFail, PngQuiet);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, out, PngWrite, PngFlush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(w), static_cast<png_uint_32>(h), 8,
               channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < h; ++y) {
    png_write_row(png, const_cast<png_bytep>(px + size_t(y) * size_t(w) * channels));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

// Enhanced multi-frame objects keep rescale and window in functional groups (PS3.3
// C.7.6.16.2.9 Pixel Value Transformation, C.7.6.16.2.10 Frame VOI LUT); DicomImage reads
// the top level, so the frame's values (per-frame first, then shared) are copied up.
void HoistFunctionalGroups(DcmDataset& ds, int frame) {
  DcmItem* per_frame = nullptr;
  DcmItem* shared = nullptr;
  ds.findAndGetSequenceItem(DCM_PerFrameFunctionalGroupsSequence, per_frame, frame);
  ds.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0);
  auto hoist = [&](const DcmTagKey& macro, std::initializer_list<DcmTagKey> tags) {
    for (DcmItem* group : {per_frame, shared}) {
      DcmItem* m = nullptr;
      if (group == nullptr || group->findAndGetSequenceItem(macro, m, 0).bad() || m == nullptr)
        continue;
      for (const DcmTagKey& tag : tags) {
        DcmElement* e = nullptr;
        if (!ds.tagExists(tag) && m->findAndGetElement(tag, e).good() && e != nullptr) {
          ds.insert(static_cast<DcmElement*>(e->clone()), OFFalse);
        }
      }
    }
  };
  hoist(DCM_PixelValueTransformationSequence,
        {DCM_RescaleIntercept, DCM_RescaleSlope, DCM_RescaleType});
  hoist(DCM_FrameVOILUTSequence, {DCM_WindowCenter, DCM_WindowWidth, DCM_VOILUTFunction});
}

Status ValidateOptions(const RenderOptions& o) {
  if (o.media_type != "image/jpeg" && o.media_type != "image/png") {
    return Status(ErrorCode::kUnsupported,
                  "rendered media type " + o.media_type + " (image/jpeg or image/png)");
  }
  if (o.quality < 1 || o.quality > 100)
    return Status(ErrorCode::kInvalidArgument, "quality must be 1..100");
  if (o.width < 0 || o.height < 0 || o.width > kMaxRenderedSide || o.height > kMaxRenderedSide) {
    return Status(ErrorCode::kInvalidArgument,
                  "viewport must be 0.." + std::to_string(kMaxRenderedSide));
  }
  if (o.window_center.has_value() != o.window_width.has_value() ||
      (o.window_width && !(*o.window_width > 0)) ||
      (o.window_center && !std::isfinite(*o.window_center))) {
    return Status(ErrorCode::kInvalidArgument, "window needs a center and a width > 0");
  }
  return Status::Ok();
}

Result<std::string> Render(const std::string& path, int index, const RenderOptions& o) {
  auto opened = PixelObject::Open(path);
  if (!opened.ok()) return opened.status();
  PixelObject& obj = *opened.value();
  if (obj.float_pixels())
    return Status(ErrorCode::kUnsupported, "rendering Float Pixel Data is not supported");
  auto frame = DecodeOne(obj, index);
  if (!frame.ok()) return frame.status();
  const ImageInfo& info = obj.info();

  // The object becomes a single-frame native image holding the decoded frame.
  DcmDataset& ds = obj.dataset();
  HoistFunctionalGroups(ds, index);
  delete ds.remove(DCM_PixelData);
  std::string& pixels = frame->pixels;
  if (pixels.size() % 2) pixels.push_back('\0');
  auto* pd = new DcmPixelData(DcmTag(DCM_PixelData, info.bits_allocated > 8 ? EVR_OW : EVR_OB));
  pd->putUint8Array(reinterpret_cast<const Uint8*>(pixels.data()),
                    static_cast<unsigned long>(pixels.size()));
  ds.insert(pd, OFTrue);
  if (ds.tagExists(DCM_NumberOfFrames)) ds.putAndInsertString(DCM_NumberOfFrames, "1");
  ds.putAndInsertString(DCM_PhotometricInterpretation, frame->photometric_interpretation.c_str());
  if (info.samples_per_pixel > 1) ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);

  DicomImage image(&ds, EXS_LittleEndianExplicit, CIF_MayDetachPixelData, 0, 1);
  if (image.getStatus() != EIS_Normal) {
    return Status(ErrorCode::kUnsupported,
                  std::string("cannot render: ") + DicomImage::getString(image.getStatus()));
  }
  if (image.isMonochrome()) {
    // VOI (PS3.3 C.11.2): the request's window, the object's first window or VOI LUT, else
    // the frame's min/max. DicomImage applies the Modality LUT first and MONOCHROME1 polarity.
    if (o.window_center) {
      image.setWindow(*o.window_center, *o.window_width);
    } else if (image.getWindowCount() > 0) {
      image.setWindow(0);
    } else if (image.getVoiLutCount() > 0) {
      image.setVoiLut(0);
    } else {
      image.setMinMaxWindow(0);
    }
  }
  DicomImage* shown = &image;
  std::unique_ptr<DicomImage> scaled;
  if (o.width > 0 || o.height > 0) {
    // Scaled to fit the viewport, aspect preserved (PS3.18 8.3.5.1.3).
    const double inf = std::numeric_limits<double>::infinity();
    const double sx = o.width > 0 ? double(o.width) / info.columns : inf;
    const double sy = o.height > 0 ? double(o.height) / info.rows : inf;
    const double s = std::min(sx, sy);
    const auto w = static_cast<unsigned long>(
        std::clamp<long>(std::lround(info.columns * s), 1, kMaxRenderedSide));
    const auto h = static_cast<unsigned long>(
        std::clamp<long>(std::lround(info.rows * s), 1, kMaxRenderedSide));
    if (w != static_cast<unsigned long>(info.columns) ||
        h != static_cast<unsigned long>(info.rows)) {
      scaled.reset(image.createScaledImage(w, h, 1 /* interpolate */, 0));
      if (!scaled || scaled->getStatus() != EIS_Normal)
        return Status(ErrorCode::kInternal, "cannot scale the image");
      shown = scaled.get();
    }
  }
  const int w = static_cast<int>(shown->getWidth());
  const int h = static_cast<int>(shown->getHeight());
  const int channels = shown->isMonochrome() ? 1 : 3;
  const auto* data = static_cast<const unsigned char*>(shown->getOutputData(8, 0, 0));
  if (data == nullptr || shown->getOutputDataSize(8) < size_t(w) * size_t(h) * size_t(channels)) {
    return Status(ErrorCode::kInternal, "DicomImage produced no output");
  }
  std::string out;
  const bool ok = o.media_type == "image/png" ? EncodePng(data, w, h, channels, &out)
                                              : EncodeJpeg(data, w, h, channels, o.quality, &out);
  if (!ok) return Status(ErrorCode::kInternal, "cannot encode " + o.media_type);
  return out;
}

// Box (area) average when shrinking, bilinear when enlarging; per channel.
std::vector<unsigned char> Scale(const uint8_t* px, int w, int h, int c, int ow, int oh) {
  std::vector<unsigned char> out(size_t(ow) * size_t(oh) * size_t(c));
  const double sx = double(w) / ow, sy = double(h) / oh;
  for (int y = 0; y < oh; ++y) {
    for (int x = 0; x < ow; ++x) {
      for (int k = 0; k < c; ++k) {
        double v = 0;
        if (sx >= 1 && sy >= 1) {
          const int x0 = int(x * sx), x1 = std::max(x0 + 1, std::min(w, int((x + 1) * sx)));
          const int y0 = int(y * sy), y1 = std::max(y0 + 1, std::min(h, int((y + 1) * sy)));
          double sum = 0;
          for (int yy = y0; yy < y1; ++yy)
            for (int xx = x0; xx < x1; ++xx) sum += px[(size_t(yy) * w + xx) * c + k];
          v = sum / double((x1 - x0) * (y1 - y0));
        } else {
          const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, double(w - 1));
          const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, double(h - 1));
          const int ix = int(fx), iy = int(fy);
          const int jx = std::min(ix + 1, w - 1), jy = std::min(iy + 1, h - 1);
          const double ax = fx - ix, ay = fy - iy;
          auto at = [&](int xx, int yy) { return double(px[(size_t(yy) * w + xx) * c + k]); };
          v = (1 - ay) * ((1 - ax) * at(ix, iy) + ax * at(jx, iy)) + ay * ((1 - ax) * at(ix, jy) + ax * at(jx, jy));
        }
        out[(size_t(y) * ow + x) * c + k] = static_cast<unsigned char>(std::lround(std::clamp(v, 0.0, 255.0)));
      }
    }
  }
  return out;
}

}  // namespace

Result<std::string> EncodeRendered(const uint8_t* pixels, int width, int height, int samples,
                                   const RenderOptions& o) {
  RADFLOW_RETURN_IF_ERROR(ValidateOptions(o));
  if (width < 1 || height < 1 || (samples != 1 && samples != 3) || pixels == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "no pixels to render");
  }
  int w = width, h = height;
  std::vector<unsigned char> scaled;
  const unsigned char* data = pixels;
  if (o.width > 0 || o.height > 0) {
    // Scaled to fit the viewport, aspect preserved (PS3.18 8.3.5.1.3).
    const double inf = std::numeric_limits<double>::infinity();
    const double s = std::min(o.width > 0 ? double(o.width) / width : inf,
                              o.height > 0 ? double(o.height) / height : inf);
    w = static_cast<int>(std::clamp<long>(std::lround(width * s), 1, kMaxRenderedSide));
    h = static_cast<int>(std::clamp<long>(std::lround(height * s), 1, kMaxRenderedSide));
    if (w != width || h != height) {
      scaled = Scale(pixels, width, height, samples, w, h);
      data = scaled.data();
    }
  }
  std::string out;
  const bool ok = o.media_type == "image/png" ? EncodePng(data, w, h, samples, &out)
                                              : EncodeJpeg(data, w, h, samples, o.quality, &out);
  if (!ok) return Status(ErrorCode::kInternal, "cannot encode " + o.media_type);
  return out;
}

Result<std::string> RenderFrame(const std::string& path, int frame_index,
                                const RenderOptions& options) {
  RADFLOW_RETURN_IF_ERROR(ValidateOptions(options));
  try {
    return Render(path, frame_index, options);
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kInternal, "RenderFrame: out of memory");
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInvalidDicom, std::string("RenderFrame: ") + e.what());
  } catch (...) {
    return Status(ErrorCode::kInvalidDicom, "RenderFrame: decoder error");
  }
}

}  // namespace radflow::pixel
