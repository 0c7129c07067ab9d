#include "apps/lung/lung_grid.h"

#include <algorithm>
#include <cmath>

#include "imaging/distance.h"

namespace radflow::apps::lung::grid {

using imaging::Geometry;
using imaging::Mask;

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

int SuperiorStep(const Geometry& g) { return g.direction[2][2] >= 0 ? 1 : -1; }

}  // namespace radflow::apps::lung::grid
