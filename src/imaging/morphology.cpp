#include "imaging/morphology.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

#include "base/parallel.h"

namespace radflow::imaging {

namespace {

struct Offset {
  long di, dj, dk;
};

// The ball's voxel offsets on this grid (physical distances, so anisotropic voxels work).
std::vector<Offset> Ball(const Geometry& g, double radius_mm) {
  std::vector<Offset> out;
  long reach[3];
  for (int a = 0; a < 3; ++a) reach[a] = long(std::floor(radius_mm / g.spacing[a] + 1e-9));
  for (long k = -reach[2]; k <= reach[2]; ++k)
    for (long j = -reach[1]; j <= reach[1]; ++j)
      for (long i = -reach[0]; i <= reach[0]; ++i) {
        const double x = i * g.spacing[0], y = j * g.spacing[1], z = k * g.spacing[2];
        if (x * x + y * y + z * z <= radius_mm * radius_mm + 1e-9) out.push_back({i, j, k});
      }
  return out;
}

// For every voxel: does any (dilate) or every (erode) ball neighbour have the value?
Mask Apply(const Mask& mask, double radius_mm, bool dilate) {
  const auto& s = mask.geometry().size;
  const auto ball = Ball(mask.geometry(), radius_mm);
  Mask out(mask.geometry(), 0);
  for (size_t k = 0; k < s[2]; ++k)
    for (size_t j = 0; j < s[1]; ++j)
      for (size_t i = 0; i < s[0]; ++i) {
        bool result = !dilate;
        for (const auto& o : ball) {
          const long x = long(i) + o.di, y = long(j) + o.dj, z = long(k) + o.dk;
          const bool inside = x >= 0 && y >= 0 && z >= 0 && x < long(s[0]) && y < long(s[1]) && z < long(s[2]);
          const bool fg = inside && mask.at(size_t(x), size_t(y), size_t(z)) != 0;
          if (dilate && fg) {
            result = true;
            break;
          }
          if (!dilate && !fg) {
            result = false;
            break;
          }
        }
        out.at(i, j, k) = result ? 1 : 0;
      }
  return out;
}

}  // namespace

Mask Dilate(const Mask& mask, double radius_mm) { return Apply(mask, radius_mm, true); }
Mask Erode(const Mask& mask, double radius_mm) { return Apply(mask, radius_mm, false); }
Mask Open(const Mask& mask, double radius_mm) { return Dilate(Erode(mask, radius_mm), radius_mm); }
Mask Close(const Mask& mask, double radius_mm) { return Erode(Dilate(mask, radius_mm), radius_mm); }

Mask FillHoles(const Mask& mask) {
  const auto& s = mask.geometry().size;
  Mask outside(mask.geometry(), 0);
  std::deque<std::array<size_t, 3>> queue;
  auto seed = [&](size_t i, size_t j, size_t k) {
    if (mask.at(i, j, k) == 0 && outside.at(i, j, k) == 0) {
      outside.at(i, j, k) = 1;
      queue.push_back({i, j, k});
    }
  };
  for (size_t k = 0; k < s[2]; ++k)
    for (size_t j = 0; j < s[1]; ++j)
      for (size_t i = 0; i < s[0]; ++i) {
        if (i == 0 || j == 0 || k == 0 || i + 1 == s[0] || j + 1 == s[1] || k + 1 == s[2]) seed(i, j, k);
      }
  while (!queue.empty()) {
    auto [i, j, k] = queue.front();
    queue.pop_front();
    if (i > 0) seed(i - 1, j, k);
    if (j > 0) seed(i, j - 1, k);
    if (k > 0) seed(i, j, k - 1);
    if (i + 1 < s[0]) seed(i + 1, j, k);
    if (j + 1 < s[1]) seed(i, j + 1, k);
    if (k + 1 < s[2]) seed(i, j, k + 1);
  }
  Mask out(mask.geometry(), 0);
  for (size_t n = 0; n < out.data().size(); ++n) out.data()[n] = outside.data()[n] ? 0 : 1;
  return out;
}

Mask FillHolesPerSlice(const Mask& mask, int threads) {
  const auto& s = mask.geometry().size;
  Mask out(mask.geometry(), 1);
  ParallelRanges(s[2], threads, [&](size_t k0, size_t k1) {
    std::vector<size_t> stack;
    const size_t plane = s[0] * s[1];
    for (size_t k = k0; k < k1; ++k) {
      const uint8_t* in = mask.data().data() + k * plane;
      uint8_t* o = out.data().data() + k * plane;
      auto seed = [&](size_t n) {
        if (!in[n] && o[n]) {
          o[n] = 0;
          stack.push_back(n);
        }
      };
      for (size_t i = 0; i < s[0]; ++i) {
        seed(i);
        seed((s[1] - 1) * s[0] + i);
      }
      for (size_t j = 0; j < s[1]; ++j) {
        seed(j * s[0]);
        seed(j * s[0] + s[0] - 1);
      }
      while (!stack.empty()) {
        const size_t n = stack.back();
        stack.pop_back();
        const size_t i = n % s[0], j = n / s[0];
        if (i > 0) seed(n - 1);
        if (i + 1 < s[0]) seed(n + 1);
        if (j > 0) seed(n - s[0]);
        if (j + 1 < s[1]) seed(n + s[0]);
      }
    }
  });
  return out;
}

std::optional<IndexBox> NonZeroBox(const Mask& mask) {
  const auto& n = mask.geometry().size;
  IndexBox box{{n[0], n[1], n[2]}, {0, 0, 0}};
  bool any = false;
  for (size_t k = 0; k < n[2]; ++k)
    for (size_t j = 0; j < n[1]; ++j)
      for (size_t i = 0; i < n[0]; ++i) {
        if (mask.at(i, j, k) == 0) continue;
        any = true;
        const size_t p[3] = {i, j, k};
        for (int a = 0; a < 3; ++a) {
          box.lo[a] = std::min(box.lo[a], p[a]);
          box.hi[a] = std::max(box.hi[a], p[a]);
        }
      }
  if (!any) return std::nullopt;
  return box;
}

}  // namespace radflow::imaging
