// Lung lesion candidates: dense tissue inside the (closed) lungs, vessels cut by opening,
// measured on the input grid with the features false-positive reduction (lesion_fp.cpp)
// judges: lung/wall/mediastinal contact and attachment to the vessel tree.
#include <algorithm>
#include <array>
#include <cmath>

#include "apps/lung/lesion_measure.h"
#include "apps/lung/lung_apps.h"
#include "apps/lung/lung_grid.h"
#include "imaging/morphology.h"
#include "imaging/resample.h"

namespace radflow::apps::lung {

using imaging::Mask;

namespace {

constexpr double kCloseMm = 30;       // in-plane closing: juxtapleural masses up to ~6 cm
constexpr double kOpenMm = 3;         // cuts vessels thinner than ~6 mm

struct Measured {
  Lesion lesion;
  Features features;
  Reject reject = Reject::kNone;
  std::array<size_t, 3> box{};  // the lesion mask's box corner on the input grid
};

using Volume32 = imaging::Volume<int32_t>;

struct Component {
  std::vector<size_t> voxels;  // offsets on the working grid
  size_t lo[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX}, hi[3] = {0, 0, 0};  // inclusive
  int level = 0;                                                      // opening radius index
  void Bounds(const imaging::Geometry& g) {
    const size_t nx = g.size[0], ny = g.size[1];
    for (size_t o : voxels) {
      const size_t idx[3] = {o % nx, (o / nx) % ny, o / (nx * ny)};
      for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], idx[a]), hi[a] = std::max(hi[a], idx[a]);
    }
  }
  double ExtentMm(const imaging::Geometry& g) const {
    return std::max((hi[0] - lo[0] + 1) * g.spacing[0], (hi[1] - lo[1] + 1) * g.spacing[1]);
  }
};

// Components (6-connectivity) of `m`, restricted to the box of `parent` when given.
std::vector<Component> Split(const Mask& m, const Component* parent, int level, int threads) {
  const auto& g = m.geometry();
  imaging::Geometry lg = g;
  size_t lo[3] = {0, 0, 0};
  if (parent) {
    for (int a = 0; a < 3; ++a) lo[a] = parent->lo[a], lg.size[a] = parent->hi[a] - parent->lo[a] + 1;
  }
  Mask local(lg, 0);
  if (parent) {
    for (size_t o : parent->voxels) {
      const size_t i = o % g.size[0], j = (o / g.size[0]) % g.size[1], k = o / (g.size[0] * g.size[1]);
      local.at(i - lo[0], j - lo[1], k - lo[2]) = 1;
    }
  } else {
    local = m;
  }
  const double radius[] = {kOpenMm, 2 * kOpenMm, 10.0};
  const Mask opened = grid::Open(local, radius[level], false, threads);
  std::vector<Component> out;
  auto cc = imaging::ConnectedComponents(opened, 6);
  if (!cc.ok()) return out;
  out.resize(cc->sizes.size());
  for (size_t k = 0; k < lg.size[2]; ++k)
    for (size_t j = 0; j < lg.size[1]; ++j)
      for (size_t i = 0; i < lg.size[0]; ++i) {
        const int32_t l = cc->labels.at(i, j, k);
        if (l) out[size_t(l - 1)].voxels.push_back(m.Offset(i + lo[0], j + lo[1], k + lo[2]));
      }
  for (auto& c : out) c.level = level, c.Bounds(g);
  return out;
}

// Too large for one lesion at this opening radius (a lesion merged with hilar vessels or
// the mediastinal side of the closed lung): open it again with the next radius.
bool NeedsSplit(const Component& c, const imaging::Geometry& g) {
  if (c.level >= 2) return false;
  const double vol_ml = double(c.voxels.size()) * g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
  return c.ExtentMm(g) > 45 || vol_ml > 40;
}

