// IBSI 3.1 morphological features. The surface is the marching-cubes mesh of mesh.h (the mask
// padded, iso-level 0.5, vertices on the half-voxel lattice, ITK's case table). On the IBSI
// digital phantom it gives 556.3 mm^3 and 388.1 mm^2 (reference 556 +- 4 and 388 +- 3).
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <set>

#include "radiomics/radiomics.h"

#include "radiomics/autocorrelation.h"
#include "radiomics/mesh.h"

namespace radflow::radiomics {
namespace {

using P3 = std::array<double, 3>;

P3 Sub(const P3& a, const P3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
P3 Cross(const P3& a, const P3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double Dot(const P3& a, const P3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

struct Hull {
  double volume = 0, area = 0;
  std::vector<P3> vertices;  // hull vertices, mm
};

using L3 = std::array<long long, 3>;

// Six times the signed volume of (a, b, c, d): positive when d lies above the plane of the
// counter-clockwise triangle (a, b, c). Exact on integer coordinates.
long long Orient(const L3& a, const L3& b, const L3& c, const L3& d) {
  const long long ux = b[0] - a[0], uy = b[1] - a[1], uz = b[2] - a[2];
  const long long vx = c[0] - a[0], vy = c[1] - a[1], vz = c[2] - a[2];
  const long long wx = d[0] - a[0], wy = d[1] - a[1], wz = d[2] - a[2];
  return wx * (uy * vz - uz * vy) + wy * (uz * vx - ux * vz) + wz * (ux * vy - uy * vx);
}

// Convex hull of mesh vertices, which lie on the half-voxel lattice: incremental hull on the
// doubled (integer) index coordinates, exact; volume and area then in millimetres.
Hull ConvexHull(const std::vector<P3>& vertices_mm, const imaging::Vec3& spacing) {
  // Only the extremes of each lattice row can be hull vertices.
  std::map<std::pair<long long, long long>, std::pair<long long, long long>> rows;
  for (const auto& p : vertices_mm) {
    const long long x = std::llround(2 * p[0] / spacing[0]);
    const long long y = std::llround(2 * p[1] / spacing[1]);
    const long long z = std::llround(2 * p[2] / spacing[2]);
    auto [it, fresh] = rows.try_emplace({y, z}, std::pair<long long, long long>{x, x});
    if (!fresh) it->second = {std::min(it->second.first, x), std::max(it->second.second, x)};
  }
  std::vector<L3> pts;
  for (const auto& [yz, xs] : rows) {
    pts.push_back({xs.first, yz.first, yz.second});
    if (xs.second != xs.first) pts.push_back({xs.second, yz.first, yz.second});
  }
  Hull h;
  // Initial tetrahedron from four non-coplanar points.
  const size_t n = pts.size();
  size_t i1 = n, i2 = n, i3 = n;
  for (size_t i = 1; i < n && i1 == n; ++i) {
    if (pts[i] != pts[0]) i1 = i;
  }
  for (size_t i = 1; i < n && i1 < n && i2 == n; ++i) {
    const L3 u = {pts[i1][0] - pts[0][0], pts[i1][1] - pts[0][1], pts[i1][2] - pts[0][2]};
    const L3 v = {pts[i][0] - pts[0][0], pts[i][1] - pts[0][1], pts[i][2] - pts[0][2]};
    if (u[1] * v[2] - u[2] * v[1] != 0 || u[2] * v[0] - u[0] * v[2] != 0 ||
        u[0] * v[1] - u[1] * v[0] != 0) {
      i2 = i;
    }
  }
  for (size_t i = 1; i < n && i2 < n && i3 == n; ++i) {
    if (Orient(pts[0], pts[i1], pts[i2], pts[i]) != 0) i3 = i;
  }
  if (i3 == n) return h;  // flat: no volume
  std::vector<std::array<size_t, 3>> faces;
  if (Orient(pts[0], pts[i1], pts[i2], pts[i3]) > 0) std::swap(i1, i2);  // i3 below (0,i1,i2)
  faces = {{0, i1, i2}, {0, i2, i3}, {0, i3, i1}, {i1, i3, i2}};
  for (size_t p = 1; p < n; ++p) {
    if (p == i1 || p == i2 || p == i3) continue;
    std::vector<char> visible(faces.size(), 0);
    bool any = false;
    for (size_t f = 0; f < faces.size(); ++f) {
      const auto& t = faces[f];
      if (Orient(pts[t[0]], pts[t[1]], pts[t[2]], pts[p]) > 0) visible[f] = 1, any = true;
    }
    if (!any) continue;                         // inside or on the hull
    std::set<std::pair<size_t, size_t>> edges;  // directed edges of the visible faces
    for (size_t f = 0; f < faces.size(); ++f) {
      if (!visible[f]) continue;
      for (int k = 0; k < 3; ++k) edges.insert({faces[f][k], faces[f][(k + 1) % 3]});
    }
    std::vector<std::array<size_t, 3>> kept;
    for (size_t f = 0; f < faces.size(); ++f) {
      if (!visible[f]) kept.push_back(faces[f]);
    }
    // Horizon: visible edges whose twin is not visible; each gets a face to the new point.
    for (const auto& [a, b] : edges) {
      if (edges.count({b, a}) == 0) kept.push_back({a, b, p});
    }
    faces = std::move(kept);
  }
  auto mm = [&](size_t i) {
    return P3{pts[i][0] * spacing[0] / 2, pts[i][1] * spacing[1] / 2, pts[i][2] * spacing[2] / 2};
  };
  std::set<size_t> used;
  for (const auto& t : faces) {
    const P3 a = mm(t[0]), b = mm(t[1]), c = mm(t[2]);
    const P3 cr = Cross(Sub(b, a), Sub(c, a));
    h.area += std::sqrt(Dot(cr, cr)) / 2;
    h.volume += Dot(a, Cross(b, c)) / 6;  // faces wind counter-clockwise seen from outside
    used.insert(t.begin(), t.end());
  }
  for (size_t i : used) h.vertices.push_back(mm(i));
  return h;
}

// Eigenvalues of a symmetric 3x3 matrix, largest first (trigonometric solution).
std::array<double, 3> SymmetricEigenvalues(const double m[3][3]) {
  const double p1 = m[0][1] * m[0][1] + m[0][2] * m[0][2] + m[1][2] * m[1][2];
  const double q = (m[0][0] + m[1][1] + m[2][2]) / 3.0;
  std::array<double, 3> e;
  if (p1 == 0) {
    e = {m[0][0], m[1][1], m[2][2]};
  } else {
    const double p2 = (m[0][0] - q) * (m[0][0] - q) + (m[1][1] - q) * (m[1][1] - q) +
                      (m[2][2] - q) * (m[2][2] - q) + 2 * p1;
    const double p = std::sqrt(p2 / 6.0);
    double b[3][3];
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) b[r][c] = (m[r][c] - (r == c ? q : 0.0)) / p;
    const double det = b[0][0] * (b[1][1] * b[2][2] - b[1][2] * b[2][1]) -
                       b[0][1] * (b[1][0] * b[2][2] - b[1][2] * b[2][0]) +
                       b[0][2] * (b[1][0] * b[2][1] - b[1][1] * b[2][0]);
    const double r = std::clamp(det / 2.0, -1.0, 1.0);
    const double phi = std::acos(r) / 3.0;
    e[0] = q + 2 * p * std::cos(phi);
    e[2] = q + 2 * p * std::cos(phi + 2.0 * M_PI / 3.0);
    e[1] = 3 * q - e[0] - e[2];
  }
  std::sort(e.begin(), e.end(), std::greater<>());
  return e;
}

// Surface area of an ellipsoid with semi-axes a >= b >= c (IBSI 3.1.21, Legendre series).
double EllipsoidArea(double a, double b, double c) {
  const double alpha = std::sqrt(std::max(0.0, 1 - b * b / (a * a)));
  const double beta = std::sqrt(std::max(0.0, 1 - c * c / (a * a)));
  const double ab = alpha * beta;
  if (ab == 0) return 4 * M_PI * a * b;  // first term only
  const double x = (alpha * alpha + beta * beta) / (2 * ab);
  double sum = 0, p_prev = 1, p = x;
  for (int nu = 0; nu <= 20; ++nu) {
    const double legendre = nu == 0 ? 1.0 : p;
    sum += std::pow(ab, nu) / (1.0 - 4.0 * nu * nu) * legendre;
    if (nu >= 1) {
      const double next = ((2 * nu + 1) * x * p - nu * p_prev) / (nu + 1);
      p_prev = p;
      p = next;
    }
  }
  return 4 * M_PI * a * b * sum;
}

}  // namespace

std::vector<Feature> Morphology(const ImageVolume& image, const Mask& mask, bool autocorrelation) {
  const auto& g = mask.geometry();
  if (image.geometry().size != g.size) return {};
  std::vector<P3> voxels;
  std::vector<double> values;
  for (size_t z = 0; z < g.size[2]; ++z)
    for (size_t y = 0; y < g.size[1]; ++y)
      for (size_t x = 0; x < g.size[0]; ++x) {
        if (mask.at(x, y, z) == 0) continue;
        voxels.push_back({x * g.spacing[0], y * g.spacing[1], z * g.spacing[2]});
        values.push_back(image.at(x, y, z));
      }
  if (voxels.empty()) return {};
  const double nv = static_cast<double>(voxels.size());
  const TriangleMesh mesh = MarchingCubesMesh(mask);
  double volume = 0, area = 0;
  std::vector<P3> vertices;
  for (const auto& t : mesh.triangles) {
    volume += Dot(t[0], Cross(t[1], t[2])) / 6.0;
    const P3 c = Cross(Sub(t[1], t[0]), Sub(t[2], t[0]));
    area += std::sqrt(Dot(c, c)) / 2.0;
    vertices.insert(vertices.end(), t.begin(), t.end());
  }
  std::sort(vertices.begin(), vertices.end());
  vertices.erase(std::unique(vertices.begin(), vertices.end()), vertices.end());

  std::vector<Feature> f;
  const double v2 = 36 * M_PI * volume * volume;
  f.push_back({"morph_volume", volume});
  f.push_back({"morph_vol_approx", nv * g.spacing[0] * g.spacing[1] * g.spacing[2]});
  f.push_back({"morph_area_mesh", area});
  f.push_back({"morph_av", area / volume});
  f.push_back({"morph_comp_1", volume / (std::sqrt(M_PI) * std::pow(area, 1.5))});
  f.push_back({"morph_comp_2", v2 / (area * area * area)});
  f.push_back({"morph_sph_dispr", area / std::cbrt(v2)});
  f.push_back({"morph_sphericity", std::cbrt(v2) / area});
  f.push_back({"morph_asphericity", std::cbrt(area * area * area / v2) - 1});

  // Centre of mass shift: geometric centre vs intensity-weighted centre.
  P3 geometric{0, 0, 0}, weighted{0, 0, 0};
  double mean = 0, total = 0;
  for (size_t k = 0; k < voxels.size(); ++k) {
    for (int a = 0; a < 3; ++a) {
      geometric[a] += voxels[k][a] / nv;
      weighted[a] += voxels[k][a] * values[k];
    }
    total += values[k];
  }
  mean = total / nv;
  for (double& w : weighted) w /= total;
  const P3 shift = Sub(geometric, weighted);
  f.push_back({"morph_com", std::sqrt(Dot(shift, shift))});

  // The largest distance between mesh vertices is between hull vertices.
  const Hull hull = ConvexHull(vertices, g.spacing);
  const std::vector<P3>& far = hull.vertices.empty() ? vertices : hull.vertices;
  double diameter = 0;
  for (size_t a = 0; a < far.size(); ++a)
    for (size_t b = a + 1; b < far.size(); ++b) {
      const P3 d = Sub(far[a], far[b]);
      diameter = std::max(diameter, Dot(d, d));
    }
  f.push_back({"morph_diam", std::sqrt(diameter)});

  // Principal components of the voxel positions (sample covariance); the axes need two
  // voxels, the ratios and the enclosing ellipsoid a non-degenerate spread.
  std::array<double, 3> lambda{0, 0, 0};
  if (voxels.size() >= 2) {
    double cov[3][3] = {};
    for (const auto& p : voxels)
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) {
          cov[r][c] += (p[r] - geometric[r]) * (p[c] - geometric[c]) / (nv - 1);
        }
    lambda = SymmetricEigenvalues(cov);
    for (double& l : lambda) l = std::max(l, 0.0);
    f.push_back({"morph_pca_maj_axis", 4 * std::sqrt(lambda[0])});
    f.push_back({"morph_pca_min_axis", 4 * std::sqrt(lambda[1])});
    f.push_back({"morph_pca_least_axis", 4 * std::sqrt(lambda[2])});
    if (lambda[0] > 0) {
      f.push_back({"morph_pca_elongation", std::sqrt(lambda[1] / lambda[0])});
      f.push_back({"morph_pca_flatness", std::sqrt(lambda[2] / lambda[0])});
    }
  }

  P3 lo = vertices.front(), hi = vertices.front();
  for (const auto& p : vertices)
    for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], p[a]), hi[a] = std::max(hi[a], p[a]);
  const P3 e = Sub(hi, lo);
  f.push_back({"morph_vol_dens_aabb", volume / (e[0] * e[1] * e[2])});
  f.push_back({"morph_area_dens_aabb", area / (2 * (e[0] * e[1] + e[1] * e[2] + e[0] * e[2]))});

  if (lambda[2] > 0) {
    // Approximate enclosing ellipsoid: semi-axes twice the PCA standard deviations.
    const double sa = 2 * std::sqrt(lambda[0]), sb = 2 * std::sqrt(lambda[1]),
                 sc = 2 * std::sqrt(lambda[2]);
    f.push_back({"morph_vol_dens_aee", volume / (4 * M_PI * sa * sb * sc / 3)});
    f.push_back({"morph_area_dens_aee", area / EllipsoidArea(sa, sb, sc)});
  }

  if (hull.volume > 0) {
    f.push_back({"morph_vol_dens_conv_hull", volume / hull.volume});
    f.push_back({"morph_area_dens_conv_hull", area / hull.area});
  }

  f.push_back({"morph_integ_int", volume * mean});

  // Spatial autocorrelation with inverse-distance weights over all voxel pairs.
  if (!autocorrelation) return f;
  if (auto mg = MoranGeary(image, mask)) {
    f.push_back({"morph_moran_i", mg->first});
    f.push_back({"morph_geary_c", mg->second});
  }
  return f;
}

}  // namespace radflow::radiomics
