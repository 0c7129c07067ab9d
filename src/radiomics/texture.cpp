// IBSI 3.6-3.11: texture matrices (GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM) and their
// aggregation over slices and directions (IBSI 3.1.2: 2D, 2.5D, 3D; averaged or merged).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "radiomics/radiomics.h"

namespace radflow::radiomics {
namespace {

using Matrix = std::vector<std::vector<double>>;  // [grey level 1..Ng][column]
using Values = std::vector<double>;               // feature values in the order of a name list
using Offset = std::array<int, 3>;

// Grey levels on the grid, 0 outside the ROI (or outside the image).
struct Grid {
  int nx = 0, ny = 0, nz = 0, ng = 0;
  std::vector<int> level;

  Grid(const ImageVolume& image, const Mask& mask) {
    const auto& size = image.geometry().size;
    nx = static_cast<int>(size[0]);
    ny = static_cast<int>(size[1]);
    nz = static_cast<int>(size[2]);
    level.assign(image.data().size(), 0);
    if (mask.geometry().size != size) return;  // no ROI: ng stays 0
    for (size_t n = 0; n < level.size() && n < mask.data().size(); ++n) {
      if (mask.data()[n] == 0) continue;
      level[n] = std::max(1, static_cast<int>(std::lround(image.data()[n])));
      ng = std::max(ng, level[n]);
    }
  }
  int at(int x, int y, int z) const {
    if (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz) return 0;
    return level[static_cast<size_t>(x) +
                 static_cast<size_t>(nx) * (y + static_cast<size_t>(ny) * z)];
  }
  int SliceVoxels(int z) const {
    int n = 0;
    for (int y = 0; y < ny; ++y)
      for (int x = 0; x < nx; ++x) n += at(x, y, z) > 0;
    return n;
  }
  int RoiVoxels() const {
    int n = 0;
    for (int z = 0; z < nz; ++z) n += SliceVoxels(z);
    return n;
  }
  int MaxExtent() const { return std::max({nx, ny, nz}); }
  // A distance setting brought into [1, largest extent]: beyond it nothing changes.
  int Reach(int distance) const { return std::clamp(distance, 1, std::max(1, MaxExtent())); }
};

// Unique directions (one of each ± pair): the first 4 lie in the slice plane (2D), all 13
// are the 3D directions.
std::vector<Offset> Directions(bool three_d) {
  std::vector<Offset> d = {{1, 0, 0}, {1, 1, 0}, {0, 1, 0}, {-1, 1, 0}};
  if (three_d) {
    for (int y = -1; y <= 1; ++y)
      for (int x = -1; x <= 1; ++x) d.push_back({x, y, 1});
  }
  return d;
}

// All offsets within Chebyshev distance `r`, in-plane only for 2D.
std::vector<Offset> Neighbourhood(int r, bool three_d) {
  std::vector<Offset> n;
  const int rz = three_d ? r : 0;
  for (int z = -rz; z <= rz; ++z)
    for (int y = -r; y <= r; ++y)
      for (int x = -r; x <= r; ++x)
        if (x != 0 || y != 0 || z != 0) n.push_back({x, y, z});
  return n;
}

Matrix Zeros(int rows, int cols) { return Matrix(rows + 1, std::vector<double>(cols + 1, 0.0)); }

// a += b, widening a's rows to b's where b is wider (same number of grey levels).
void Add(Matrix& a, const Matrix& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].size() < b[i].size()) a[i].resize(b[i].size(), 0.0);
    for (size_t j = 0; j < b[i].size(); ++j) a[i][j] += b[i][j];
  }
}

double Total(const Matrix& m) {
  double s = 0;
  for (const auto& row : m)
    for (double x : row) s += x;
  return s;
}

Values Average(const std::vector<Values>& v) {
  Values out(v.front().size(), 0.0);
  for (const auto& x : v)
    for (size_t k = 0; k < x.size(); ++k) out[k] += x[k] / static_cast<double>(v.size());
  return out;
}