// Candidates from the dense voxels of one lung region hypothesis, measured on the input grid.
// Dense (un-opened) tissue 6-connected to component `c` (label `l` in `owner`) within its
// box grown by ~10 mm, over the component's own size: vessels that the opening cut from a
// vessel tree lead out of the box; a nodule, even one touching vessels, is mostly itself.
// Tissue in the slice right above/below a component voxel (within a pixel) is not counted:
// that is the nodule's own partial-volume cap on thick slices.
double Attached(const Mask& dense, const Volume32& owner, const Component& c, int32_t l) {
  const auto& g = dense.geometry();
  const auto& s = g.size;
  size_t lo[3], hi[3];
  for (int a = 0; a < 3; ++a) {
    const size_t r = size_t(std::ceil(10.0 / g.spacing[a]));
    lo[a] = c.lo[a] > r ? c.lo[a] - r : 0;
    hi[a] = std::min(s[a] - 1, c.hi[a] + r);
  }
  const size_t bx = hi[0] - lo[0] + 1, by = hi[1] - lo[1] + 1;
  std::vector<uint8_t> seen(bx * by * (hi[2] - lo[2] + 1), 0), footprint(seen.size(), 0);
  auto local = [&](size_t i, size_t j, size_t k) { return (i - lo[0]) + bx * ((j - lo[1]) + by * (k - lo[2])); };
  for (size_t o : c.voxels) {
    const size_t i = o % s[0], j = (o / s[0]) % s[1], k = o / (s[0] * s[1]);
    seen[local(i, j, k)] = 1;
    for (size_t y = std::max(j, lo[1] + 1) - 1; y <= std::min(j + 1, hi[1]); ++y)
      for (size_t x = std::max(i, lo[0] + 1) - 1; x <= std::min(i + 1, hi[0]); ++x) footprint[local(x, y, k)] = 1;
  }
  std::vector<size_t> stack(c.voxels.begin(), c.voxels.end());
  size_t reached = c.voxels.size();
  while (!stack.empty()) {
    const size_t o = stack.back();
    stack.pop_back();
    const size_t i = o % s[0], j = (o / s[0]) % s[1], k = o / (s[0] * s[1]);
    const long nb[6][3] = {{-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}};
    for (const auto& d : nb) {
      const long x = long(i) + d[0], y = long(j) + d[1], z = long(k) + d[2];
      if (x < long(lo[0]) || y < long(lo[1]) || z < long(lo[2]) || x > long(hi[0]) || y > long(hi[1]) || z > long(hi[2]))
        continue;
      const size_t q = dense.Offset(size_t(x), size_t(y), size_t(z));
      uint8_t& v = seen[local(size_t(x), size_t(y), size_t(z))];
      if (v || !dense.data()[q] || (owner.data()[q] && owner.data()[q] != l)) continue;
      v = 1;
      stack.push_back(q);
      const bool cap = (z > long(lo[2]) && footprint[local(size_t(x), size_t(y), size_t(z - 1))]) ||
                       (z < long(hi[2]) && footprint[local(size_t(x), size_t(y), size_t(z + 1))]);
      reached += !cap;
    }
  }
  return double(reached) / double(c.voxels.size());
}

