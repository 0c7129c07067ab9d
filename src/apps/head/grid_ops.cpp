#include "apps/head/grid_ops.h"

#include <algorithm>
#include <limits>
#include <thread>

#include "imaging/resample.h"

namespace radflow::apps::head {

namespace {

constexpr float kFar = 1e20f;

// 1D squared distance transform of f (sampled every `step` mm) into d; v, z are scratch.
void Transform1D(const float* f, float* d, size_t n, double step, std::vector<size_t>& v,
                 std::vector<double>& z) {
  v.assign(n, 0);
  z.assign(n + 1, 0);
  const double w = step * step;
  auto intersect = [&](size_t q, size_t p) {
    return ((f[q] + w * double(q) * q) - (f[p] + w * double(p) * p)) / (2 * w * (double(q) - double(p)));
  };
  size_t k = 0;
  size_t first = n;
  for (size_t q = 0; q < n; ++q) {
    if (f[q] >= kFar) continue;
    if (first == n) {
      first = q;
      v[0] = q;
      z[0] = -std::numeric_limits<double>::infinity();
      z[1] = std::numeric_limits<double>::infinity();
      continue;
    }
    double s = intersect(q, v[k]);
    while (s <= z[k]) {  // z[0] = -inf stops it
      --k;
      s = intersect(q, v[k]);
    }
    ++k;
    v[k] = q;
    z[k] = s;
    z[k + 1] = std::numeric_limits<double>::infinity();
  }
  if (first == n) {
    for (size_t q = 0; q < n; ++q) d[q] = kFar;
    return;
  }
  k = 0;
  for (size_t q = 0; q < n; ++q) {
    while (z[k + 1] < double(q)) ++k;
    const double dq = double(q) - double(v[k]);
    d[q] = float(w * dq * dq + f[v[k]]);
  }
}

}  // namespace

std::vector<float> SquaredDistance(const imaging::Mask& feature, bool in_plane, int threads) {
  const auto& g = feature.geometry();
  const size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  std::vector<float> dist(g.voxels());
  for (size_t n = 0; n < dist.size(); ++n) dist[n] = feature.data()[n] ? 0.f : kFar;
  // Along one axis: lines indexed by (a, b) over the two other axes.
  auto pass = [&](int axis) {
    const size_t len = g.size[axis];
    const size_t stride = axis == 0 ? 1 : axis == 1 ? nx : nx * ny;
    const size_t lines = g.voxels() / std::max<size_t>(len, 1);
    ParallelRanges(lines, threads, [&](size_t begin, size_t end) {
      std::vector<float> f(len), d(len);
      std::vector<size_t> v;
      std::vector<double> z;
      for (size_t line = begin; line < end; ++line) {
        size_t base;
        if (axis == 0) base = line * nx;
        else if (axis == 1) base = (line / nx) * nx * ny + line % nx;
        else base = line;
        bool any = false;
        for (size_t q = 0; q < len; ++q) {
          f[q] = dist[base + q * stride];
          any = any || f[q] < kFar;
        }
        if (!any) continue;
        Transform1D(f.data(), d.data(), len, g.spacing[axis], v, z);
        for (size_t q = 0; q < len; ++q) dist[base + q * stride] = d[q];
      }
    });
  };
  if (nx && ny && nz) {
    pass(0);
    pass(1);
    if (!in_plane) pass(2);
  }
  return dist;
}

imaging::Mask LargestComponent(const imaging::Mask& mask) {
  imaging::Mask out(mask.geometry(), 0);
  auto cc = imaging::ConnectedComponents(mask, 6);
  if (!cc.ok() || cc->sizes.empty()) return out;
  const auto best = std::max_element(cc->sizes.begin(), cc->sizes.end()) - cc->sizes.begin();
  const int32_t label = int32_t(best) + 1;
  for (size_t n = 0; n < out.data().size(); ++n) out.data()[n] = cc->labels.data()[n] == label;
  return out;
}

imaging::Mask SkullMask(const imaging::ImageVolume& hu, double bone_hu, bool spread_slices) {
  imaging::Mask bone(hu.geometry(), 0);
  for (size_t v = 0; v < bone.data().size(); ++v) bone.data()[v] = hu.data()[v] > bone_hu;
  imaging::Mask skull = LargestComponent(bone);
  if (!spread_slices) return skull;
  const auto& s = skull.geometry().size;
  const size_t plane = s[0] * s[1];
  imaging::Mask out = skull;
  for (size_t k = 0; k < s[2]; ++k)
    for (size_t p = 0; p < plane; ++p) {
      const size_t v = k * plane + p;
      if ((k > 0 && skull.data()[v - plane]) || (k + 1 < s[2] && skull.data()[v + plane])) out.data()[v] = 1;
    }
  return out;
}

}  // namespace radflow::apps::head