void Emit(std::vector<Feature>& out, const std::string& prefix,
          const std::vector<std::string>& names, const std::vector<Values>& per_matrix,
          const std::string& suffix) {
  if (per_matrix.empty()) return;
  const Values v = Average(per_matrix);
  for (size_t k = 0; k < names.size(); ++k) out.push_back({prefix + names[k] + suffix, v[k]});
}

double Entropy(double p) { return p > 0 ? -p * std::log2(p) : 0.0; }

// ---------------------------------------------------------------- GLCM (IBSI 3.6)

const std::vector<std::string> kGlcmNames = {
    "joint_max",    "joint_avg",         "joint_var",     "joint_entr", "diff_avg",
    "diff_var",     "diff_entr",         "sum_avg",       "sum_var",    "sum_entr",
    "energy",       "contrast",          "dissimilarity", "inv_diff",   "inv_diff_norm",
    "inv_diff_mom", "inv_diff_mom_norm", "inv_var",       "corr",       "auto_corr",
    "clust_tend",   "clust_shade",       "clust_prom",    "info_corr1", "info_corr2"};

// Symmetric co-occurrence counts for one direction, over slice z (or all slices if z < 0).
Matrix Cooccurrence(const Grid& g, const Offset& d, int distance, int z) {
  Matrix m = Zeros(g.ng, g.ng);
  const int z0 = z < 0 ? 0 : z, z1 = z < 0 ? g.nz : z + 1;
  for (int k = z0; k < z1; ++k)
    for (int y = 0; y < g.ny; ++y)
      for (int x = 0; x < g.nx; ++x) {
        const int a = g.at(x, y, k);
        const int b = g.at(x + d[0] * distance, y + d[1] * distance, k + d[2] * distance);
        if (a == 0 || b == 0) continue;
        m[a][b] += 1;
        m[b][a] += 1;
      }
  return m;
}

std::optional<Values> GlcmFeatures(const Matrix& counts, int ng) {
  const double total = Total(counts);
  if (total <= 0) return std::nullopt;
  Matrix p = counts;
  for (auto& row : p)
    for (double& x : row) x /= total;
  std::vector<double> pi(ng + 1, 0.0), pdiff(ng, 0.0), psum(2 * ng + 1, 0.0);
  double joint_max = 0, mu = 0, joint_entr = 0, energy = 0, contrast = 0, dissim = 0;
  double inv_diff = 0, inv_diff_norm = 0, inv_diff_mom = 0, inv_diff_mom_norm = 0, inv_var = 0;
  double auto_corr = 0;
  for (int i = 1; i <= ng; ++i)
    for (int j = 1; j <= ng; ++j) {
      const double v = p[i][j];
      const int k = std::abs(i - j);
      pi[i] += v;
      pdiff[k] += v;
      psum[i + j] += v;
      joint_max = std::max(joint_max, v);
      mu += i * v;
      joint_entr += Entropy(v);
      energy += v * v;
      contrast += k * k * v;
      dissim += k * v;
      inv_diff += v / (1.0 + k);
      inv_diff_norm += v / (1.0 + static_cast<double>(k) / ng);
      inv_diff_mom += v / (1.0 + k * k);
      inv_diff_mom_norm += v / (1.0 + static_cast<double>(k * k) / (ng * ng));
      if (k != 0) inv_var += v / (k * k);
      auto_corr += i * j * v;
    }
  double joint_var = 0, clust_tend = 0, clust_shade = 0, clust_prom = 0, cov = 0;
  double hxy1 = 0, hxy2 = 0;
  for (int i = 1; i <= ng; ++i)
    for (int j = 1; j <= ng; ++j) {
      const double v = p[i][j];
      const double s = i + j - 2 * mu;
      joint_var += (i - mu) * (i - mu) * v;
      clust_tend += s * s * v;
      clust_shade += s * s * s * v;
      clust_prom += s * s * s * s * v;
      cov += (i - mu) * (j - mu) * v;
      const double pp = pi[i] * pi[j];
      if (pp > 0) {
        hxy1 -= v * std::log2(pp);
        hxy2 -= pp * std::log2(pp);
      }
    }
  double hx = 0, var_i = 0;
  for (int i = 1; i <= ng; ++i) {
    hx += Entropy(pi[i]);
    var_i += (i - mu) * (i - mu) * pi[i];
  }
  double diff_avg = 0, diff_var = 0, diff_entr = 0;
  for (int k = 0; k < ng; ++k) diff_avg += k * pdiff[k];
  for (int k = 0; k < ng; ++k) {
    diff_var += (k - diff_avg) * (k - diff_avg) * pdiff[k];
    diff_entr += Entropy(pdiff[k]);
  }
  double sum_avg = 0, sum_var = 0, sum_entr = 0;
  for (int k = 2; k <= 2 * ng; ++k) sum_avg += k * psum[k];
  for (int k = 2; k <= 2 * ng; ++k) {
    sum_var += (k - sum_avg) * (k - sum_avg) * psum[k];
    sum_entr += Entropy(psum[k]);
  }
  // The matrix is symmetric: both marginals are pi, with mean mu and variance var_i.
  const double corr = var_i > 0 ? cov / var_i : 0.0;
  const double info_corr1 = hx > 0 ? (joint_entr - hxy1) / hx : 0.0;
  const double info_corr2 = std::sqrt(std::max(0.0, 1.0 - std::exp(-2.0 * (hxy2 - joint_entr))));
  return Values{
      joint_max,     mu,           joint_var,         joint_entr, diff_avg, diff_var,  diff_entr,
      sum_avg,       sum_var,      sum_entr,          energy,     contrast, dissim,    inv_diff,
      inv_diff_norm, inv_diff_mom, inv_diff_mom_norm, inv_var,    corr,     auto_corr, clust_tend,
      clust_shade,   clust_prom,   info_corr1,        info_corr2};
}

