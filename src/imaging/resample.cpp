#include "imaging/resample.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "base/parallel.h"

namespace radflow::imaging {
namespace {

// In-place cubic B-spline prefilter of one line (Unser 1993; mirror boundaries, pole
// z = sqrt(3) - 2), turning samples into spline coefficients.
void PrefilterLine(std::vector<double>& c) {
  const size_t n = c.size();
  if (n < 2) return;
  const double z = std::sqrt(3.0) - 2.0, lambda = (1 - z) * (1 - 1 / z);
  for (double& v : c) v *= lambda;
  // Causal initialisation on the mirrored signal: truncated sum (|z|^30 < 1e-17), or the
  // exact closed form for short lines.
  double sum = c[0], zk = z;
  if (n > 30) {
    for (size_t k = 1; k < 30; ++k, zk *= z) sum += zk * c[k];
  } else {
    const double iz = 1 / z;
    double z2n = std::pow(z, double(n - 1));
    sum = c[0] + z2n * c[n - 1];
    z2n *= z2n * iz;
    for (size_t k = 1; k + 1 < n; ++k, zk *= z, z2n *= iz) sum += (zk + z2n) * c[k];
    sum /= 1 - zk * zk;
  }
  c[0] = sum;
  for (size_t k = 1; k < n; ++k) c[k] += z * c[k - 1];
  c[n - 1] = (z / (z * z - 1)) * (z * c[n - 2] + c[n - 1]);
  for (size_t k = n - 1; k-- > 0;) c[k] = z * (c[k + 1] - c[k]);
}

std::vector<double> BSplineCoefficients(const ImageVolume& image) {
  const auto& s = image.geometry().size;
  std::vector<double> c(image.data().begin(), image.data().end());
  const size_t stride[3] = {1, s[0], s[0] * s[1]};
  for (int axis = 0; axis < 3; ++axis) {
    std::vector<double> line(s[axis]);
    const int a1 = (axis + 1) % 3, a2 = (axis + 2) % 3;
    for (size_t u = 0; u < s[a1]; ++u) {
      for (size_t v = 0; v < s[a2]; ++v) {
        const size_t base = u * stride[a1] + v * stride[a2];
        for (size_t k = 0; k < s[axis]; ++k) line[k] = c[base + k * stride[axis]];
        PrefilterLine(line);
        for (size_t k = 0; k < s[axis]; ++k) c[base + k * stride[axis]] = line[k];
      }
    }
  }
  return c;
}

// Mirror an index into [0, n) (whole-sample symmetric, as the prefilter assumes).
size_t Mirror(long i, size_t n) {
  if (n == 1) return 0;
  const long period = 2 * (long(n) - 1);
  i = std::abs(i) % period;
  return size_t(i < long(n) ? i : period - i);
}

void CubicWeights(double t, double w[4]) {  // t in [0, 1): offsets -1, 0, 1, 2
  const double u = 1 - t;
  w[0] = u * u * u / 6;
  w[1] = (4 - 6 * t * t + 3 * t * t * t) / 6;
  w[2] = (4 - 6 * u * u + 3 * u * u * u) / 6;
  w[3] = t * t * t / 6;
}

}  // namespace

ImageVolume Resample(const ImageVolume& image, const Geometry& target, Interpolation interpolation,
                     float fill, bool extend_edges) {
  ImageVolume out(target, fill);
  const Geometry& g = image.geometry();
  const auto& s = g.size;
  if (image.empty()) return out;
  std::vector<double> coef;
  if (interpolation == Interpolation::kCubicBSpline) coef = BSplineCoefficients(image);
  const double eps = 1e-6;
  for (size_t k = 0; k < target.size[2]; ++k) {
    for (size_t j = 0; j < target.size[1]; ++j) {
      for (size_t i = 0; i < target.size[0]; ++i) {
        const Vec3 raw = g.PointToIndex(target.IndexToPoint(double(i), double(j), double(k)));
        // Nearest accepts the whole voxel around each centre; the others the hull of centres.
        const double margin = interpolation == Interpolation::kNearest ? 0.5 : 0.0;
        bool inside = true;
        Vec3 x;
        for (int a = 0; a < 3; ++a) {
          inside = inside && raw[a] >= -margin - eps && raw[a] <= double(s[a] - 1) + margin + eps;
          x[a] = std::clamp(raw[a], 0.0, double(s[a] - 1));
        }
        if (!inside && !extend_edges) continue;
        float& dst = out.at(i, j, k);
        if (interpolation == Interpolation::kNearest) {
          dst = image.at(size_t(std::lround(x[0])), size_t(std::lround(x[1])),
                         size_t(std::lround(x[2])));
          continue;
        }
        size_t i0[3];
        double t[3];
        for (int a = 0; a < 3; ++a) {
          i0[a] = std::min(size_t(std::floor(x[a])), s[a] > 1 ? s[a] - 2 : 0);
          t[a] = s[a] > 1 ? x[a] - double(i0[a]) : 0;
        }
        double v = 0;
        if (interpolation == Interpolation::kLinear) {
          for (int c = 0; c < 8; ++c) {
            size_t idx[3];
            double w = 1;
            for (int a = 0; a < 3; ++a) {
              const int bit = (c >> a) & 1;
              idx[a] = std::min(i0[a] + bit, s[a] - 1);
              w *= bit ? t[a] : 1 - t[a];
            }
            v += w * image.at(idx[0], idx[1], idx[2]);
          }
        } else {
          double w[3][4];
          for (int a = 0; a < 3; ++a) CubicWeights(t[a], w[a]);
          for (int c = 0; c < 4; ++c) {
            const size_t kk = Mirror(long(i0[2]) + c - 1, s[2]);
            for (int b = 0; b < 4; ++b) {
              const size_t jj = Mirror(long(i0[1]) + b - 1, s[1]);
              for (int a = 0; a < 4; ++a) {
                const size_t ii = Mirror(long(i0[0]) + a - 1, s[0]);
                v += w[0][a] * w[1][b] * w[2][c] * coef[image.Offset(ii, jj, kk)];
              }
            }
          }
        }
        dst = float(v);
      }
    }
  }
  return out;
}

Result<Components> ConnectedComponents(const Mask& mask, int connectivity) {
  if (connectivity != 6 && connectivity != 26) {
    return Status(ErrorCode::kInvalidArgument, "connectivity must be 6 or 26");
  }
  const auto& s = mask.geometry().size;
  Components out{Volume<int32_t>(mask.geometry(), 0), {}};
  std::vector<std::array<int, 3>> offsets;
  for (int dz = -1; dz <= 1; ++dz) {
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        const int n = std::abs(dx) + std::abs(dy) + std::abs(dz);
        if (n > 0 && (connectivity == 26 || n == 1)) offsets.push_back({dx, dy, dz});
      }
    }
  }
  std::deque<std::array<size_t, 3>> queue;
  for (size_t k = 0; k < s[2]; ++k) {
    for (size_t j = 0; j < s[1]; ++j) {
      for (size_t i = 0; i < s[0]; ++i) {
        if (!mask.at(i, j, k) || out.labels.at(i, j, k)) continue;
        const int32_t label = int32_t(out.sizes.size()) + 1;
        size_t count = 0;
        out.labels.at(i, j, k) = label;
        queue.push_back({i, j, k});
        while (!queue.empty()) {
          auto [x, y, z] = queue.front();
          queue.pop_front();
          ++count;
          for (const auto& o : offsets) {
            const long nx = long(x) + o[0], ny = long(y) + o[1], nz = long(z) + o[2];
            if (nx < 0 || ny < 0 || nz < 0 || nx >= long(s[0]) || ny >= long(s[1]) ||
                nz >= long(s[2]))
              continue;
            if (!mask.at(nx, ny, nz) || out.labels.at(nx, ny, nz)) continue;
            out.labels.at(nx, ny, nz) = label;
            queue.push_back({size_t(nx), size_t(ny), size_t(nz)});
          }
        }
        out.sizes.push_back(count);
      }
    }
  }
  return out;
}

