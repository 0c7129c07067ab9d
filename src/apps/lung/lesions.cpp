// Lung lesion candidates: dense tissue inside the (closed) lungs, vessels cut by opening,
// false positives removed by size, shape and lung contact, then measured on the input grid.
#include <algorithm>
#include <array>
#include <cmath>

#include "apps/lung/lung_apps.h"
#include "apps/lung/lung_grid.h"
#include "imaging/resample.h"

namespace radflow::apps::lung {

using imaging::Mask;

namespace {

constexpr float kDenseHu = -500;      // nodule (incl. part of a ground-glass rim) vs parenchyma
constexpr float kSolidHu = -300;      // solid component
constexpr double kCloseMm = 30;       // in-plane closing: juxtapleural masses up to ~6 cm
constexpr double kOpenMm = 3;         // cuts vessels thinner than ~6 mm
constexpr double kMinDiameterMm = 3;  // Lung-RADS ignores smaller
constexpr double kMaxDiameterMm = 150;
constexpr double kMaxElongation = 3;  // vessels: long and thin
constexpr double kMinContact = 0.15;  // fraction of the surface facing aerated lung

struct Measured {
  Lesion lesion;
  double contact = 0;
  std::array<size_t, 3> box{};  // the lesion mask's box corner on the input grid
};

using Volume32 = imaging::Volume<int32_t>;

// Measures a full-resolution lesion mask; false when too small.
bool Measure(const imaging::ImageVolume& hu, Mask mask, const size_t lo[3], const size_t hi[3], Lesion* out) {
  const auto& g = hu.geometry();
  const auto& s = g.size;
  size_t n = 0, solid = 0;
  double sum_hu = 0;
  std::array<double, 3> mean{0, 0, 0};
  std::array<double, 6> cov{};  // xx yy zz xy xz yz
  std::vector<size_t> slice_area(s[2], 0);
  for (size_t k = lo[2]; k < hi[2]; ++k)
    for (size_t j = lo[1]; j < hi[1]; ++j)
      for (size_t i = lo[0]; i < hi[0]; ++i) {
        if (!mask.at(i, j, k)) continue;
        const auto p = g.IndexToPoint(double(i), double(j), double(k));
        ++n;
        ++slice_area[k];
        const float v = hu.at(i, j, k);
        sum_hu += v;
        solid += v > kSolidHu;
        for (int a = 0; a < 3; ++a) mean[a] += p[a];
        cov[0] += p[0] * p[0], cov[1] += p[1] * p[1], cov[2] += p[2] * p[2];
        cov[3] += p[0] * p[1], cov[4] += p[0] * p[2], cov[5] += p[1] * p[2];
      }
  if (n == 0) return false;
  for (auto& m : mean) m /= double(n);
  for (auto& c : cov) c /= double(n);
  const double a00 = cov[0] - mean[0] * mean[0], a11 = cov[1] - mean[1] * mean[1], a22 = cov[2] - mean[2] * mean[2];
  const double a01 = cov[3] - mean[0] * mean[1], a02 = cov[4] - mean[0] * mean[2], a12 = cov[5] - mean[1] * mean[2];
  // Eigenvalues of the symmetric 3×3 covariance (trigonometric closed form).
  double ev[3];
  const double p1 = a01 * a01 + a02 * a02 + a12 * a12;
  const double q = (a00 + a11 + a22) / 3;
  const double p2 = (a00 - q) * (a00 - q) + (a11 - q) * (a11 - q) + (a22 - q) * (a22 - q) + 2 * p1;
  const double p = std::sqrt(p2 / 6);
  if (p < 1e-12) {
    ev[0] = ev[1] = ev[2] = q;
  } else {
    const double b00 = (a00 - q) / p, b11 = (a11 - q) / p, b22 = (a22 - q) / p, b01 = a01 / p, b02 = a02 / p, b12 = a12 / p;
    const double r = std::clamp((b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02) + b02 * (b01 * b12 - b11 * b02)) / 2, -1.0, 1.0);
    const double phi = std::acos(r) / 3;
    ev[0] = q + 2 * p * std::cos(phi);
    ev[2] = q + 2 * p * std::cos(phi + 2 * M_PI / 3);
    ev[1] = 3 * q - ev[0] - ev[2];
  }
  // Long/short axis on the slice with the largest cross-section (RECIST-like, axial).
  const size_t kmax = size_t(std::max_element(slice_area.begin(), slice_area.end()) - slice_area.begin());
  std::vector<std::array<double, 2>> edge;
  for (size_t j = lo[1]; j < hi[1]; ++j)
    for (size_t i = lo[0]; i < hi[0]; ++i) {
      if (!mask.at(i, j, kmax)) continue;
      const bool border = i == 0 || j == 0 || i + 1 == s[0] || j + 1 == s[1] || !mask.at(i - 1, j, kmax) ||
                          !mask.at(i + 1, j, kmax) || !mask.at(i, j - 1, kmax) || !mask.at(i, j + 1, kmax);
      if (border) edge.push_back({double(i) * g.spacing[0], double(j) * g.spacing[1]});
    }
  double best = 0, ux = 1, uy = 0;
  for (size_t a = 0; a < edge.size(); ++a)
    for (size_t b = a + 1; b < edge.size(); ++b) {
      const double dx = edge[b][0] - edge[a][0], dy = edge[b][1] - edge[a][1], d = dx * dx + dy * dy;
      if (d > best) best = d, ux = dx, uy = dy;
    }
  const double len = std::sqrt(best);
  if (len > 0) ux /= len, uy /= len;
  double tmin = 1e300, tmax = -1e300;
  for (const auto& e : edge) {
    const double t = -uy * e[0] + ux * e[1];
    tmin = std::min(tmin, t), tmax = std::max(tmax, t);
  }
  const double pix = 0.25 * (g.spacing[0] + g.spacing[1]);  // half a pixel: edges are pixel centres
  out->long_axis_mm = len + pix;
  out->short_axis_mm = edge.empty() ? 0 : tmax - tmin + pix;
  out->center = {mean[0], mean[1], mean[2]};
  out->volume_ml = double(n) * g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
  out->mean_hu = sum_hu / double(n);
  out->solid_fraction = double(solid) / double(n);
  out->elongation = std::sqrt(std::max(ev[0], 1e-9) / std::max(ev[1], 1e-9));
  out->type = out->solid_fraction >= 0.8 ? LesionClass::kSolid
              : out->solid_fraction <= 0.2 ? LesionClass::kGroundGlass : LesionClass::kPartSolid;
  // Lung-RADS v2022 solid nodule size bands on the mean diameter (size only).
  const double mean_d = 0.5 * (out->long_axis_mm + out->short_axis_mm);
  out->lung_rads = mean_d < 6 ? "2" : mean_d < 8 ? "3" : mean_d < 15 ? "4A" : "4B";
  out->mask = std::move(mask);
  return true;
}

}  // namespace