// --------------------------------------- GLRLM, GLSZM, GLDZM, NGLDM share one set of formulas

// Features of a matrix m[i][j] (grey level i, run length / zone size / distance /
// dependence j) with `nv` voxels (IBSI 3.7.1-3.7.16 and their 3.8, 3.9, 3.11 twins).
Values CountFeatures(const Matrix& m, double nv, bool with_energy) {
  const double ns = Total(m);
  const int ng = static_cast<int>(m.size()) - 1;
  const int nj = static_cast<int>(m[0].size()) - 1;
  double f[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::vector<double> ri(ng + 1, 0.0), rj(nj + 1, 0.0);
  double mu_i = 0, mu_j = 0, entr = 0, energy = 0;
  for (int i = 1; i <= ng; ++i)
    for (int j = 1; j <= nj; ++j) {
      const double r = m[i][j];
      if (r == 0) continue;
      const double i2 = static_cast<double>(i) * i, j2 = static_cast<double>(j) * j;
      f[0] += r / j2;
      f[1] += r * j2;
      f[2] += r / i2;
      f[3] += r * i2;
      f[4] += r / (i2 * j2);
      f[5] += r * i2 / j2;
      f[6] += r * j2 / i2;
      f[7] += r * i2 * j2;
      ri[i] += r;
      rj[j] += r;
      const double p = r / ns;
      mu_i += i * p;
      mu_j += j * p;
      entr += Entropy(p);
      energy += p * p;
    }
  double glnu = 0, jnu = 0, var_i = 0, var_j = 0;
  for (int i = 1; i <= ng; ++i) glnu += ri[i] * ri[i];
  for (int j = 1; j <= nj; ++j) jnu += rj[j] * rj[j];
  for (int i = 1; i <= ng; ++i)
    for (int j = 1; j <= nj; ++j) {
      const double p = m[i][j] / ns;
      var_i += (i - mu_i) * (i - mu_i) * p;
      var_j += (j - mu_j) * (j - mu_j) * p;
    }
  Values v;
  for (double x : f) v.push_back(x / ns);
  v.insert(v.end(),
           {glnu / ns, glnu / (ns * ns), jnu / ns, jnu / (ns * ns), ns / nv, var_i, var_j, entr});
  if (with_energy) v.push_back(energy);
  return v;
}

struct Counted {
  Matrix m;
  double nv;
};

Counted Merge(const std::vector<Counted>& parts) {
  Counted c{Zeros(static_cast<int>(parts.front().m.size()) - 1, 1), 0};
  for (const auto& p : parts) {
    Add(c.m, p.m);
    c.nv += p.nv;
  }
  return c;
}

std::vector<Values> FeaturesOf(const std::vector<Counted>& parts, bool with_energy) {
  std::vector<Values> out;
  for (const auto& p : parts) {
    if (Total(p.m) > 0) out.push_back(CountFeatures(p.m, p.nv, with_energy));
  }
  return out;
}

// Runs along direction d within slice z (or all slices if z < 0) (IBSI 3.7).
// Columns are sized to the longest run found.
Matrix Runs(const Grid& g, const Offset& d, int z) {
  std::vector<std::pair<int, int>> runs;  // grey level, length
  int longest = 1;
  const int z0 = z < 0 ? 0 : z, z1 = z < 0 ? g.nz : z + 1;
  for (int k = z0; k < z1; ++k)
    for (int y = 0; y < g.ny; ++y)
      for (int x = 0; x < g.nx; ++x) {
        const int a = g.at(x, y, k);
        if (a == 0 || g.at(x - d[0], y - d[1], k - d[2]) == a) continue;  // not a run start
        int len = 1;
        while (g.at(x + d[0] * len, y + d[1] * len, k + d[2] * len) == a) ++len;
        runs.push_back({a, len});
        longest = std::max(longest, len);
      }
  Matrix m = Zeros(g.ng, longest);
  for (const auto& [level, len] : runs) m[level][len] += 1;
  return m;
}

// Distance of each ROI voxel to the ROI edge: 1 on the border, face-connected steps
// (4-connected in the slice for 2D, 6-connected in 3D) (IBSI 3.1.8 / 3.9).
std::vector<int> EdgeDistance(const Grid& g, bool three_d) {
  std::vector<Offset> faces = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}};
  if (three_d) faces.insert(faces.end(), {{0, 0, 1}, {0, 0, -1}});
  std::vector<int> dist(g.level.size(), 0);
  std::vector<Offset> frontier;
  auto idx = [&](int x, int y, int z) {
    return static_cast<size_t>(x) + static_cast<size_t>(g.nx) * (y + static_cast<size_t>(g.ny) * z);
  };
  for (int z = 0; z < g.nz; ++z)
    for (int y = 0; y < g.ny; ++y)
      for (int x = 0; x < g.nx; ++x) {
        if (g.at(x, y, z) == 0) continue;
        for (const auto& f : faces) {
          if (g.at(x + f[0], y + f[1], z + f[2]) == 0) {
            dist[idx(x, y, z)] = 1;
            frontier.push_back({x, y, z});
            break;
          }
        }
      }
  for (int step = 2; !frontier.empty(); ++step) {
    std::vector<Offset> next;
    for (const auto& v : frontier)
      for (const auto& f : faces) {
        const int x = v[0] + f[0], y = v[1] + f[1], z = v[2] + f[2];
        if (g.at(x, y, z) == 0 || dist[idx(x, y, z)] != 0) continue;
        dist[idx(x, y, z)] = step;
        next.push_back({x, y, z});
      }
    frontier = std::move(next);
  }
  return dist;
}

