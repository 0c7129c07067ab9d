// Lung segmentation by thresholds and connectivity (classical: Hu, Hoffman & Reinhardt,
// IEEE TMI 2001 — air inside the body, airways removed, left/right separated).
#include <algorithm>
#include <cmath>

#include "apps/lung/lung_apps.h"
#include "apps/lung/lung_grid.h"
#include "imaging/morphology.h"
#include "imaging/resample.h"

namespace radflow::apps::lung {

using imaging::Mask;

namespace {

constexpr float kBodyHu = -500;   // soft tissue and bone vs air
constexpr float kAirHu = -400;    // lung parenchyma incl. partial volume
constexpr double kAirwayMaxAreaMm2 = 900;  // trachea ~2 cm wide; at the carina ~2× that

// 2D components of one slice of `m` (4-connectivity): labels per pixel, areas in pixels.
void SliceComponents(const Mask& m, size_t k, std::vector<int>& labels, std::vector<size_t>& areas) {
  const auto& s = m.geometry().size;
  labels.assign(s[0] * s[1], 0);
  areas.clear();
  std::vector<size_t> stack;
  for (size_t p0 = 0; p0 < labels.size(); ++p0) {
    if (!m.data()[k * labels.size() + p0] || labels[p0]) continue;
    areas.push_back(0);
    const int l = int(areas.size());
    labels[p0] = l;
    stack.push_back(p0);
    while (!stack.empty()) {
      const size_t p = stack.back();
      stack.pop_back();
      ++areas.back();
      const size_t i = p % s[0], j = p / s[0];
      const size_t nb[4] = {i > 0 ? p - 1 : p, i + 1 < s[0] ? p + 1 : p, j > 0 ? p - s[0] : p,
                            j + 1 < s[1] ? p + s[0] : p};
      for (size_t q : nb)
        if (q != p && m.data()[k * labels.size() + q] && !labels[q]) labels[q] = l, stack.push_back(q);
    }
  }
}

// Trachea and main bronchi: from the most superior slice holding air, small 2D air
// components that overlap the airway of the slice above, until they join the lung.
Mask TrackAirway(const Mask& air) {
  const auto& g = air.geometry();
  const auto& s = g.size;
  Mask airway(g, 0);
  const int step = grid::SuperiorStep(g);
  const double pixel_mm2 = g.spacing[0] * g.spacing[1];
  const size_t plane = s[0] * s[1];
  std::vector<int> labels;
  std::vector<size_t> areas;
  bool started = false;
  for (size_t n = 0; n < s[2]; ++n) {
    const size_t k = step > 0 ? s[2] - 1 - n : n;  // superior → inferior
    SliceComponents(air, k, labels, areas);
    if (areas.empty()) {
      if (started) break;
      continue;
    }
    std::vector<char> keep(areas.size() + 1, 0);
    if (!started) {
      // The top slice: the trachea is a small, roughly central air component.
      for (size_t l = 1; l <= areas.size(); ++l) keep[l] = areas[l - 1] * pixel_mm2 < kAirwayMaxAreaMm2 / 2;
      // Lungs already present on the top slice (cropped CT): no airway seed there.
      size_t big = 0;
      for (size_t a : areas) big = std::max(big, a);
      if (big * pixel_mm2 >= kAirwayMaxAreaMm2) std::fill(keep.begin(), keep.end(), 0);
      started = true;
    } else {
      const size_t above = step > 0 ? k + 1 : k - 1;
      for (size_t p = 0; p < plane; ++p)
        if (labels[p] && airway.data()[above * plane + p]) keep[labels[p]] = 1;
      for (size_t l = 1; l <= areas.size(); ++l)
        if (areas[l - 1] * pixel_mm2 >= kAirwayMaxAreaMm2) keep[l] = 0;
    }
    bool any = false;
    for (size_t p = 0; p < plane; ++p)
      if (labels[p] && keep[labels[p]]) airway.data()[k * plane + p] = 1, any = true;
    if (!any) break;
  }
  return airway;
}

}  // namespace

Result<LungMasks> SegmentLungs(const imaging::ImageVolume& hu, int threads) {
  const auto& g = hu.geometry();
  if (hu.empty() || g.size[2] < 3) return Status(ErrorCode::kInvalidArgument, "SegmentLungs: need a 3D volume (>= 3 slices)");
  const size_t nvox = g.voxels();
  const double voxel_ml = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;

  Mask dense(g, 0);
  for (size_t n = 0; n < nvox; ++n) dense.data()[n] = hu.data()[n] > kBodyHu;
  // Opening drops wires, tubes and blankets touching the skin before the hull is taken.
  LungMasks out;
  out.body = imaging::LargestComponent(grid::Open(dense, 4.0, true, threads));
  const Mask hull = grid::ConvexHull2D(out.body, threads);

  Mask air(g, 0);
  for (size_t n = 0; n < nvox; ++n) air.data()[n] = hull.data()[n] && hu.data()[n] < kAirHu && !out.body.data()[n];

  // Keep the large air components that share the lungs' slices (drops bowel gas).
  auto keep_big = [&](const Mask& m, size_t max_count) -> std::vector<Mask> {
    std::vector<Mask> kept;
    auto cc = imaging::ConnectedComponents(m, 6);
    if (!cc.ok() || cc->sizes.empty()) return kept;
    std::vector<int32_t> order(cc->sizes.size());
    for (size_t l = 0; l < order.size(); ++l) order[l] = int32_t(l + 1);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return cc->sizes[a - 1] > cc->sizes[b - 1]; });
    const size_t largest = cc->sizes[order[0] - 1];
    if (largest * voxel_ml < 20) return kept;
    std::vector<std::pair<size_t, size_t>> zr(order.size() + 1, {SIZE_MAX, 0});
    for (size_t n = 0; n < nvox; ++n) {
      const int32_t l = cc->labels.data()[n];
      if (l) {
        const size_t k = n / (g.size[0] * g.size[1]);
        zr[l].first = std::min(zr[l].first, k);
        zr[l].second = std::max(zr[l].second, k);
      }
    }
    for (size_t r = 0; r < order.size() && kept.size() < max_count; ++r) {
      const int32_t l = order[r];
      if (r > 0) {
        if (cc->sizes[l - 1] < largest / 8) break;
        // Must overlap the largest component's slices by half its own extent.
        const auto a = zr[order[0]], b = zr[l];
        const double overlap = double(std::min(a.second, b.second)) - double(std::max(a.first, b.first)) + 1;
        if (overlap < 0.5 * double(b.second - b.first + 1)) continue;
      }
      Mask c(g, 0);
      for (size_t n = 0; n < nvox; ++n) c.data()[n] = cc->labels.data()[n] == l;
      kept.push_back(std::move(c));
    }
    return kept;
  };

  auto first = keep_big(air, 2);
  if (first.empty()) return Status(ErrorCode::kNotFound, "SegmentLungs: no lung air inside the body");
  Mask lungs_air(g, 0);
  for (const auto& c : first)
    for (size_t n = 0; n < nvox; ++n) lungs_air.data()[n] |= c.data()[n];
  out.airway = TrackAirway(lungs_air);
  for (size_t n = 0; n < nvox; ++n) lungs_air.data()[n] &= !out.airway.data()[n];
  auto lungs = keep_big(lungs_air, 2);
  if (lungs.empty()) return Status(ErrorCode::kNotFound, "SegmentLungs: no lung air after airway removal");

  // Body centre (x in LPS) for the side of a single component and for splitting one.
  auto centroid_x = [&](const Mask& m, size_t* count) {
    double sx = 0;
    size_t c = 0;
    for (size_t k = 0; k < g.size[2]; ++k)
      for (size_t j = 0; j < g.size[1]; ++j)
        for (size_t i = 0; i < g.size[0]; ++i)
          if (m.at(i, j, k)) sx += g.IndexToPoint(double(i), double(j), double(k))[0], ++c;
    if (count) *count = c;
    return c ? sx / double(c) : 0.0;
  };
  const double mid_x = centroid_x(out.body, nullptr);
  out.left = Mask(g, 0);
  out.right = Mask(g, 0);
  if (lungs.size() == 2) {
    const bool first_left = centroid_x(lungs[0], nullptr) > centroid_x(lungs[1], nullptr);
    out.left = std::move(lungs[first_left ? 0 : 1]);
    out.right = std::move(lungs[first_left ? 1 : 0]);
  } else {
    // One component: both lungs joined (anterior junction, a bronchus left over) — split at
    // the body's centre when each side holds a quarter of it; unless the component touches
    // the in-plane border (a cropped CT: one lung), then its side from the body's centre.
    size_t total = 0, on_left = 0;
    bool touches_border = false;
    const double cx = centroid_x(lungs[0], &total);
    for (size_t k = 0; k < g.size[2]; ++k)
      for (size_t j = 0; j < g.size[1]; ++j)
        for (size_t i = 0; i < g.size[0]; ++i) {
          if (!lungs[0].at(i, j, k)) continue;
          touches_border = touches_border || i == 0 || j == 0 || i + 1 == g.size[0] || j + 1 == g.size[1];
          if (g.IndexToPoint(double(i), double(j), double(k))[0] > mid_x) ++on_left;
        }
    const double frac = total ? double(on_left) / double(total) : 0;
    if (!touches_border && frac > 0.25 && frac < 0.75) {
      for (size_t k = 0; k < g.size[2]; ++k)
        for (size_t j = 0; j < g.size[1]; ++j)
          for (size_t i = 0; i < g.size[0]; ++i)
            if (lungs[0].at(i, j, k))
              (g.IndexToPoint(double(i), double(j), double(k))[0] > mid_x ? out.left : out.right).at(i, j, k) = 1;
    } else {
      (cx > mid_x ? out.left : out.right) = std::move(lungs[0]);
    }
  }
  // Vessels inside the lung are lung: fill holes per slice (and close small gaps).
  out.left = imaging::FillHolesPerSlice(grid::Close(out.left, 3.0, true, threads), threads);
  out.right = imaging::FillHolesPerSlice(grid::Close(out.right, 3.0, true, threads), threads);
  for (size_t n = 0; n < nvox; ++n) {
    if (out.left.data()[n] && out.right.data()[n]) out.right.data()[n] = 0;
    if (!out.body.data()[n] && !hull.data()[n]) out.left.data()[n] = out.right.data()[n] = 0;
  }
  return out;
}

}  // namespace radflow::apps::lung
