#include "imaging/distance.h"

#include <limits>

#include "base/parallel.h"

namespace radflow::imaging {

namespace {

constexpr float kInf = std::numeric_limits<float>::max() / 4;

// 1D squared distance transform of f (n samples, `step` apart in memory, spacing s mm).
void Transform1D(float* data, size_t n, size_t step, double s, std::vector<float>& f,
                 std::vector<float>& d, std::vector<int>& v, std::vector<double>& z) {
  f.resize(n);
  d.resize(n);
  v.resize(n);
  z.resize(n + 1);
  bool any = false, all_zero = true;
  for (size_t q = 0; q < n; ++q) {
    f[q] = data[q * step];
    any = any || f[q] < kInf;
    all_zero = all_zero && f[q] == 0.f;
  }
  if (!any || all_zero) return;  // nothing to propagate
  const double s2 = s * s;
  int k = 0;
  // Only finite samples form parabolas.
  size_t first = 0;
  while (f[first] >= kInf) ++first;
  v[0] = int(first);
  z[0] = -1e300;
  z[1] = 1e300;
  for (size_t q = first + 1; q < n; ++q) {
    if (f[q] >= kInf) continue;
    double sq;
    while (true) {
      const int p = v[k];
      sq = ((f[q] + s2 * double(q) * q) - (f[p] + s2 * double(p) * p)) / (2 * s2 * (double(q) - p));
      if (sq <= z[k] && k > 0) {
        --k;
        continue;
      }
      break;
    }
    ++k;
    v[k] = int(q);
    z[k] = sq;
    z[k + 1] = 1e300;
  }
  k = 0;
  for (size_t q = 0; q < n; ++q) {
    while (z[k + 1] < double(q)) ++k;
    const double dq = double(q) - v[k];
    d[q] = float(s2 * dq * dq + f[v[k]]);
  }
  for (size_t q = 0; q < n; ++q) data[q * step] = d[q];
}

}  // namespace

std::vector<float> SquaredDistance(const Mask& mask, bool target, bool in_plane, int threads) {
  const auto& g = mask.geometry();
  const size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  std::vector<float> out(g.voxels());
  for (size_t n = 0; n < out.size(); ++n) out[n] = ((mask.data()[n] != 0) == target) ? 0.f : kInf;
  // Pass along i per row, then along j and k on transposed copies (contiguous lines are
  // several times faster than strided ones); threads over slices, then over rows.
  ParallelRanges(nz, threads, [&](size_t k0, size_t k1) {
    std::vector<float> f, d, t(nx * ny);
    std::vector<int> v;
    std::vector<double> z;
    for (size_t k = k0; k < k1; ++k) {
      float* slice = out.data() + k * nx * ny;
      for (size_t j = 0; j < ny; ++j) Transform1D(slice + j * nx, nx, 1, g.spacing[0], f, d, v, z);
      for (size_t j = 0; j < ny; ++j)
        for (size_t i = 0; i < nx; ++i) t[i * ny + j] = slice[j * nx + i];
      for (size_t i = 0; i < nx; ++i) Transform1D(t.data() + i * ny, ny, 1, g.spacing[1], f, d, v, z);
      for (size_t j = 0; j < ny; ++j)
        for (size_t i = 0; i < nx; ++i) slice[j * nx + i] = t[i * ny + j];
    }
  });
  if (!in_plane && nz > 1) {
    ParallelRanges(ny, threads, [&](size_t j0, size_t j1) {
      std::vector<float> f, d, t(nx * nz);
      std::vector<int> v;
      std::vector<double> z;
      for (size_t j = j0; j < j1; ++j) {
        for (size_t k = 0; k < nz; ++k) {
          const float* row = out.data() + k * nx * ny + j * nx;
          for (size_t i = 0; i < nx; ++i) t[i * nz + k] = row[i];
        }
        for (size_t i = 0; i < nx; ++i) Transform1D(t.data() + i * nz, nz, 1, g.spacing[2], f, d, v, z);
        for (size_t k = 0; k < nz; ++k) {
          float* row = out.data() + k * nx * ny + j * nx;
          for (size_t i = 0; i < nx; ++i) row[i] = t[i * nz + k];
        }
      }
    });
  }
  return out;
}

}  // namespace radflow::imaging