// `between` marks the mediastinum/hilum side: outside the lungs, inside their joint hull.
std::vector<Measured> FindIn(const imaging::ImageVolume& hu, const imaging::ImageVolume& work, const LungMasks& lung,
                             const Mask& region, const Mask& between, grid::Factors fac, int threads) {
  const size_t f = fac.xy, fz = fac.z;
  const auto& g = work.geometry();
  const auto& s = g.size;
  const size_t nvox = g.voxels();
  Mask dense(g, 0);
  for (size_t n = 0; n < nvox; ++n) dense.data()[n] = region.data()[n] && work.data()[n] > kDenseHu;
  // Multi-scale opening: components too large to be one lesion (a mass grown into the
  // hilum through vessels) are opened again with a larger ball (3 → 6 → 10 mm).
  std::vector<Component> todo = Split(dense, nullptr, 0, threads), accepted;
  while (!todo.empty()) {
    Component c = std::move(todo.back());
    todo.pop_back();
    if (c.voxels.empty()) continue;
    if (NeedsSplit(c, g)) {
      auto parts = Split(dense, &c, c.level + 1, threads);
      for (auto& p : parts) todo.push_back(std::move(p));
    } else {
      accepted.push_back(std::move(c));
    }
  }
  Volume32 owner(g, 0);
  for (size_t c = 0; c < accepted.size(); ++c)
    for (size_t o : accepted[c].voxels) owner.data()[o] = int32_t(c + 1);

  const auto& fg = hu.geometry();
  std::vector<Measured> found;
  for (size_t c = 0; c < accepted.size(); ++c) {
    const Component& b = accepted[c];
    if (b.ExtentMm(g) < kMinDiameterMm) continue;  // not worth measuring
    const int32_t l = int32_t(c + 1);
    // Lung contact: faces of the component next to aerated lung.
    size_t faces = 0, air_faces = 0, medial_faces = 0, wall_faces = 0;
    for (size_t o : b.voxels) {
      const size_t i = o % s[0], j = (o / s[0]) % s[1], k = o / (s[0] * s[1]);
      const long nb[6][3] = {{-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}};
      for (const auto& d : nb) {
        const long x = long(i) + d[0], y = long(j) + d[1], z = long(k) + d[2];
        if (x < 0 || y < 0 || z < 0 || x >= long(s[0]) || y >= long(s[1]) || z >= long(s[2])) continue;
        const size_t q = work.Offset(size_t(x), size_t(y), size_t(z));
        if (owner.data()[q] == l) continue;
        ++faces;
        const bool in_lung = lung.left.data()[q] || lung.right.data()[q];
        if (work.data()[q] < kDenseHu && in_lung) ++air_faces;
        if (!in_lung) ++wall_faces, medial_faces += between.data()[q] != 0;
      }
    }
    const double contact = faces ? double(air_faces) / double(faces) : 0;
    // Back to the input grid, in the component's box: input voxels > -500 HU whose
    // working voxel is in the component or next to it (in-plane), inside the lung region.
    const size_t lo[3] = {b.lo[0] * f, b.lo[1] * f, b.lo[2] * fz};
    const size_t hi[3] = {std::min(fg.size[0], (b.hi[0] + 2) * f), std::min(fg.size[1], (b.hi[1] + 2) * f),
                          std::min(fg.size[2], (b.hi[2] + 1) * fz)};
    const size_t lo0 = b.lo[0] > 0 ? (b.lo[0] - 1) * f : 0, lo1 = b.lo[1] > 0 ? (b.lo[1] - 1) * f : 0;
    imaging::Geometry lg = fg;
    lg.size = {hi[0] - lo0, hi[1] - lo1, hi[2] - lo[2]};
    lg.origin = fg.IndexToPoint(double(lo0), double(lo1), double(lo[2]));
    Mask m(lg, 0);
    imaging::ImageVolume crop(lg, 0.f);
    for (size_t k = lo[2]; k < hi[2]; ++k)
      for (size_t j = lo1; j < hi[1]; ++j)
        for (size_t i = lo0; i < hi[0]; ++i) {
          const float v = hu.at(i, j, k);
          crop.at(i - lo0, j - lo1, k - lo[2]) = v;
          if (v <= kDenseHu) continue;
          const size_t ci = i / f, cj = j / f, ck = k / fz;
          if (!region.at(ci, cj, ck)) continue;
          bool near = false;
          for (long dj = -1; dj <= 1 && !near; ++dj)
            for (long di = -1; di <= 1 && !near; ++di) {
              const long x = long(ci) + di, y = long(cj) + dj;
              near = x >= 0 && y >= 0 && x < long(s[0]) && y < long(s[1]) && owner.at(size_t(x), size_t(y), ck) == l;
            }
          if (near) m.at(i - lo0, j - lo1, k - lo[2]) = 1;
        }
    // A mass-sized region: drop enhancing tissue grown into it (GTV-like intensities).
    if (b.ExtentMm(g) >= kMassMm) TrimEnhancing(crop, &m);
    Measured meas;
    Features& ft = meas.features;
    ft.attached = Attached(dense, owner, b, l);
    if (!Measure(crop, std::move(m), &meas.lesion, &ft.shape)) continue;
    meas.box = {lo0, lo1, lo[2]};
    ft.contact = contact;
    ft.medial = faces ? double(medial_faces) / double(faces) : 0;
    ft.wall = faces ? double(wall_faces) / double(faces) : 0;
    ft.z_extent_mm = double(b.hi[2] - b.lo[2] + 1) * g.spacing[2];
    ft.slice_mm = fg.spacing[2];
    meas.reject = Classify(meas.lesion, ft);
    meas.lesion.score = Suspicion(meas.lesion, ft);
    found.push_back(std::move(meas));
  }
  return found;
}

}  // namespace

