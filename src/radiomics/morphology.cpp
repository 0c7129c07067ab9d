// IBSI 3.1 morphological features. The surface is a marching-cubes mesh of the mask, padded
// with empty voxels, at iso-level 0.5 (IBSI 3.1.1). The triangulation is derived per cube:
// on every cube face the iso-line segments are found (an ambiguous face, with two diagonal
// inside corners, keeps the inside corners joined), the segments are chained into closed
// polygons, and each polygon is fanned into triangles oriented outward.
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>

#include "radiomics/radiomics.h"

namespace radflow::radiomics {
namespace {

using P3 = std::array<double, 3>;

P3 Sub(const P3& a, const P3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
P3 Cross(const P3& a, const P3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
double Dot(const P3& a, const P3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

struct Mesh {
  std::vector<std::array<P3, 3>> triangles;  // outward-facing, in mm
};

// Corner c of a cube sits at offset (c & 1, c >> 1 & 1, c >> 2 & 1).
constexpr std::array<std::array<int, 2>, 12> kEdges = {{{0, 1}, {2, 3}, {4, 5}, {6, 7},
                                                         {0, 2}, {1, 3}, {4, 6}, {5, 7},
                                                         {0, 4}, {1, 5}, {2, 6}, {3, 7}}};
// Faces as corner cycles.
constexpr std::array<std::array<int, 4>, 6> kFaces = {{{0, 1, 3, 2}, {4, 5, 7, 6}, {0, 1, 5, 4},
                                                       {2, 3, 7, 6}, {0, 2, 6, 4}, {1, 3, 7, 5}}};

int EdgeOf(int a, int b) {
  for (int e = 0; e < 12; ++e) {
    if ((kEdges[e][0] == a && kEdges[e][1] == b) || (kEdges[e][0] == b && kEdges[e][1] == a)) {
      return e;
    }
  }
  return -1;
}

#ifndef CENTROID_FAN
#define CENTROID_FAN 0
#endif
constexpr bool kCentroidFan = CENTROID_FAN;

Mesh MarchingCubes(const Mask& mask) {
  const auto& g = mask.geometry();
  const int n[3] = {static_cast<int>(g.size[0]), static_cast<int>(g.size[1]),
                    static_cast<int>(g.size[2])};
  auto inside = [&](int x, int y, int z) {
    if (x < 0 || y < 0 || z < 0 || x >= n[0] || y >= n[1] || z >= n[2]) return false;
    return mask.at(x, y, z) != 0;
  };
  Mesh mesh;
  for (int z = -1; z < n[2]; ++z)
    for (int y = -1; y < n[1]; ++y)
      for (int x = -1; x < n[0]; ++x) {
        bool in[8];
        int count = 0;
        for (int c = 0; c < 8; ++c) {
          in[c] = inside(x + (c & 1), y + (c >> 1 & 1), z + (c >> 2 & 1));
          count += in[c];
        }
        if (count == 0 || count == 8) continue;
        // Each crossed edge gets two neighbours, one from each face it borders.
        std::array<std::vector<int>, 12> link;
        for (const auto& f : kFaces) {
          std::vector<int> crossed;
          for (int k = 0; k < 4; ++k) {
            if (in[f[k]] != in[f[(k + 1) % 4]]) crossed.push_back(k);  // edge f[k]-f[k+1]
          }
          auto edge = [&](int k) { return EdgeOf(f[k], f[(k + 1) % 4]); };
          auto join = [&](int a, int b) {
            link[a].push_back(b);
            link[b].push_back(a);
          };
          if (crossed.size() == 2) {
            join(edge(crossed[0]), edge(crossed[1]));
          } else if (crossed.size() == 4) {
            // Cut off each outside corner: its two adjacent edges form a segment.
            for (int k = 0; k < 4; ++k) {
              if (!in[f[k]]) join(edge((k + 3) % 4), edge(k));
            }
          }
        }
        auto point = [&](int e) {
          const int a = kEdges[e][0], b = kEdges[e][1];
          P3 p;
          for (int axis = 0; axis < 3; ++axis) {
            const double pa = (a >> axis & 1), pb = (b >> axis & 1);
            const int base = axis == 0 ? x : axis == 1 ? y : z;
            p[axis] = (base + (pa + pb) / 2) * g.spacing[axis];
          }
          return p;
        };
        std::array<bool, 12> used{};
        for (int start = 0; start < 12; ++start) {
          if (used[start] || link[start].size() != 2) continue;
          std::vector<int> loop = {start};
          used[start] = true;
          int prev = -1, cur = start;
          while (true) {
            const int next = link[cur][0] != prev ? link[cur][0] : link[cur][1];
            if (next == start || used[next]) break;
            loop.push_back(next);
            used[next] = true;
            prev = cur;
            cur = next;
          }
          if (loop.size() < 3) continue;
          // Outward: from the inside corner to the outside corner of each crossed edge.
          P3 outward{0, 0, 0}, normal{0, 0, 0};
          std::vector<P3> pts;
          for (int e : loop) {
            const int a = kEdges[e][0], b = kEdges[e][1];
            const int from = in[a] ? a : b, to = in[a] ? b : a;
            for (int axis = 0; axis < 3; ++axis) {
              outward[axis] += ((to >> axis & 1) - (from >> axis & 1)) * g.spacing[axis];
            }
            pts.push_back(point(e));
          }
          for (size_t k = 1; k + 1 < pts.size(); ++k) {
            const P3 c = Cross(Sub(pts[k], pts[0]), Sub(pts[k + 1], pts[0]));
            for (int axis = 0; axis < 3; ++axis) normal[axis] += c[axis];
          }
          const bool flip = Dot(normal, outward) < 0;
          if (kCentroidFan) {
            P3 centre{0, 0, 0};
            for (const auto& q : pts)
              for (int axis = 0; axis < 3; ++axis) centre[axis] += q[axis] / pts.size();
            for (size_t k = 0; k < pts.size(); ++k) {
              const P3& q0 = pts[k];
              const P3& q1 = pts[(k + 1) % pts.size()];
              if (flip) mesh.triangles.push_back({centre, q1, q0});
              else mesh.triangles.push_back({centre, q0, q1});
            }
            continue;
          }
          for (size_t k = 1; k + 1 < pts.size(); ++k) {
            if (flip) mesh.triangles.push_back({pts[0], pts[k + 1], pts[k]});
            else mesh.triangles.push_back({pts[0], pts[k], pts[k + 1]});
          }
        }
      }
  return mesh;
}

}  // namespace

namespace {

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

std::vector<Feature> Morphology(const ImageVolume& image, const Mask& mask) {
  const auto& g = mask.geometry();
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
  const Mesh mesh = MarchingCubes(mask);
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

  double diameter = 0;
  for (size_t a = 0; a < vertices.size(); ++a)
    for (size_t b = a + 1; b < vertices.size(); ++b) {
      const P3 d = Sub(vertices[a], vertices[b]);
      diameter = std::max(diameter, Dot(d, d));
    }
  f.push_back({"morph_diam", std::sqrt(diameter)});

  // Principal components of the voxel positions (sample covariance).
  double cov[3][3] = {};
  for (const auto& p : voxels)
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) cov[r][c] += (p[r] - geometric[r]) * (p[c] - geometric[c]) / nv;
  const auto lambda = SymmetricEigenvalues(cov);
  f.push_back({"morph_pca_maj_axis", 4 * std::sqrt(lambda[0])});
  f.push_back({"morph_pca_min_axis", 4 * std::sqrt(lambda[1])});
  f.push_back({"morph_pca_least_axis", 4 * std::sqrt(lambda[2])});
  f.push_back({"morph_pca_elongation", std::sqrt(lambda[1] / lambda[0])});
  f.push_back({"morph_pca_flatness", std::sqrt(lambda[2] / lambda[0])});

  P3 lo = vertices.front(), hi = vertices.front();
  for (const auto& p : vertices)
    for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], p[a]), hi[a] = std::max(hi[a], p[a]);
  const P3 e = Sub(hi, lo);
  f.push_back({"morph_vol_dens_aabb", volume / (e[0] * e[1] * e[2])});
  f.push_back({"morph_area_dens_aabb", area / (2 * (e[0] * e[1] + e[1] * e[2] + e[0] * e[2]))});

  const double sa = 2 * std::sqrt(lambda[0]), sb = 2 * std::sqrt(lambda[1]),
               sc = 2 * std::sqrt(lambda[2]);
  f.push_back({"morph_vol_dens_aee", volume / (4 * M_PI * sa * sb * sc / 3)});
  f.push_back({"morph_area_dens_aee", area / EllipsoidArea(sa, sb, sc)});

  f.push_back({"morph_integ_int", volume * mean});

  // Spatial autocorrelation with inverse-distance weights over all voxel pairs.
  double w_sum = 0, moran = 0, geary = 0, var = 0;
  for (double x : values) var += (x - mean) * (x - mean);
  for (size_t a = 0; a < voxels.size(); ++a)
    for (size_t b = 0; b < voxels.size(); ++b) {
      if (a == b) continue;
      const P3 d = Sub(voxels[a], voxels[b]);
      const double w = 1.0 / std::sqrt(Dot(d, d));
      w_sum += w;
      moran += w * (values[a] - mean) * (values[b] - mean);
      geary += w * (values[a] - values[b]) * (values[a] - values[b]);
    }
  if (var > 0 && w_sum > 0) {
    f.push_back({"morph_moran_i", nv / w_sum * moran / var});
    f.push_back({"morph_geary_c", (nv - 1) * geary / (2 * w_sum * var)});
  }
  return f;
}

}  // namespace radflow::radiomics