namespace {

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
std::vector<Measured> FindIn(const imaging::ImageVolume& hu, const imaging::ImageVolume& work, const LungMasks& lung,
                             const Mask& region, grid::Factors fac, int threads) {
  const size_t f = fac.xy, fz = fac.z;
  const auto& g = work.geometry();
  const auto& s = g.size;
  const size_t nvox = g.voxels();
  const LungMasks* seg = &lung;
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
    const int32_t l = int32_t(c + 1);
    // Lung contact: faces of the component next to aerated lung.
    size_t faces = 0, air_faces = 0;
    for (size_t o : b.voxels) {
      const size_t i = o % s[0], j = (o / s[0]) % s[1], k = o / (s[0] * s[1]);
      const long nb[6][3] = {{-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}};
      for (const auto& d : nb) {
        const long x = long(i) + d[0], y = long(j) + d[1], z = long(k) + d[2];
        if (x < 0 || y < 0 || z < 0 || x >= long(s[0]) || y >= long(s[1]) || z >= long(s[2])) continue;
        const size_t q = work.Offset(size_t(x), size_t(y), size_t(z));
        if (owner.data()[q] == l) continue;
        ++faces;
        if (work.data()[q] < kDenseHu && (seg->left.data()[q] || seg->right.data()[q])) ++air_faces;
      }
    }
    const double contact = faces ? double(air_faces) / double(faces) : 0;
    if (b.ExtentMm(g) < kMinDiameterMm || contact < kMinContact) continue;
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
    Measured meas;
    meas.contact = contact;
    const size_t zero[3] = {0, 0, 0};
    if (!Measure(crop, std::move(m), zero, lg.size.data(), &meas.lesion)) continue;
    meas.box = {lo0, lo1, lo[2]};
    Lesion& les = meas.lesion;
    const double mean_d = 0.5 * (les.long_axis_mm + les.short_axis_mm);
    // Flat in z (a diaphragm dome or fissure cut by thick slices) is not a lesion.
    const double z_extent = double(b.hi[2] - b.lo[2] + 1) * g.spacing[2];
    const bool keep = mean_d >= kMinDiameterMm && les.long_axis_mm <= kMaxDiameterMm &&
                      les.elongation <= kMaxElongation && z_extent >= 0.3 * les.long_axis_mm;
    if (!keep) continue;
    // Suspicion: bigger, rounder, more solid and more surrounded by lung ranks higher.
    const double size_term = std::clamp(std::log(mean_d / 3.0) / std::log(20.0), 0.0, 1.0);  // 3 → 60 mm
    const double shape_term = std::clamp(1.0 - (les.elongation - 1.0) / 2.0, 0.0, 1.0);
    const double contact_term = std::min(1.0, contact / 0.6);
    les.score = std::clamp(0.45 * size_term + 0.25 * shape_term + 0.15 * les.solid_fraction + 0.15 * contact_term, 0.0, 1.0);
    found.push_back(std::move(meas));
  }
  return found;
}

}  // namespace

