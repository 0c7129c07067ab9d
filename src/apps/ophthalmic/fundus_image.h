// A colour fundus photograph as the analysis sees it, and small image operations on float
// planes (Gaussian blur, resampling, connected components) shared by the module's files.
// Internal to radflow_apps_ophthalmic (and its tests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace radflow::apps::ophthalmic {

// The largest photograph analysed (Rows x Columns): the analysis holds ~30 bytes per pixel
// at the photograph's resolution (about 2 GB here); fundus cameras give up to ~24 MP.
inline constexpr size_t kMaxFundusPixels = size_t(64) << 20;

// 8-bit RGB, colour-by-pixel (PlanarConfiguration 0), rows top to bottom.
struct FundusImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;       // width * height * 3
  double pixel_spacing_mm = 0;    // PixelSpacing (0028,0030) when isotropic; 0: unknown
};

// One float channel.
struct Plane {
  int width = 0;
  int height = 0;
  std::vector<float> v;
  Plane() = default;
  Plane(int w, int h, float fill = 0) : width(w), height(h), v(size_t(w) * size_t(h), fill) {}
  float& at(int x, int y) { return v[size_t(y) * size_t(width) + size_t(x)]; }
  float at(int x, int y) const { return v[size_t(y) * size_t(width) + size_t(x)]; }
};

using Mask = std::vector<uint8_t>;  // width * height, non-zero inside

// Separable Gaussian (kernel to 3 sigma, borders clamped). sigma <= 0: unchanged.
Plane GaussianBlur(const Plane& in, double sigma);
// Bilinear resampling to w x h (pixel centres aligned); the caller pre-blurs when shrinking.
Plane Resample(const Plane& in, int w, int h);
// Keeps the largest 4-connected component of `mask` and fills its holes.
Mask LargestComponentFilled(const Mask& mask, int w, int h);
// Removes 8-connected components smaller than min_pixels.
void RemoveSmallComponents(Mask& mask, int w, int h, int min_pixels);
// Erodes by a (2r+1)^2 square; outside the image is background (a field of view cut by
// the image border shrinks from the border too).
Mask Erode(const Mask& mask, int w, int h, int r);
// Grey-level closing by a (2r+1)^2 square (removes dark structures narrower than 2r+1).
Plane Close(const Plane& in, int r);

}  // namespace radflow::apps::ophthalmic
