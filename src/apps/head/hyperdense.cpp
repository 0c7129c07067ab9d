// Hyperdense clusters in the brain: acute blood is 50–90 HU against 20–45 HU parenchyma.
#include <algorithm>
#include <array>
#include <cmath>

#include "apps/head/grid_ops.h"
#include "apps/head/head_bleed.h"
#include "imaging/resample.h"

namespace radflow::apps::head {

using imaging::ImageVolume;
using imaging::Mask;

namespace {

// In-plane 3×3 median inside `brain` (thick slices: a 3D median would shave small clusters).
ImageVolume MedianInPlane(const ImageVolume& hu, const Mask& brain, int threads) {
  const auto& s = hu.geometry().size;
  ImageVolume out(hu.geometry(), -1000.f);
  ParallelRanges(s[2], threads, [&](size_t k0, size_t k1) {
    std::array<float, 9> w{};
    for (size_t k = k0; k < k1; ++k)
      for (size_t j = 1; j + 1 < s[1]; ++j)
        for (size_t i = 1; i + 1 < s[0]; ++i) {
          if (!brain.at(i, j, k)) continue;
          int m = 0;
          for (int dj = -1; dj <= 1; ++dj)
            for (int di = -1; di <= 1; ++di) w[m++] = hu.at(i + di, j + dj, k);
          std::nth_element(w.begin(), w.begin() + 4, w.end());
          out.at(i, j, k) = w[4];
        }
  });
  return out;
}

struct Accumulator {
  size_t count = 0;
  double sum_hu = 0;
  double si = 0, sj = 0, sk = 0;
  size_t near_skull = 0;
  float min_skull2 = 1e30f;
  float max_inner2 = 0;
  std::array<size_t, 3> lo{~size_t(0), ~size_t(0), ~size_t(0)}, hi{0, 0, 0};
};

// Longest in-plane diameter over the slices of one component: the Feret diameter from
// projections on 64 directions (error < 0.1 %), plus one voxel for the voxels' own extent.
double LongestAxial(const imaging::Volume<int32_t>& labels, int32_t label, const Accumulator& a) {
  const auto& g = labels.geometry();
  double best = 0;
  constexpr int kDirections = 64;
  for (size_t k = a.lo[2]; k <= a.hi[2]; ++k) {
    std::array<double, kDirections> lo, hi;
    lo.fill(1e30);
    hi.fill(-1e30);
    bool any = false;
    for (size_t j = a.lo[1]; j <= a.hi[1]; ++j)
      for (size_t i = a.lo[0]; i <= a.hi[0]; ++i) {
        if (labels.at(i, j, k) != label) continue;
        any = true;
        const double x = double(i) * g.spacing[0], y = double(j) * g.spacing[1];
        for (int d = 0; d < kDirections; ++d) {
          const double t = M_PI * d / kDirections;
          const double p = x * std::cos(t) + y * std::sin(t);
          lo[d] = std::min(lo[d], p);
          hi[d] = std::max(hi[d], p);
        }
      }
    if (!any) continue;
    for (int d = 0; d < kDirections; ++d) {
      const double t = M_PI * d / kDirections;
      const double pixel = std::abs(std::cos(t)) * g.spacing[0] + std::abs(std::sin(t)) * g.spacing[1];
      best = std::max(best, hi[d] - lo[d] + pixel);
    }
  }
  return best;
}

// Voxels above calcification_hu, away from the skull, within `radius_mm` of the component.
size_t DenseNearby(const ImageVolume& hu, const std::vector<float>& to_skull2,
                   const imaging::Volume<int32_t>& labels, int32_t label, const Accumulator& a,
                   const HeadBleedSettings& s, double radius_mm) {
  const auto& g = hu.geometry();
  long reach[3];
  for (int d = 0; d < 3; ++d) reach[d] = long(std::ceil(radius_mm / g.spacing[d]));
  const float away2 = 9.f;  // 3 mm: the skull's own partial-volume edge is nearer
  size_t dense = 0;
  for (long k = long(a.lo[2]) - reach[2]; k <= long(a.hi[2]) + reach[2]; ++k)
    for (long j = long(a.lo[1]) - reach[1]; j <= long(a.hi[1]) + reach[1]; ++j)
      for (long i = long(a.lo[0]) - reach[0]; i <= long(a.hi[0]) + reach[0]; ++i) {
        if (i < 0 || j < 0 || k < 0 || i >= long(g.size[0]) || j >= long(g.size[1]) || k >= long(g.size[2]))
          continue;
        const size_t v = labels.Offset(size_t(i), size_t(j), size_t(k));
        if (hu.data()[v] <= s.calcification_hu || to_skull2[v] < away2) continue;
        bool near = false;
        for (long z = std::max(0L, k - reach[2]); !near && z <= std::min(long(g.size[2]) - 1, k + reach[2]); ++z)
          for (long y = std::max(0L, j - reach[1]); !near && y <= std::min(long(g.size[1]) - 1, j + reach[1]); ++y)
            for (long x = std::max(0L, i - reach[0]); !near && x <= std::min(long(g.size[0]) - 1, i + reach[0]); ++x)
              near = labels.at(size_t(x), size_t(y), size_t(z)) == label;
        dense += near;
      }
  return dense;
}

// Grows a cluster to its half-contrast edge: the 50 HU threshold sits above the midpoint
// between blood and parenchyma and would under-measure the volume. Neighbours inside the
// brain whose smoothed value is at least (background + cluster mean) / 2 join, within a few
// voxels of the thresholded cluster (background: the tissue below blood_low_hu around it).
void GrowToHalfContrast(const ImageVolume& smooth, const Mask& brain, imaging::Volume<int32_t>& labels,
                        int32_t label, const HeadBleedSettings& s) {
  const auto& g = smooth.geometry();
  std::array<size_t, 3> lo{~size_t(0), ~size_t(0), ~size_t(0)}, hi{0, 0, 0};
  std::vector<size_t> frontier;
  double sum = 0;
  for (size_t v = 0; v < labels.data().size(); ++v) {
    if (labels.data()[v] != label) continue;
    frontier.push_back(v);
    sum += smooth.data()[v];
    const size_t idx[3] = {v % g.size[0], (v / g.size[0]) % g.size[1], v / (g.size[0] * g.size[1])};
    for (int d = 0; d < 3; ++d) lo[d] = std::min(lo[d], idx[d]), hi[d] = std::max(hi[d], idx[d]);
  }
  if (frontier.empty()) return;
  const double mean = sum / double(frontier.size());
  size_t reach[3];
  for (int d = 0; d < 3; ++d) reach[d] = size_t(std::ceil(3.0 / g.spacing[d]));
  for (int d = 0; d < 3; ++d) {
    lo[d] = lo[d] > reach[d] ? lo[d] - reach[d] : 0;
    hi[d] = std::min(g.size[d] - 1, hi[d] + reach[d]);
  }
  std::vector<float> tissue;
  for (size_t k = lo[2]; k <= hi[2]; ++k)
    for (size_t j = lo[1]; j <= hi[1]; ++j)
      for (size_t i = lo[0]; i <= hi[0]; ++i) {
        const float x = smooth.at(i, j, k);
        if (brain.at(i, j, k) && labels.at(i, j, k) == 0 && x < s.blood_low_hu) tissue.push_back(x);
      }
  if (tissue.empty()) return;
  std::nth_element(tissue.begin(), tissue.begin() + long(tissue.size() / 2), tissue.end());
  const double half = std::clamp((tissue[tissue.size() / 2] + mean) / 2, s.blood_low_hu - 10, s.blood_low_hu);
  while (!frontier.empty()) {
    const size_t v = frontier.back();
    frontier.pop_back();
    const size_t i = v % g.size[0], j = (v / g.size[0]) % g.size[1], k = v / (g.size[0] * g.size[1]);
    const long nb[6][3] = {{-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}};
    for (const auto& o : nb) {
      const long x = long(i) + o[0], y = long(j) + o[1], z = long(k) + o[2];
      if (x < long(lo[0]) || y < long(lo[1]) || z < long(lo[2]) || x > long(hi[0]) || y > long(hi[1]) ||
          z > long(hi[2]))
        continue;
      const size_t w = labels.Offset(size_t(x), size_t(y), size_t(z));
      const float val = smooth.data()[w];
      if (labels.data()[w] != 0 || !brain.data()[w] || val < half || val > s.blood_high_hu) continue;
      labels.data()[w] = label;
      frontier.push_back(w);
    }
  }
}

}  // namespace

std::vector<BleedCandidate> DetectHyperdense(const ImageVolume& hu, const Mask& brain,
                                             const HeadBleedSettings& s,
                                             imaging::Volume<int32_t>* labels_out,
                                             const std::vector<float>* skull_distance2) {
  std::vector<BleedCandidate> out;
  if (hu.empty() || !hu.geometry().SameGrid(brain.geometry())) return out;
  const auto& g = hu.geometry();
  const size_t n = hu.data().size();
  const ImageVolume smooth = MedianInPlane(hu, brain, s.threads);
  Mask hyper(g, 0);
  for (size_t v = 0; v < n; ++v) {
    const float x = smooth.data()[v];
    hyper.data()[v] = brain.data()[v] && x >= s.blood_low_hu && x <= s.blood_high_hu;
  }
  auto cc = imaging::ConnectedComponents(hyper, 6);
  if (!cc.ok()) return out;
  auto& labels = cc->labels;
  const double voxel_ml = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
  const size_t min_voxels = size_t(std::ceil(0.5 * s.min_volume_ml / voxel_ml));
  bool any = false;
  for (size_t sz : cc->sizes) any = any || sz >= min_voxels;
  if (labels_out) *labels_out = imaging::Volume<int32_t>(g, 0);
  if (!any) return out;
  for (size_t c = 0; c < cc->sizes.size(); ++c) {
    if (cc->sizes[c] >= min_voxels) GrowToHalfContrast(smooth, brain, labels, int32_t(c) + 1, s);
  }

  // Distances: to the skull (3D) and, in-plane, from each cluster voxel to the cluster's edge.
  std::vector<float> computed;
  if (skull_distance2 == nullptr) {
    computed = imaging::SquaredDistance(SkullMask(hu, s.bone_hu, true), /*target=*/true, false, s.threads);
    skull_distance2 = &computed;
  }
  const auto& to_skull2 = *skull_distance2;
  Mask not_hyper(g, 0);
  for (size_t v = 0; v < n; ++v) not_hyper.data()[v] = !hyper.data()[v];
  const auto inner2 = imaging::SquaredDistance(not_hyper, /*target=*/true, true, s.threads);

  std::vector<Accumulator> acc(cc->sizes.size());
  const float near2 = float(s.skull_zone_mm * s.skull_zone_mm);
  for (size_t k = 0; k < g.size[2]; ++k)
    for (size_t j = 0; j < g.size[1]; ++j)
      for (size_t i = 0; i < g.size[0]; ++i) {
        const size_t v = labels.Offset(i, j, k);
        const int32_t l = labels.data()[v];
        if (l == 0 || cc->sizes[size_t(l) - 1] < min_voxels) continue;
        Accumulator& a = acc[size_t(l) - 1];
        ++a.count;
        a.sum_hu += hu.data()[v];
        a.si += double(i), a.sj += double(j), a.sk += double(k);
        a.near_skull += to_skull2[v] <= near2;
        a.min_skull2 = std::min(a.min_skull2, to_skull2[v]);
        a.max_inner2 = std::max(a.max_inner2, inner2[v]);
        const size_t idx[3] = {i, j, k};
        for (int d = 0; d < 3; ++d) {
          a.lo[d] = std::min(a.lo[d], idx[d]);
          a.hi[d] = std::max(a.hi[d], idx[d]);
        }
      }

  for (size_t c = 0; c < acc.size(); ++c) {
    const Accumulator& a = acc[c];
    if (a.count == 0) continue;
    const int32_t label = int32_t(c) + 1;
    BleedCandidate b;
    b.label = int32_t(out.size()) + 1;
    b.volume_ml = double(a.count) * voxel_ml;
    b.center = g.IndexToPoint(a.si / double(a.count), a.sj / double(a.count), a.sk / double(a.count));
    b.mean_hu = a.sum_hu / double(a.count);
    b.skull_distance_mm = std::sqrt(double(a.min_skull2));
    b.thickness_mm = 2 * std::sqrt(double(a.max_inner2));
    b.longest_axial_mm = LongestAxial(labels, label, a);
    const size_t dense = DenseNearby(hu, to_skull2, labels, label, a, s, 4.0);
    b.calcified_fraction = double(dense) / double(a.count);
    b.near_skull_fraction = double(a.near_skull) / double(a.count);
    if (b.volume_ml < s.min_volume_ml) {
      b.rejection = "smaller than the minimum volume";
    } else if (b.calcified_fraction > s.max_calcified_fraction) {
      b.rejection = "next to a calcification";
    } else if (b.mean_hu > s.max_mean_hu) {
      b.rejection = "denser than blood on average";
    } else if (b.thickness_mm < s.min_thickness_mm) {
      b.rejection = "thin rim (falx, tentorium or beam hardening)";
    } else if (b.near_skull_fraction > s.max_skull_zone_fraction) {
      b.rejection = "hugs the skull (partial volume)";
    } else {
      b.accepted = true;
      const double contrast = std::clamp((b.mean_hu - s.blood_low_hu) / 20.0, 0.0, 1.0);
      b.score = std::clamp(0.5 + 0.3 * std::min(1.0, b.volume_ml / 10.0) + 0.2 * contrast, 0.0, 1.0);
    }
    if (labels_out) {
      for (size_t k = a.lo[2]; k <= a.hi[2]; ++k)
        for (size_t j = a.lo[1]; j <= a.hi[1]; ++j)
          for (size_t i = a.lo[0]; i <= a.hi[0]; ++i)
            if (labels.at(i, j, k) == label) labels_out->at(i, j, k) = b.label;
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace radflow::apps::head