Mask LargestComponent(const Mask& mask) {
  Mask out(mask.geometry(), 0);
  auto cc = ConnectedComponents(mask, 6);
  if (!cc.ok() || cc->sizes.empty()) return out;
  const auto best = int32_t(std::max_element(cc->sizes.begin(), cc->sizes.end()) - cc->sizes.begin()) + 1;
  for (size_t n = 0; n < out.data().size(); ++n) out.data()[n] = cc->labels.data()[n] == best;
  return out;
}

ImageVolume BlockMean(const ImageVolume& v, std::array<size_t, 3> f, int threads) {
  for (auto& x : f) x = std::max<size_t>(1, x);
  if (f[0] == 1 && f[1] == 1 && f[2] == 1) return v;
  const Geometry& g = v.geometry();
  Geometry c = g;
  for (int a = 0; a < 3; ++a) {
    c.size[a] = (g.size[a] + f[a] - 1) / f[a];
    c.spacing[a] = g.spacing[a] * double(f[a]);
  }
  // The first block's centre sits (f - 1) / 2 input voxels in.
  c.origin = g.IndexToPoint(0.5 * (double(f[0]) - 1), 0.5 * (double(f[1]) - 1), 0.5 * (double(f[2]) - 1));
  ImageVolume out(c, 0.f);
  // Row by row (contiguous reads), summed in double per coarse voxel, slab by slab.
  ParallelRanges(c.size[2], threads, [&](size_t k0, size_t k1) {
    std::vector<double> sum(c.size[0] * c.size[1]);
    std::vector<uint32_t> cnt(sum.size());
    for (size_t ck = k0; ck < k1; ++ck) {
      std::fill(sum.begin(), sum.end(), 0.0);
      std::fill(cnt.begin(), cnt.end(), 0u);
      for (size_t k = ck * f[2]; k < std::min(g.size[2], ck * f[2] + f[2]); ++k)
        for (size_t j = 0; j < g.size[1]; ++j) {
          const float* row = v.data().data() + v.Offset(0, j, k);
          const size_t base = (j / f[1]) * c.size[0];
          for (size_t i = 0; i < g.size[0]; ++i) sum[base + i / f[0]] += row[i], ++cnt[base + i / f[0]];
        }
      float* dst = out.data().data() + out.Offset(0, 0, ck);
      for (size_t p = 0; p < sum.size(); ++p) dst[p] = float(sum[p] / double(std::max(1u, cnt[p])));
    }
  });
  return out;
}

Mask BlockExpand(const Mask& coarse, const Geometry& fine, std::array<size_t, 3> f, int threads) {
  for (auto& x : f) x = std::max<size_t>(1, x);
  if (f[0] == 1 && f[1] == 1 && f[2] == 1) return coarse;
  Mask out(fine, 0);
  ParallelRanges(fine.size[2], threads, [&](size_t k0, size_t k1) {
    for (size_t k = k0; k < k1; ++k)
      for (size_t j = 0; j < fine.size[1]; ++j) {
        const uint8_t* src = coarse.data().data() + coarse.Offset(0, j / f[1], k / f[2]);
        uint8_t* dst = out.data().data() + out.Offset(0, j, k);
        for (size_t i = 0; i < fine.size[0]; ++i) dst[i] = src[i / f[0]];
      }
  });
  return out;
}

}  // namespace radflow::imaging