// Zones of equal grey level in slice z (or the whole volume if z < 0): 8-connected in 2D,
// 26-connected in 3D. Fills a size-zone matrix (IBSI 3.8) and a distance-zone matrix (3.9).
// Columns are sized to the largest zone size and distance found.
void Zones(const Grid& g, int z, const std::vector<int>& dist, Matrix& size_zone,
           Matrix& distance_zone) {
  struct Zone {
    int level, size, distance;
  };
  std::vector<Zone> zones;
  int max_size = 1, max_distance = 1;
  const bool three_d = z < 0;
  const auto neighbours = Neighbourhood(1, three_d);
  const int z0 = three_d ? 0 : z, z1 = three_d ? g.nz : z + 1;
  std::vector<char> seen(g.level.size(), 0);
  auto idx = [&](int x, int y, int k) {
    return static_cast<size_t>(x) + static_cast<size_t>(g.nx) * (y + static_cast<size_t>(g.ny) * k);
  };
  for (int k = z0; k < z1; ++k)
    for (int y = 0; y < g.ny; ++y)
      for (int x = 0; x < g.nx; ++x) {
        const int a = g.at(x, y, k);
        if (a == 0 || seen[idx(x, y, k)]) continue;
        seen[idx(x, y, k)] = 1;
        std::vector<Offset> stack = {{x, y, k}};
        int size = 0, min_dist = dist[idx(x, y, k)];
        while (!stack.empty()) {
          const Offset v = stack.back();
          stack.pop_back();
          ++size;
          min_dist = std::min(min_dist, dist[idx(v[0], v[1], v[2])]);
          for (const auto& n : neighbours) {
            const int nx = v[0] + n[0], ny = v[1] + n[1], nz = v[2] + n[2];
            if (nz < z0 || nz >= z1 || g.at(nx, ny, nz) != a || seen[idx(nx, ny, nz)]) continue;
            seen[idx(nx, ny, nz)] = 1;
            stack.push_back({nx, ny, nz});
          }
        }
        zones.push_back({a, size, min_dist});
        max_size = std::max(max_size, size);
        max_distance = std::max(max_distance, min_dist);
      }
  size_zone = Zeros(g.ng, max_size);
  distance_zone = Zeros(g.ng, max_distance);
  for (const auto& zone : zones) {
    size_zone[zone.level][zone.size] += 1;
    distance_zone[zone.level][zone.distance] += 1;
  }
}

