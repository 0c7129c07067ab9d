// OpenSlide lives in this file only.
#include "wsi/openslide_source.h"

#include <openslide.h>

namespace radflow::wsi {

namespace {
openslide_t* Osr(void* p) { return static_cast<openslide_t*>(p); }

// OpenSlide returns premultiplied ARGB (0xAARRGGBB); un-premultiply onto white.
void ArgbToRgb(const uint32_t* argb, size_t n, uint8_t* rgb) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t p = argb[i];
    const uint32_t a = p >> 24;
    uint32_t r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
    if (a != 255) {
      // premultiplied colour + white * (1 - alpha)
      r = r + (255 - a);
      g = g + (255 - a);
      b = b + (255 - a);
      if (r > 255) r = 255;
      if (g > 255) g = 255;
      if (b > 255) b = 255;
    }
    rgb[3 * i] = static_cast<uint8_t>(r);
    rgb[3 * i + 1] = static_cast<uint8_t>(g);
    rgb[3 * i + 2] = static_cast<uint8_t>(b);
  }
}
}  // namespace

OpenSlideSource::~OpenSlideSource() {
  if (osr_) openslide_close(Osr(osr_));
}

Result<std::unique_ptr<OpenSlideSource>> OpenSlideSource::Open(const std::string& path) {
  const char* vendor = openslide_detect_vendor(path.c_str());
  if (!vendor) return Status(ErrorCode::kInvalidArgument, path + ": not a slide OpenSlide can read");
  openslide_t* osr = openslide_open(path.c_str());
  if (!osr) return Status(ErrorCode::kInvalidArgument, path + ": OpenSlide cannot open it");
  std::unique_ptr<OpenSlideSource> s(new OpenSlideSource());
  s->osr_ = osr;
  if (const char* e = openslide_get_error(osr)) {
    return Status(ErrorCode::kInvalidArgument, path + ": " + e);
  }
  s->vendor_ = vendor;
  const int32_t n = openslide_get_level_count(osr);
  if (n <= 0) return Status(ErrorCode::kInvalidArgument, path + ": slide has no levels");
  for (int32_t i = 0; i < n; ++i) {
    SourceLevel l;
    openslide_get_level_dimensions(osr, i, &l.width, &l.height);
    l.downsample = openslide_get_level_downsample(osr, i);
    s->levels_.push_back(l);
  }
  return s;
}

std::optional<std::string> OpenSlideSource::Property(const std::string& name) const {
  const char* v = openslide_get_property_value(Osr(osr_), name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::vector<std::string> OpenSlideSource::AssociatedNames() const {
  std::vector<std::string> out;
  for (const char* const* p = openslide_get_associated_image_names(Osr(osr_)); p && *p; ++p) out.emplace_back(*p);
  return out;
}

Result<RgbRaster> OpenSlideSource::ReadRegion(int level, int64_t x, int64_t y, int width, int height) {
  if (level < 0 || level >= static_cast<int>(levels_.size()) || width <= 0 || height <= 0) {
    return Status(ErrorCode::kInvalidArgument, "bad region");
  }
  std::vector<uint32_t> argb(static_cast<size_t>(width) * height);
  // openslide_read_region takes level-0 coordinates.
  const double ds = levels_[level].downsample;
  openslide_read_region(Osr(osr_), argb.data(), static_cast<int64_t>(x * ds), static_cast<int64_t>(y * ds), level,
                        width, height);
  if (const char* e = openslide_get_error(Osr(osr_))) return Status(ErrorCode::kIoError, std::string("OpenSlide: ") + e);
  RgbRaster r;
  r.width = width;
  r.height = height;
  r.pixels.resize(argb.size() * 3);
  ArgbToRgb(argb.data(), argb.size(), r.pixels.data());
  return r;
}

Result<RgbRaster> OpenSlideSource::ReadAssociated(const std::string& name) {
  int64_t w = 0, h = 0;
  openslide_get_associated_image_dimensions(Osr(osr_), name.c_str(), &w, &h);
  if (w <= 0 || h <= 0 || w > 65535 || h > 65535) {
    return Status(ErrorCode::kInvalidArgument, "associated image '" + name + "' has an unusable size");
  }
  std::vector<uint32_t> argb(static_cast<size_t>(w * h));
  openslide_read_associated_image(Osr(osr_), name.c_str(), argb.data());
  if (const char* e = openslide_get_error(Osr(osr_))) return Status(ErrorCode::kIoError, std::string("OpenSlide: ") + e);
  RgbRaster r;
  r.width = static_cast<int>(w);
  r.height = static_cast<int>(h);
  r.pixels.resize(argb.size() * 3);
  ArgbToRgb(argb.data(), argb.size(), r.pixels.data());
  return r;
}

}  // namespace radflow::wsi