Result<std::vector<Lesion>> DetectLesions(const imaging::ImageVolume& hu, int threads, size_t max_lesions,
                                          LungMasks* lungs) {
  const grid::Factors f = grid::WorkingFactors(hu.geometry());
  const imaging::ImageVolume work = grid::Downsample(hu, f, threads);
  auto seg = SegmentLungs(work, threads);
  if (!seg.ok()) return seg.status();
  const auto& g = work.geometry();
  const size_t nvox = g.voxels();
  const auto& fg = hu.geometry();

  // Two hypotheses of where lesions can be, each lung on its own (never across the
  // mediastinum): the lung closed by 30 mm in-plane with holes filled (nodules and masses
  // in the lung's concavities, juxtapleural), and its per-slice convex hull (a mass that
  // replaces the lung base, bounded by lung on one side only).
  std::vector<Measured> found;
  for (int hypothesis = 0; hypothesis < 2; ++hypothesis) {
    Mask left = hypothesis == 0 ? grid::FillHoles2D(grid::Close(seg->left, kCloseMm, true, threads), threads)
                                : grid::ConvexHull2D(seg->left, threads);
    const Mask right = hypothesis == 0 ? grid::FillHoles2D(grid::Close(seg->right, kCloseMm, true, threads), threads)
                                       : grid::ConvexHull2D(seg->right, threads);
    for (size_t n = 0; n < nvox; ++n) {
      const bool in_left = left.data()[n] && !seg->right.data()[n];
      const bool in_right = right.data()[n] && !seg->left.data()[n];
      left.data()[n] = (in_left || in_right) && !seg->airway.data()[n];
    }
    auto part = FindIn(hu, work, *seg, left, f, threads);
    for (auto& m : part) found.push_back(std::move(m));
  }
  // Overlapping candidates of the two hypotheses: the higher score wins.
  std::sort(found.begin(), found.end(), [](const Measured& a, const Measured& b) { return a.lesion.score > b.lesion.score; });
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
    unique.push_back(std::move(m));
  }
  found = std::move(unique);
  if (lungs) {
    lungs->left = grid::Upsample(seg->left, fg, f, threads);
    lungs->right = grid::Upsample(seg->right, fg, f, threads);
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