// Slices holding ROI voxels.
std::vector<int> RoiSlices(const Grid& g) {
  std::vector<int> s;
  for (int z = 0; z < g.nz; ++z) {
    if (g.SliceVoxels(z) > 0) s.push_back(z);
  }
  return s;
}

const std::vector<std::string> kRlmNames = {
    "sre",  "lre",       "lgre", "hgre",      "srlge",  "srhge",  "lrlge",  "lrhge",
    "glnu", "glnu_norm", "rlnu", "rlnu_norm", "r_perc", "gl_var", "rl_var", "rl_entr"};
const std::vector<std::string> kSzmNames = {
    "sze",  "lze",       "lgze", "hgze",      "szlge",  "szhge",  "lzlge",  "lzhge",
    "glnu", "glnu_norm", "zsnu", "zsnu_norm", "z_perc", "gl_var", "zs_var", "zs_entr"};
const std::vector<std::string> kDzmNames = {
    "sde",  "lde",       "lgze", "hgze",      "sdlge",  "sdhge",  "ldlge",  "ldhge",
    "glnu", "glnu_norm", "zdnu", "zdnu_norm", "z_perc", "gl_var", "zd_var", "zd_entr"};
const std::vector<std::string> kNglNames = {
    "lde",       "hde",  "lgce",      "hgce",    "ldlge",  "ldhge",  "hdlge",   "hdhge",    "glnu",
    "glnu_norm", "dcnu", "dcnu_norm", "dc_perc", "gl_var", "dc_var", "dc_entr", "dc_energy"};
const std::vector<std::string> kNgtNames = {"coarseness", "contrast", "busyness", "complexity",
                                            "strength"};

// ------------------------------------------------------------------ NGTDM (IBSI 3.10)

struct ToneDifference {
  std::vector<double> s, n;  // per grey level: sum of |i - neighbourhood mean|, voxel count
};

