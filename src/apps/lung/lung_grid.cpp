#include "apps/lung/lung_grid.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "imaging/distance.h"

namespace radflow::apps::lung::grid {

using imaging::Geometry;
using imaging::Mask;

namespace {



}  // namespace


Mask Dilate(const Mask& m, double r, bool in_plane, int threads) {
  const auto d = imaging::SquaredDistance(m, true, in_plane, threads);
  Mask out(m.geometry(), 0);
  const float r2 = float(r * r + 1e-6);
  for (size_t n = 0; n < d.size(); ++n) out.data()[n] = d[n] <= r2 ? 1 : 0;
  return out;
}

Mask Erode(const Mask& m, double r, bool in_plane, int threads) {
  const auto d = imaging::SquaredDistance(m, false, in_plane, threads);
  Mask out(m.geometry(), 0);
  const float r2 = float(r * r + 1e-6);
  for (size_t n = 0; n < d.size(); ++n) out.data()[n] = (m.data()[n] != 0 && d[n] > r2) ? 1 : 0;
  return out;
}

Mask Close(const Mask& m, double r, bool in_plane, int threads) {
  Mask out = Erode(Dilate(m, r, in_plane, threads), r, in_plane, threads);
  for (size_t n = 0; n < out.data().size(); ++n) out.data()[n] |= (m.data()[n] != 0);
  return out;
}

Mask Open(const Mask& m, double r, bool in_plane, int threads) {
  return Dilate(Erode(m, r, in_plane, threads), r, in_plane, threads);
}

Mask ConvexHull2D(const Mask& m, int threads) {
  const auto& s = m.geometry().size;
  Mask out(m.geometry(), 0);
  ParallelRanges(s[2], threads, [&](size_t k0, size_t k1) {
    using P = std::pair<double, double>;
    for (size_t k = k0; k < k1; ++k) {
      std::vector<P> pts;  // row extremes are enough for the hull
      for (size_t j = 0; j < s[1]; ++j) {
        long lo = -1, hi = -1;
        for (size_t i = 0; i < s[0]; ++i)
          if (m.at(i, j, k)) {
            if (lo < 0) lo = long(i);
            hi = long(i);
          }
        if (lo >= 0) pts.push_back({double(lo), double(j)}), pts.push_back({double(hi), double(j)});
      }
      if (pts.size() < 3) continue;
      std::sort(pts.begin(), pts.end());
      auto cross = [](const P& o, const P& a, const P& b) {
        return (a.first - o.first) * (b.second - o.second) - (a.second - o.second) * (b.first - o.first);
      };
      std::vector<P> hull(2 * pts.size());
      size_t h = 0;
      for (size_t n = 0; n < pts.size(); ++n) {  // Andrew's monotone chain
        while (h >= 2 && cross(hull[h - 2], hull[h - 1], pts[n]) <= 0) --h;
        hull[h++] = pts[n];
      }
      for (size_t n = pts.size() - 1, t = h + 1; n-- > 0;) {
        while (h >= t && cross(hull[h - 2], hull[h - 1], pts[n]) <= 0) --h;
        hull[h++] = pts[n];
      }
      hull.resize(h - 1);
      // Scanline fill: each row's span between the hull edges crossing it.
      for (size_t j = 0; j < s[1]; ++j) {
        double lo = 1e300, hi = -1e300;
        const double y = double(j);
        for (size_t e = 0; e < hull.size(); ++e) {
          const P& a = hull[e];
          const P& b = hull[(e + 1) % hull.size()];
          if ((y < std::min(a.second, b.second) - 1e-9) || (y > std::max(a.second, b.second) + 1e-9)) continue;
          if (std::abs(a.second - b.second) < 1e-9) {
            lo = std::min({lo, a.first, b.first});
            hi = std::max({hi, a.first, b.first});
          } else {
            const double x = a.first + (y - a.second) * (b.first - a.first) / (b.second - a.second);
            lo = std::min(lo, x);
            hi = std::max(hi, x);
          }
        }
        if (hi < lo) continue;
        for (long i = std::max(0L, long(std::ceil(lo - 1e-6))); i <= std::min(long(s[0]) - 1, long(std::floor(hi + 1e-6))); ++i)
          out.at(size_t(i), j, k) = 1;
      }
    }
  });
  return out;
}

Factors WorkingFactors(const Geometry& g) {
  Factors f;
  f.xy = std::max<size_t>(1, size_t(std::lround(1.6 / std::max(1e-3, g.spacing[0]))));
  f.z = std::max<size_t>(1, size_t(std::lround(2.0 / std::max(1e-3, g.spacing[2]))));
  return f;
}

imaging::ImageVolume Downsample(const imaging::ImageVolume& v, Factors f, int threads) {
  if (f.xy <= 1 && f.z <= 1) return v;
  const Geometry& g = v.geometry();
  Geometry c = g;
  c.size = {(g.size[0] + f.xy - 1) / f.xy, (g.size[1] + f.xy - 1) / f.xy, (g.size[2] + f.z - 1) / f.z};
  c.spacing = {g.spacing[0] * double(f.xy), g.spacing[1] * double(f.xy), g.spacing[2] * double(f.z)};
  c.origin = g.IndexToPoint(0.5 * (double(f.xy) - 1), 0.5 * (double(f.xy) - 1), 0.5 * (double(f.z) - 1));
  imaging::ImageVolume out(c, 0.f);
  ParallelRanges(c.size[2], threads, [&](size_t k0, size_t k1) {
    std::vector<double> sum(c.size[0] * c.size[1]);
    std::vector<uint32_t> cnt(sum.size());
    for (size_t ck = k0; ck < k1; ++ck) {
      std::fill(sum.begin(), sum.end(), 0.0);
      std::fill(cnt.begin(), cnt.end(), 0u);
      for (size_t k = ck * f.z; k < std::min(g.size[2], ck * f.z + f.z); ++k)
        for (size_t j = 0; j < g.size[1]; ++j) {
          const float* row = v.data().data() + v.Offset(0, j, k);
          const size_t base = (j / f.xy) * c.size[0];
          for (size_t i = 0; i < g.size[0]; ++i) sum[base + i / f.xy] += row[i], ++cnt[base + i / f.xy];
        }
      float* dst = out.data().data() + out.Offset(0, 0, ck);
      for (size_t p = 0; p < sum.size(); ++p) dst[p] = float(sum[p] / double(std::max(1u, cnt[p])));
    }
  });
  return out;
}

Mask Upsample(const Mask& coarse, const Geometry& fine, Factors f, int threads) {
  if (f.xy <= 1 && f.z <= 1) return coarse;
  Mask out(fine, 0);
  ParallelRanges(fine.size[2], threads, [&](size_t k0, size_t k1) {
    for (size_t k = k0; k < k1; ++k)
      for (size_t j = 0; j < fine.size[1]; ++j) {
        const uint8_t* src = coarse.data().data() + coarse.Offset(0, j / f.xy, k / f.z);
        uint8_t* dst = out.data().data() + out.Offset(0, j, k);
        for (size_t i = 0; i < fine.size[0]; ++i) dst[i] = src[i / f.xy];
      }
  });
  return out;
}

int SuperiorStep(const Geometry& g) { return g.direction[2][2] >= 0 ? 1 : -1; }

}  // namespace radflow::apps::lung::grid
