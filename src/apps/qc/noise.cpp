// Image noise as the "global noise index" (Christianson et al., Radiology 2015;275:552):
// the mode of the local-SD histogram over homogeneous soft tissue. The mode is robust to the
// few windows that straddle an edge, which raise the SD, and needs no manual ROI.
#include <algorithm>
#include <cmath>
#include <vector>

#include "apps/qc/qc_internal.h"
#include "base/parallel.h"
#include "apps/qc/qc_apps.h"

namespace radflow::apps::qc {
namespace {

constexpr double kTissueLow = -300, kTissueHigh = 400;  // every voxel of the window
constexpr double kMeanLow = -100, kMeanHigh = 150;      // the window's mean
constexpr double kBinHu = 0.5;
constexpr size_t kBins = 1000;  // local SDs up to 500 HU

// Summed-area tables of one slice, (nx+1)·(ny+1), for O(1) window sums.
struct SliceSums {
  size_t nx = 0, ny = 0;
  std::vector<double> s, s2, inside;
  void Build(const float* px, size_t w, size_t h) {
    nx = w;
    ny = h;
    const size_t stride = nx + 1;
    s.assign(stride * (ny + 1), 0);
    s2.assign(s.size(), 0);
    inside.assign(s.size(), 0);
    for (size_t j = 0; j < ny; ++j) {
      double rs = 0, rs2 = 0, ri = 0;
      for (size_t i = 0; i < nx; ++i) {
        const double v = px[j * nx + i];
        rs += v;
        rs2 += v * v;
        ri += (v >= kTissueLow && v <= kTissueHigh) ? 1 : 0;
        const size_t o = (j + 1) * stride + i + 1;
        s[o] = s[o - stride] + rs;
        s2[o] = s2[o - stride] + rs2;
        inside[o] = inside[o - stride] + ri;
      }
    }
  }
  static double Box(const std::vector<double>& t, size_t stride, size_t i0, size_t j0, size_t i1,
                    size_t j1) {  // [i0, i1) × [j0, j1)
    return t[j1 * stride + i1] - t[j0 * stride + i1] - t[j1 * stride + i0] + t[j0 * stride + i0];
  }
};

}  // namespace

imaging::Mask HomogeneousRegions(const imaging::ImageVolume& image, double half_window_mm,
                                 int threads) {
  const auto& g = image.geometry();
  imaging::Mask out(g, 0);
  const size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  const int hx = HalfWindowPixels(half_window_mm, g.spacing[0]);
  const int hy = HalfWindowPixels(half_window_mm, g.spacing[1]);
  if (nx <= size_t(2 * hx) || ny <= size_t(2 * hy)) return out;
  const double n = double(2 * hx + 1) * double(2 * hy + 1);
  ParallelFor(nz, threads, [&](size_t k) {
    SliceSums sums;
    sums.Build(image.data().data() + k * nx * ny, nx, ny);
    const size_t stride = nx + 1;
    for (size_t j = hy; j + hy < ny; ++j) {
      for (size_t i = hx; i + hx < nx; ++i) {
        const size_t i0 = i - hx, j0 = j - hy, i1 = i + hx + 1, j1 = j + hy + 1;
        if (SliceSums::Box(sums.inside, stride, i0, j0, i1, j1) < n - 0.5) continue;
        const double mean = SliceSums::Box(sums.s, stride, i0, j0, i1, j1) / n;
        if (mean >= kMeanLow && mean <= kMeanHigh) out.at(i, j, k) = 1;
      }
    }
  });
  return out;
}

NoiseEstimate EstimateNoiseInRegion(const imaging::ImageVolume& image, const imaging::Mask& region,
                                    double half_window_mm, int threads) {
  const auto& g = image.geometry();
  const size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  const int hx = HalfWindowPixels(half_window_mm, g.spacing[0]);
  const int hy = HalfWindowPixels(half_window_mm, g.spacing[1]);
  const double n = double(2 * hx + 1) * double(2 * hy + 1);
  // Per slice histograms, merged after: no shared writes between threads.
  std::vector<std::vector<double>> hist(nz);
  std::vector<double> sum_hu(nz, 0), count(nz, 0);
  ParallelFor(nz, threads, [&](size_t k) {
    const uint8_t* m = region.data().data() + k * nx * ny;
    bool any = false;
    for (size_t o = 0; o < nx * ny && !any; ++o) any = m[o] != 0;
    if (!any) return;
    hist[k].assign(kBins, 0);
    SliceSums sums;
    sums.Build(image.data().data() + k * nx * ny, nx, ny);
    const size_t stride = nx + 1;
    for (size_t j = hy; j + hy < ny; ++j) {
      for (size_t i = hx; i + hx < nx; ++i) {
        if (!m[j * nx + i]) continue;
        const size_t i0 = i - hx, j0 = j - hy, i1 = i + hx + 1, j1 = j + hy + 1;
        const double s = SliceSums::Box(sums.s, stride, i0, j0, i1, j1);
        const double s2 = SliceSums::Box(sums.s2, stride, i0, j0, i1, j1);
        const double var = std::max(0.0, (s2 - s * s / n) / (n - 1));
        const size_t bin = std::min(kBins - 1, size_t(std::sqrt(var) / kBinHu));
        hist[k][bin] += 1;
        sum_hu[k] += image.at(i, j, k);
        count[k] += 1;
      }
    }
  });
  std::vector<double> total(kBins, 0);
  double voxels = 0, hu = 0;
  for (size_t k = 0; k < nz; ++k) {
    voxels += count[k];
    hu += sum_hu[k];
    if (hist[k].empty()) continue;
    for (size_t b = 0; b < kBins; ++b) total[b] += hist[k][b];
  }
  NoiseEstimate est;
  est.voxels = size_t(voxels);
  if (voxels < 1) return est;
  est.mean_hu = hu / voxels;
  // Mode of the histogram smoothed over 5 bins (2.5 HU).
  double best = -1;
  for (size_t b = 0; b < kBins; ++b) {
    double v = 0;
    for (int d = -2; d <= 2; ++d) {
      const long c = long(b) + d;
      if (c >= 0 && c < long(kBins)) v += total[c];
    }
    if (v > best) {
      best = v;
      est.sd_hu = (double(b) + 0.5) * kBinHu;
    }
  }
  double acc = 0;
  for (size_t b = 0; b < kBins; ++b) {
    acc += total[b];
    if (acc >= 0.1 * voxels) {
      est.p10_sd_hu = (double(b) + 0.5) * kBinHu;
      break;
    }
  }
  return est;
}

NoiseEstimate EstimateNoise(const imaging::ImageVolume& image, int threads) {
  return EstimateNoiseInRegion(image, HomogeneousRegions(image, 3.0, threads), 3.0, threads);
}

}  // namespace radflow::apps::qc