// Over slice z (in-plane neighbourhood) or the volume if z < 0. Only ROI neighbours count;
// a voxel without any is left out.
ToneDifference Tones(const Grid& g, int z, int radius) {
  ToneDifference t{std::vector<double>(g.ng + 1, 0.0), std::vector<double>(g.ng + 1, 0.0)};
  const auto neighbours = Neighbourhood(radius, z < 0);
  const int z0 = z < 0 ? 0 : z, z1 = z < 0 ? g.nz : z + 1;
  for (int k = z0; k < z1; ++k)
    for (int y = 0; y < g.ny; ++y)
      for (int x = 0; x < g.nx; ++x) {
        const int a = g.at(x, y, k);
        if (a == 0) continue;
        double sum = 0;
        int count = 0;
        for (const auto& n : neighbours) {
          const int b = g.at(x + n[0], y + n[1], k + n[2]);
          if (b > 0) sum += b, ++count;
        }
        if (count == 0) continue;
        t.s[a] += std::abs(a - sum / count);
        t.n[a] += 1;
      }
  return t;
}

std::optional<Values> NgtdmFeatures(const ToneDifference& t) {
  const int ng = static_cast<int>(t.s.size()) - 1;
  double nvc = 0, s_total = 0;
  for (int i = 1; i <= ng; ++i) nvc += t.n[i], s_total += t.s[i];
  if (nvc <= 0) return std::nullopt;
  std::vector<double> p(ng + 1, 0.0);
  double ngp = 0, ps = 0;
  for (int i = 1; i <= ng; ++i) {
    p[i] = t.n[i] / nvc;
    if (p[i] > 0) ++ngp;
    ps += p[i] * t.s[i];
  }
  double contrast_sum = 0, busy_den = 0, complexity = 0, strength_num = 0;
  for (int i = 1; i <= ng; ++i)
    for (int j = 1; j <= ng; ++j) {
      if (p[i] == 0 || p[j] == 0) continue;
      const double d = i - j;
      contrast_sum += p[i] * p[j] * d * d;
      busy_den += std::abs(i * p[i] - j * p[j]);
      complexity += std::abs(d) * (p[i] * t.s[i] + p[j] * t.s[j]) / (p[i] + p[j]);
      strength_num += (p[i] + p[j]) * d * d;
    }
  const double coarseness = ps > 0 ? 1.0 / ps : 1e6;
  const double contrast = ngp > 1 ? contrast_sum / (ngp * (ngp - 1)) * s_total / nvc : 0.0;
  const double busyness = busy_den > 0 ? ps / busy_den : 0.0;
  const double strength = s_total > 0 ? strength_num / s_total : 0.0;
  return Values{coarseness, contrast, busyness, complexity / nvc, strength};
}

// ------------------------------------------------------------------ NGLDM (IBSI 3.11)

Counted Dependence(const Grid& g, int z, int radius, int alpha) {
  const auto neighbours = Neighbourhood(radius, z < 0);
  Counted c{Zeros(g.ng, static_cast<int>(neighbours.size()) + 1), 0};
  const int z0 = z < 0 ? 0 : z, z1 = z < 0 ? g.nz : z + 1;
  for (int k = z0; k < z1; ++k)
    for (int y = 0; y < g.ny; ++y)
      for (int x = 0; x < g.nx; ++x) {
        const int a = g.at(x, y, k);
        if (a == 0) continue;
        int dependence = 1;
        for (const auto& n : neighbours) {
          const int b = g.at(x + n[0], y + n[1], k + n[2]);
          if (b > 0 && std::abs(b - a) <= alpha) ++dependence;
        }
        c.m[a][dependence] += 1;
        c.nv += 1;
      }
  return c;
}

}  // namespace

