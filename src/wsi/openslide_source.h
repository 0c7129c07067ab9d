// A vendor slide read through OpenSlide 3.4 (levels, microns per pixel, properties,
// associated images), pixels as interleaved 8-bit RGB. OpenSlide types stay in the .cpp.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "wsi/jpeg_stream.h"

namespace radflow::wsi {

struct RgbRaster {
  int width = 0, height = 0;
  Bytes pixels;  // width*height*3
};

struct SourceLevel {
  int64_t width = 0, height = 0;
  double downsample = 1;
};

class OpenSlideSource {
 public:
  ~OpenSlideSource();
  // kInvalidArgument naming the file and OpenSlide's reason when it is not a slide.
  static Result<std::unique_ptr<OpenSlideSource>> Open(const std::string& path);
  const std::vector<SourceLevel>& levels() const { return levels_; }
  const std::string& vendor() const { return vendor_; }
  std::optional<std::string> Property(const std::string& name) const;
  std::vector<std::string> AssociatedNames() const;
  // Region of `level` (x, y in that level's pixels); transparent pixels (outside the
  // scanned area) become white, as OpenSlide's background.
  Result<RgbRaster> ReadRegion(int level, int64_t x, int64_t y, int width, int height);
  Result<RgbRaster> ReadAssociated(const std::string& name);

 private:
  OpenSlideSource() = default;
  void* osr_ = nullptr;  // openslide_t*
  std::vector<SourceLevel> levels_;
  std::string vendor_;
};

}  // namespace radflow::wsi
