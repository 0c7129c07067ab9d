#include "apps/pathology/tissue.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace radflow::apps::pathology {
namespace {

// Otsu's threshold (1979) of values in [0, 1], 256 bins: the bin centre maximising the
// between-class variance.
double Otsu(const std::vector<float>& v) {
  std::array<double, 256> hist{};
  for (float x : v) hist[std::clamp(static_cast<int>(x * 255.0f + 0.5f), 0, 255)] += 1;
  const double total = static_cast<double>(v.size());
  double sum_all = 0;
  for (int i = 0; i < 256; ++i) sum_all += i * hist[i];
  double w0 = 0, sum0 = 0, best = -1;
  int best_i = 0;
  for (int i = 0; i < 256; ++i) {
    w0 += hist[i];
    sum0 += i * hist[i];
    if (w0 == 0 || w0 == total) continue;
    const double m0 = sum0 / w0, m1 = (sum_all - sum0) / (total - w0);
    const double between = w0 * (total - w0) * (m0 - m1) * (m0 - m1);
    if (between > best) {
      best = between;
      best_i = i;
    }
  }
  return (best_i + 0.5) / 255.0;
}

// Binary dilation / erosion with a (2r+1)-square, separable (rows then columns). Outside the
// image counts as background for dilation and as foreground for erosion (no edge erosion).
std::vector<uint8_t> Morph(const std::vector<uint8_t>& in, int w, int h, int r, bool dilate) {
  if (r <= 0) return in;
  std::vector<uint8_t> tmp(in.size()), out(in.size());
  const uint8_t edge = dilate ? 0 : 1;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t v = dilate ? 0 : 1;
      for (int dx = -r; dx <= r; ++dx) {
        const int xx = x + dx;
        const uint8_t s = (xx < 0 || xx >= w) ? edge : in[static_cast<size_t>(y) * w + xx];
        v = dilate ? (v | s) : (v & s);
      }
      tmp[static_cast<size_t>(y) * w + x] = v;
    }
  }
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t v = dilate ? 0 : 1;
      for (int dy = -r; dy <= r; ++dy) {
        const int yy = y + dy;
        const uint8_t s = (yy < 0 || yy >= h) ? edge : tmp[static_cast<size_t>(yy) * w + x];
        v = dilate ? (v | s) : (v & s);
      }
      out[static_cast<size_t>(y) * w + x] = v;
    }
  }
  return out;
}

// Removes 8-connected components smaller than min_pixels (iterative flood fill).
void RemoveSmall(std::vector<uint8_t>& m, int w, int h, int min_pixels) {
  std::vector<int> label(m.size(), 0), stack, members;
  int next = 0;
  for (size_t start = 0; start < m.size(); ++start) {
    if (!m[start] || label[start]) continue;
    ++next;
    members.clear();
    stack.assign(1, static_cast<int>(start));
    label[start] = next;
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      members.push_back(p);
      const int px = p % w, py = p / w;
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const int x = px + dx, y = py + dy;
          if (x < 0 || y < 0 || x >= w || y >= h) continue;
          const int q = y * w + x;
          if (m[q] && !label[q]) {
            label[q] = next;
            stack.push_back(q);
          }
        }
      }
    }
    if (static_cast<int>(members.size()) < min_pixels)
      for (int p : members) m[p] = 0;
  }
}

}  // namespace

TissueMask DetectTissue(const slide::RgbImage& image, const TissueSettings& settings) {
  TissueMask out;
  out.width = image.width;
  out.height = image.height;
  const size_t n = static_cast<size_t>(image.width) * image.height;
  std::vector<float> feature(n);
  for (size_t i = 0; i < n; ++i) {
    if (image.samples == 1) {
      feature[i] = 1.0f - image.pixels[i] / 255.0f;
      continue;
    }
    const uint8_t* p = &image.pixels[i * image.samples];
    const int mx = std::max({p[0], p[1], p[2]}), mn = std::min({p[0], p[1], p[2]});
    feature[i] = mx == 0 ? 0.0f : static_cast<float>(mx - mn) / mx;
  }
  out.saturation_threshold =
      n == 0 ? settings.min_saturation
             : std::clamp(Otsu(feature), settings.min_saturation, settings.max_saturation);
  std::vector<uint8_t> m(n);
  for (size_t i = 0; i < n; ++i) m[i] = feature[i] > out.saturation_threshold ? 1 : 0;
  const int w = image.width, h = image.height;
  m = Morph(Morph(m, w, h, settings.closing_radius, true), w, h, settings.closing_radius, false);
  m = Morph(Morph(m, w, h, settings.opening_radius, false), w, h, settings.opening_radius, true);
  RemoveSmall(m, w, h, settings.min_component_pixels);
  out.tissue_pixels = std::count(m.begin(), m.end(), 1);
  out.mask = std::move(m);
  return out;
}

double LaplacianVariance(const slide::RgbImage& tile) {
  const int w = tile.width, h = tile.height, s = tile.samples;
  if (w < 3 || h < 3) return 0;
  std::vector<double> luma(static_cast<size_t>(w) * h);
  for (size_t i = 0; i < luma.size(); ++i) {
    const uint8_t* p = &tile.pixels[i * s];
    luma[i] = s == 1 ? p[0] : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  }
  double sum = 0, sum2 = 0;
  long long count = 0;
  for (int y = 1; y + 1 < h; ++y) {
    for (int x = 1; x + 1 < w; ++x) {
      const size_t i = static_cast<size_t>(y) * w + x;
      const double l = luma[i - 1] + luma[i + 1] + luma[i - w] + luma[i + w] - 4 * luma[i];
      sum += l;
      sum2 += l * l;
      ++count;
    }
  }
  const double mean = sum / count;
  return sum2 / count - mean * mean;
}

double Dice(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  long long both = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    na += a[i] != 0;
    nb += b[i] != 0;
    both += a[i] != 0 && b[i] != 0;
  }
  return na + nb == 0 ? 1.0 : 2.0 * both / static_cast<double>(na + nb);
}

slide::RgbImage Downsample(const slide::RgbImage& image, int factor) {
  if (factor <= 1) return image;
  slide::RgbImage out;
  out.samples = image.samples;
  out.width = (image.width + factor - 1) / factor;
  out.height = (image.height + factor - 1) / factor;
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * out.samples);
  const int s = image.samples;
  for (int oy = 0; oy < out.height; ++oy) {
    for (int ox = 0; ox < out.width; ++ox) {
      for (int c = 0; c < s; ++c) {
        long sum = 0, count = 0;
        for (int y = oy * factor; y < std::min(image.height, (oy + 1) * factor); ++y)
          for (int x = ox * factor; x < std::min(image.width, (ox + 1) * factor); ++x, ++count)
            sum += image.pixels[(static_cast<size_t>(y) * image.width + x) * s + c];
        out.pixels[(static_cast<size_t>(oy) * out.width + ox) * s + c] =
            static_cast<uint8_t>((sum + count / 2) / count);
      }
    }
  }
  return out;
}

}  // namespace radflow::apps::pathology