std::vector<Feature> Glcm(const ImageVolume& discretised, const Mask& mask, const Settings& s) {
  const Grid g(discretised, mask);
  std::vector<Feature> out;
  if (g.ng == 0) return out;
  const auto d2 = Directions(false), d3 = Directions(true);
  const auto slices = RoiSlices(g);
  auto features = [&](const Matrix& m, std::vector<Values>& into) {
    if (auto v = GlcmFeatures(m, g.ng)) into.push_back(*v);
  };
  std::vector<Values> avg2, comb2, avg25, avg3;
  Matrix all2 = Zeros(g.ng, g.ng), all3 = Zeros(g.ng, g.ng);
  std::vector<Matrix> per_direction(d2.size(), Zeros(g.ng, g.ng));
  for (int z : slices) {
    Matrix slice = Zeros(g.ng, g.ng);
    for (size_t d = 0; d < d2.size(); ++d) {
      const Matrix m = Cooccurrence(g, d2[d], g.Reach(s.glcm_distance), z);
      features(m, avg2);
      Add(slice, m);
      Add(per_direction[d], m);
    }
    features(slice, comb2);
    Add(all2, slice);
  }
  for (const auto& m : per_direction) features(m, avg25);
  for (const auto& d : d3) {
    const Matrix m = Cooccurrence(g, d, g.Reach(s.glcm_distance), -1);
    features(m, avg3);
    Add(all3, m);
  }
  std::vector<Values> comb25, comb3;
  features(all2, comb25);
  features(all3, comb3);
  Emit(out, "cm_", kGlcmNames, avg2, "_2D_avg");
  Emit(out, "cm_", kGlcmNames, comb2, "_2D_comb");
  Emit(out, "cm_", kGlcmNames, avg25, "_2_5D_avg");
  Emit(out, "cm_", kGlcmNames, comb25, "_2_5D_comb");
  Emit(out, "cm_", kGlcmNames, avg3, "_3D_avg");
  Emit(out, "cm_", kGlcmNames, comb3, "_3D_comb");
  return out;
}

std::vector<Feature> Glrlm(const ImageVolume& discretised, const Mask& mask) {
  const Grid g(discretised, mask);
  std::vector<Feature> out;
  if (g.ng == 0) return out;
  const auto d2 = Directions(false), d3 = Directions(true);
  std::vector<Counted> all2d, slices_merged;
  std::vector<std::vector<Counted>> per_direction(d2.size());
  for (int z : RoiSlices(g)) {
    const double nv = g.SliceVoxels(z);
    std::vector<Counted> slice;
    for (size_t d = 0; d < d2.size(); ++d) {
      slice.push_back({Runs(g, d2[d], z), nv});
      per_direction[d].push_back(slice.back());
    }
    all2d.insert(all2d.end(), slice.begin(), slice.end());
    slices_merged.push_back(Merge(slice));
  }
  std::vector<Counted> directions25, all3d;
  for (const auto& parts : per_direction) directions25.push_back(Merge(parts));
  for (const auto& d : d3) all3d.push_back({Runs(g, d, -1), static_cast<double>(g.RoiVoxels())});
  Emit(out, "rlm_", kRlmNames, FeaturesOf(all2d, false), "_2D_avg");
  Emit(out, "rlm_", kRlmNames, FeaturesOf(slices_merged, false), "_2D_comb");
  Emit(out, "rlm_", kRlmNames, FeaturesOf(directions25, false), "_2_5D_avg");
  Emit(out, "rlm_", kRlmNames, FeaturesOf({Merge(all2d)}, false), "_2_5D_comb");
  Emit(out, "rlm_", kRlmNames, FeaturesOf(all3d, false), "_3D_avg");
  Emit(out, "rlm_", kRlmNames, FeaturesOf({Merge(all3d)}, false), "_3D_comb");
  return out;
}

namespace {

// Size-zone and distance-zone matrices per slice (2D) and for the volume (3D).
struct ZoneMatrices {
  std::vector<Counted> size2d, dist2d;
  Counted size3d, dist3d;
};

// Distances to the ROI edge come from `edges` (IBSI 3.9: the morphological mask when it
// differs from the intensity mask).
ZoneMatrices AllZones(const Grid& g, const Grid& edges) {
  ZoneMatrices z;
  const auto dist2 = EdgeDistance(edges, false), dist3 = EdgeDistance(edges, true);
  for (int k : RoiSlices(g)) {
    Counted sz{{}, static_cast<double>(g.SliceVoxels(k))}, dz = sz;
    Zones(g, k, dist2, sz.m, dz.m);
    z.size2d.push_back(std::move(sz));
    z.dist2d.push_back(std::move(dz));
  }
  z.size3d = {{}, static_cast<double>(g.RoiVoxels())};
  z.dist3d = z.size3d;
  Zones(g, -1, dist3, z.size3d.m, z.dist3d.m);
  return z;
}

}  // namespace