Result<std::vector<Lesion>> DetectLesions(const imaging::ImageVolume& hu, int threads, size_t max_lesions,
                                          LungMasks* lungs, LesionStats* stats) {
  const grid::Factors f = grid::WorkingFactors(hu.geometry());
  const imaging::ImageVolume work = imaging::BlockMean(hu, f.blocks(), threads);
  auto seg = SegmentLungs(work, threads);
  if (!seg.ok()) return seg.status();
  const auto& g = work.geometry();
  const size_t nvox = g.voxels();
  const auto& fg = hu.geometry();

  // Two hypotheses of where lesions can be, each lung on its own (never across the
  // mediastinum): the lung closed by 30 mm in-plane with holes filled (nodules and masses
  // in the lung's concavities, juxtapleural), and its per-slice convex hull (a mass that
  // replaces the lung base, bounded by lung on one side only).
  // The mediastinum/hilum side: outside both lungs, inside their joint per-slice hull.
  Mask between = grid::ConvexHull2D(seg->left, threads);
  for (size_t n = 0; n < nvox; ++n) between.data()[n] |= seg->right.data()[n];
  between = grid::ConvexHull2D(between, threads);
  for (size_t n = 0; n < nvox; ++n) between.data()[n] &= !seg->left.data()[n] && !seg->right.data()[n];
  std::vector<Measured> found;
  for (int hypothesis = 0; hypothesis < 2; ++hypothesis) {
    Mask left = hypothesis == 0 ? imaging::FillHolesPerSlice(grid::Close(seg->left, kCloseMm, true, threads), threads)
                                : grid::ConvexHull2D(seg->left, threads);
    const Mask right = hypothesis == 0 ? imaging::FillHolesPerSlice(grid::Close(seg->right, kCloseMm, true, threads), threads)
                                       : grid::ConvexHull2D(seg->right, threads);
    for (size_t n = 0; n < nvox; ++n) {
      const bool in_left = left.data()[n] && !seg->right.data()[n];
      const bool in_right = right.data()[n] && !seg->left.data()[n];
      left.data()[n] = (in_left || in_right) && !seg->airway.data()[n];
    }
    auto part = FindIn(hu, work, *seg, left, between, f, threads);
    for (auto& m : part) found.push_back(std::move(m));
  }
  // Overlapping candidates of the two hypotheses: a kept one wins over a rejected one, then
  // the higher score.
  std::sort(found.begin(), found.end(), [](const Measured& a, const Measured& b) {
    const bool ka = a.reject == Reject::kNone, kb = b.reject == Reject::kNone;
    return ka != kb ? ka : a.lesion.score > b.lesion.score;
  });
  Mask taken(fg, 0);
  std::vector<Measured> unique;
  for (auto& m : found) {
    const auto& ls = m.lesion.mask.geometry().size;
    size_t n = 0, shared = 0;
    for (size_t k = 0; k < ls[2]; ++k)
      for (size_t j = 0; j < ls[1]; ++j)
        for (size_t i = 0; i < ls[0]; ++i)
          if (m.lesion.mask.at(i, j, k)) ++n, shared += taken.at(i + m.box[0], j + m.box[1], k + m.box[2]);
    if (n == 0 || double(shared) > 0.2 * double(n)) continue;
    for (size_t k = 0; k < ls[2]; ++k)
      for (size_t j = 0; j < ls[1]; ++j)
        for (size_t i = 0; i < ls[0]; ++i)
          if (m.lesion.mask.at(i, j, k)) taken.at(i + m.box[0], j + m.box[1], k + m.box[2]) = 1;
    if (stats) ++stats->candidates, ++stats->by_reason[size_t(m.reject)];
    if (m.reject == Reject::kNone) unique.push_back(std::move(m));
  }
  found = std::move(unique);
  if (lungs) {
    lungs->left = imaging::BlockExpand(seg->left, fg, f.blocks(), threads);
    lungs->right = imaging::BlockExpand(seg->right, fg, f.blocks(), threads);
  }
  std::vector<Lesion> out;
  for (auto& m : found) {
    if (out.size() >= max_lesions) break;
    // The mask from the box back onto the whole input grid.
    Mask full(fg, 0);
    const auto& ls = m.lesion.mask.geometry().size;
    for (size_t k = 0; k < ls[2]; ++k)
      for (size_t j = 0; j < ls[1]; ++j)
        for (size_t i = 0; i < ls[0]; ++i)
          if (m.lesion.mask.at(i, j, k)) full.at(i + m.box[0], j + m.box[1], k + m.box[2]) = 1;
    m.lesion.mask = std::move(full);
    out.push_back(std::move(m.lesion));
  }
  return out;
}

}  // namespace radflow::apps::lung
