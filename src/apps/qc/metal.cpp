// Metal: clusters of voxels above 3000 HU (beyond cortical bone and iodine; CT numbers of
// steel, titanium and amalgam saturate the scale), and streaks — extreme dark and bright
// values in the body around them from photon starvation and beam hardening.
#include <algorithm>
#include <array>
#include <vector>
#include <cmath>

#include "apps/qc/qc_apps.h"
#include "imaging/resample.h"

namespace radflow::apps::qc {
namespace {

constexpr float kMetalHu = 3000;
constexpr size_t kMinClusterVoxels = 10;
constexpr double kStreakRadiusMm = 50;
constexpr float kDarkHu = -300, kBrightHu = 1500;
constexpr long kBaselineSlices = 10;  // how far to look for a slice without metal

}  // namespace

MetalEstimate EstimateMetal(const imaging::ImageVolume& image, const imaging::Mask& body) {
  MetalEstimate est;
  const auto& g = image.geometry();
  const auto& px = image.data();
  if (std::none_of(px.begin(), px.end(), [](float v) { return v > kMetalHu; })) return est;
  imaging::Mask metal(g, 0);
  for (size_t o = 0; o < px.size(); ++o) metal.data()[o] = px[o] > kMetalHu ? 1 : 0;
  auto components = imaging::ConnectedComponents(metal, 26);
  if (!components.ok()) return est;
  const auto& labels = components->labels.data();
  const auto& sizes = components->sizes;
  size_t metal_voxels = 0;
  for (size_t o = 0; o < labels.size(); ++o) {
    const bool keep = labels[o] > 0 && sizes[size_t(labels[o]) - 1] >= kMinClusterVoxels;
    metal.data()[o] = keep ? 1 : 0;
    metal_voxels += keep;
  }
  for (size_t s : sizes) est.clusters += s >= kMinClusterVoxels;
  est.volume_ml = double(metal_voxels) * g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
  if (metal_voxels == 0) return est;
  // Streaks: on each slice with metal, body voxels within the metal's bounding box grown by
  // 50 mm; the fraction of extreme values there that are not metal, less the same fraction
  // in that box on the nearest slices without metal (lung and bowel gas are dark too).
  const size_t nx = g.size[0], ny = g.size[1], nz = g.size[2];
  const long gx = long(kStreakRadiusMm / g.spacing[0]), gy = long(kStreakRadiusMm / g.spacing[1]);
  std::vector<std::array<long, 4>> box(nz, {long(nx), -1, long(ny), -1});  // i0, i1, j0, j1
  for (size_t k = 0; k < nz; ++k) {
    for (size_t j = 0; j < ny; ++j) {
      for (size_t i = 0; i < nx; ++i) {
        if (!metal.at(i, j, k)) continue;
        auto& b = box[k];
        b[0] = std::min(b[0], long(i)), b[1] = std::max(b[1], long(i));
        b[2] = std::min(b[2], long(j)), b[3] = std::max(b[3], long(j));
      }
    }
  }
  auto count = [&](size_t k, const std::array<long, 4>& b, double* near, double* extreme) {
    for (long j = std::max(0L, b[2] - gy); j <= std::min(long(ny) - 1, b[3] + gy); ++j) {
      for (long i = std::max(0L, b[0] - gx); i <= std::min(long(nx) - 1, b[1] + gx); ++i) {
        if (!body.at(i, j, k) || metal.at(i, j, k)) continue;
        const float v = image.at(i, j, k);
        *near += 1;
        *extreme += (v < kDarkHu || (v > kBrightHu && v <= kMetalHu)) ? 1 : 0;
      }
    }
  };
  double near = 0, extreme = 0, base_near = 0, base_extreme = 0;
  for (size_t k = 0; k < nz; ++k) {
    if (box[k][1] < 0) continue;
    count(k, box[k], &near, &extreme);
    for (long dir : {-1L, 1L}) {
      for (long kk = long(k) + dir; kk >= 0 && kk < long(nz) && std::abs(kk - long(k)) <= kBaselineSlices; kk += dir) {
        if (box[size_t(kk)][1] >= 0) continue;
        count(size_t(kk), box[k], &base_near, &base_extreme);
        break;
      }
    }
  }
  const double baseline = base_near > 0 ? base_extreme / base_near : 0;
  est.streak_fraction = near > 0 ? std::max(0.0, extreme / near - baseline) : 0;
  return est;
}

}  // namespace radflow::apps::qc