std::vector<Feature> Glszm(const ImageVolume& discretised, const Mask& mask) {
  const Grid g(discretised, mask);
  std::vector<Feature> out;
  if (g.ng == 0) return out;
  const ZoneMatrices z = AllZones(g, g);
  Emit(out, "szm_", kSzmNames, FeaturesOf(z.size2d, false), "_2D");
  Emit(out, "szm_", kSzmNames, FeaturesOf({Merge(z.size2d)}, false), "_2_5D");
  Emit(out, "szm_", kSzmNames, FeaturesOf({z.size3d}, false), "_3D");
  return out;
}

std::vector<Feature> Gldzm(const ImageVolume& discretised, const Mask& mask,
                           const Mask* distance_mask) {
  const Grid g(discretised, mask);
  std::vector<Feature> out;
  if (g.ng == 0) return out;
  std::optional<Grid> edges;
  if (distance_mask) edges.emplace(ImageVolume(discretised.geometry(), 1.f), *distance_mask);
  const ZoneMatrices z = AllZones(g, edges ? *edges : g);
  Emit(out, "dzm_", kDzmNames, FeaturesOf(z.dist2d, false), "_2D");
  Emit(out, "dzm_", kDzmNames, FeaturesOf({Merge(z.dist2d)}, false), "_2_5D");
  Emit(out, "dzm_", kDzmNames, FeaturesOf({z.dist3d}, false), "_3D");
  return out;
}

std::vector<Feature> Ngtdm(const ImageVolume& discretised, const Mask& mask, const Settings& s) {
  const Grid g(discretised, mask);
  std::vector<Feature> out;
  if (g.ng == 0) return out;
  std::vector<Values> per_slice;
  ToneDifference merged{std::vector<double>(g.ng + 1, 0.0), std::vector<double>(g.ng + 1, 0.0)};
  for (int z : RoiSlices(g)) {
    const ToneDifference t = Tones(g, z, g.Reach(s.ngtdm_distance));
    if (auto v = NgtdmFeatures(t)) per_slice.push_back(*v);
    for (int i = 1; i <= g.ng; ++i) merged.s[i] += t.s[i], merged.n[i] += t.n[i];
  }
  Emit(out, "ngt_", kNgtNames, per_slice, "_2D");
  if (auto v = NgtdmFeatures(merged)) Emit(out, "ngt_", kNgtNames, {*v}, "_2_5D");
  if (auto v = NgtdmFeatures(Tones(g, -1, g.Reach(s.ngtdm_distance)))) {
    Emit(out, "ngt_", kNgtNames, {*v}, "_3D");
  }
  return out;
}

std::vector<Feature> Ngldm(const ImageVolume& discretised, const Mask& mask, const Settings& s) {
  const Grid g(discretised, mask);
  std::vector<Feature> out;
  if (g.ng == 0) return out;
  std::vector<Counted> slices;
  for (int z : RoiSlices(g))
    slices.push_back(Dependence(g, z, g.Reach(s.ngldm_distance), s.ngldm_alpha));
  Emit(out, "ngl_", kNglNames, FeaturesOf(slices, true), "_2D");
  Emit(out, "ngl_", kNglNames, FeaturesOf({Merge(slices)}, true), "_2_5D");
  Emit(out, "ngl_", kNglNames,
       FeaturesOf({Dependence(g, -1, g.Reach(s.ngldm_distance), s.ngldm_alpha)}, true), "_3D");
  return out;
}

}  // namespace radflow::radiomics
