// IBSI 3.3 intensity statistics, 3.4 intensity histogram, 3.5 intensity-volume histogram.
#include <algorithm>
#include <cmath>
#include <map>

#include "radiomics/radiomics.h"

namespace radflow::radiomics {
namespace {

std::vector<double> RoiValues(const ImageVolume& image, const Mask& mask) {
  std::vector<double> v;
  if (image.geometry().size != mask.geometry().size) return v;
  const auto& d = image.data();
  const auto& m = mask.data();
  for (size_t n = 0; n < d.size() && n < m.size(); ++n) {
    if (m[n] != 0) v.push_back(d[n]);
  }
  return v;
}

// Percentile by linear interpolation between closest ranks (numpy's default);
// `sorted` non-empty.
double Percentile(const std::vector<double>& sorted, double p) {
  const double pos = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// The statistics shared by IBSI 3.3 and 3.4 (the latter on grey levels).
std::vector<Feature> Statistics(std::vector<double> v, const std::string& prefix, bool histogram) {
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  const double mean = Mean(v);
  double m2 = 0, m3 = 0, m4 = 0, energy = 0, mad = 0;
  for (double x : v) {
    const double d = x - mean;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
    energy += x * x;
    mad += std::abs(d);
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  mad /= n;
  const double median = Percentile(v, 50);
  const double p10 = Percentile(v, 10), p25 = Percentile(v, 25);
  const double p75 = Percentile(v, 75), p90 = Percentile(v, 90);
  // Robust mean absolute deviation: over the values within [P10, P90].
  std::vector<double> robust;
  for (double x : v) {
    if (x >= p10 && x <= p90) robust.push_back(x);
  }
  const double rmean = Mean(robust);
  double rmad = 0;
  for (double x : robust) rmad += std::abs(x - rmean);
  rmad /= static_cast<double>(robust.size());
  double medad = 0;
  for (double x : v) medad += std::abs(x - median);
  medad /= n;

  std::vector<Feature> f = {
      {prefix + "mean", mean},
      {prefix + "var", m2},
      {prefix + "skew", m2 > 0 ? m3 / std::pow(m2, 1.5) : 0.0},
      {prefix + "kurt", m2 > 0 ? m4 / (m2 * m2) - 3.0 : 0.0},
      {prefix + "median", median},
      {prefix + "min", v.front()},
      {prefix + "p10", p10},
      {prefix + "p90", p90},
      {prefix + "max", v.back()},
  };
  if (histogram) {
    std::map<double, size_t> counts;
    for (double x : v) ++counts[x];
    double mode = v.front();
    size_t best = 0;
    for (const auto& [x, c] : counts) {
      if (c > best) best = c, mode = x;  // lowest grey level wins a tie
    }
    f.push_back({prefix + "mode", mode});
  }
  f.push_back({prefix + "iqr", p75 - p25});
  f.push_back({prefix + "range", v.back() - v.front()});
  f.push_back({prefix + "mad", mad});
  f.push_back({prefix + "rmad", rmad});
  f.push_back({prefix + "medad", medad});
  f.push_back({prefix + "cov", std::sqrt(m2) / mean});
  f.push_back({prefix + "qcod", (p75 - p25) / (p75 + p25)});
  if (!histogram) {
    f.push_back({prefix + "energy", energy});
    f.push_back({prefix + "rms", std::sqrt(energy / n)});
  }
  return f;
}

}  // namespace

std::vector<Feature> IntensityStatistics(const ImageVolume& image, const Mask& mask) {
  auto v = RoiValues(image, mask);
  if (v.empty()) return {};
  return Statistics(std::move(v), "stat_", false);
}

std::vector<Feature> IntensityHistogram(const ImageVolume& discretised, const Mask& mask) {
  auto v = RoiValues(discretised, mask);
  if (v.empty()) return {};
  for (double& x : v) x = std::round(x);
  auto f = Statistics(v, "ih_", true);
  // Histogram over grey levels 1..Ng, empty bins included.
  const int ng = static_cast<int>(*std::max_element(v.begin(), v.end()));
  std::vector<double> h(static_cast<size_t>(std::max(ng, 1)) + 1, 0.0);
  for (double x : v) {
    if (x >= 1) h[static_cast<size_t>(x)] += 1;
  }
  const double n = static_cast<double>(v.size());
  double entropy = 0, uniformity = 0;
  for (int i = 1; i <= ng; ++i) {
    const double p = h[i] / n;
    if (p > 0) entropy -= p * std::log2(p);
    uniformity += p * p;
  }
  f.push_back({"ih_entropy", entropy});
  f.push_back({"ih_uniformity", uniformity});
  if (ng >= 2) {
    // Histogram gradient: one-sided at the ends, central inside (IBSI 3.4.20-23).
    double max_grad = -1e300, min_grad = 1e300;
    int max_g = 1, min_g = 1;
    for (int i = 1; i <= ng; ++i) {
      double g = i == 1 ? h[2] - h[1] : i == ng ? h[ng] - h[ng - 1] : (h[i + 1] - h[i - 1]) / 2;
      if (g > max_grad) max_grad = g, max_g = i;
      if (g < min_grad) min_grad = g, min_g = i;
    }
    f.push_back({"ih_max_grad", max_grad});
    f.push_back({"ih_max_grad_g", static_cast<double>(max_g)});
    f.push_back({"ih_min_grad", min_grad});
    f.push_back({"ih_min_grad_g", static_cast<double>(min_g)});
  }
  return f;
}

std::vector<Feature> IntensityVolumeHistogram(std::vector<double> values, const IvhLevels& g) {
  if (values.empty() || g.hi <= g.lo || g.step <= 0) return {};
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  // nu(i): fraction of the ROI volume with grey level >= i.
  auto fraction_at_least = [&](double level) {
    return static_cast<double>(values.end() - std::lower_bound(values.begin(), values.end(), level - 1e-9)) / n;
  };
  // V_x: the volume fraction at the first level whose intensity fraction reaches x;
  // I_x: the lowest level occupying at most a fraction x of the volume.
  double v10 = 0, v90 = 0, i10 = g.hi + g.step, i90 = g.hi + g.step;
  bool have_v10 = false, have_v90 = false, have_i10 = false, have_i90 = false;
  for (double level = g.first; level <= g.hi + 1e-9; level += g.step) {
    const double nu = fraction_at_least(level);
    const double gamma = (level - g.lo) / (g.hi - g.lo);
    if (!have_v10 && gamma >= 0.10 - 1e-12) { v10 = nu; have_v10 = true; }
    if (!have_v90 && gamma >= 0.90 - 1e-12) { v90 = nu; have_v90 = true; }
    if (!have_i10 && nu <= 0.10 + 1e-12) { i10 = level; have_i10 = true; }
    if (!have_i90 && nu <= 0.90 + 1e-12) { i90 = level; have_i90 = true; }
  }
  return {{"ivh_v10", v10}, {"ivh_v90", v90}, {"ivh_i10", i10}, {"ivh_i90", i90},
          {"ivh_diff_v10_v90", v10 - v90}, {"ivh_diff_i10_i90", i10 - i90}};
}

std::vector<Feature> IntensityVolumeHistogram(const ImageVolume& discretised, const Mask& mask) {
  auto v = RoiValues(discretised, mask);
  if (v.empty()) return {};
  for (double& x : v) x = std::round(x);
  const double lo = *std::min_element(v.begin(), v.end());
  const double hi = *std::max_element(v.begin(), v.end());
  if (hi <= lo) {  // one grey level: everything is at or above it
    return {{"ivh_v10", 1}, {"ivh_v90", 1}, {"ivh_i10", hi + 1}, {"ivh_i90", hi + 1},
            {"ivh_diff_v10_v90", 0}, {"ivh_diff_i10_i90", 0}};
  }
  return IntensityVolumeHistogram(std::move(v), IvhLevels{lo, 1, lo, hi});
}

std::vector<Feature> LocalIntensity(const ImageVolume& image, const Mask& mask) {
  const auto& g = image.geometry();
  if (mask.geometry().size != g.size) return {};
  // Sphere of 1 cm^3: radius (3 / 4pi)^(1/3) cm, in mm (IBSI 3.2).
  const double radius = 10.0 * std::cbrt(3.0 / (4.0 * M_PI));
  int reach[3];
  for (int a = 0; a < 3; ++a) reach[a] = static_cast<int>(std::floor(radius / g.spacing[a]));
  const int nx = static_cast<int>(g.size[0]), ny = static_cast<int>(g.size[1]),
            nz = static_cast<int>(g.size[2]);
  // Mean intensity over the voxel centres within the sphere, mask or not.
  auto peak = [&](int x, int y, int z) {
    double sum = 0;
    int count = 0;
    for (int k = -reach[2]; k <= reach[2]; ++k)
      for (int j = -reach[1]; j <= reach[1]; ++j)
        for (int i = -reach[0]; i <= reach[0]; ++i) {
          const double dx = i * g.spacing[0], dy = j * g.spacing[1], dz = k * g.spacing[2];
          if (dx * dx + dy * dy + dz * dz > radius * radius) continue;
          const int a = x + i, b = y + j, c = z + k;
          if (a < 0 || b < 0 || c < 0 || a >= nx || b >= ny || c >= nz) continue;
          sum += image.at(a, b, c);
          ++count;
        }
    return sum / count;
  };
  double max_value = -1e300, local = -1e300, global = -1e300;
  bool any = false;
  for (int z = 0; z < nz; ++z)
    for (int y = 0; y < ny; ++y)
      for (int x = 0; x < nx; ++x) {
        if (mask.at(x, y, z) == 0) continue;
        any = true;
        max_value = std::max(max_value, static_cast<double>(image.at(x, y, z)));
      }
  if (!any) return {};
  for (int z = 0; z < nz; ++z)
    for (int y = 0; y < ny; ++y)
      for (int x = 0; x < nx; ++x) {
        if (mask.at(x, y, z) == 0) continue;
        const double p = peak(x, y, z);
        global = std::max(global, p);
        // Local peak: around the ROI's highest intensity; the largest if several.
        if (image.at(x, y, z) == max_value) local = std::max(local, p);
      }
  return {{"loc_peak_loc", local}, {"loc_peak_glob", global}};
}

std::vector<Feature> ComputeAll(const ImageVolume& discretised, const Mask& mask,
                                const Settings& settings) {
  std::vector<Feature> all;
  if (discretised.geometry().size != mask.geometry().size) return all;
  auto add = [&](std::vector<Feature> f) {
    all.insert(all.end(), std::make_move_iterator(f.begin()), std::make_move_iterator(f.end()));
  };
  add(Morphology(discretised, mask));
  add(LocalIntensity(discretised, mask));
  add(IntensityStatistics(discretised, mask));
  add(IntensityHistogram(discretised, mask));
  add(IntensityVolumeHistogram(discretised, mask));
  add(Glcm(discretised, mask, settings));
  add(Glrlm(discretised, mask));
  add(Glszm(discretised, mask));
  add(Gldzm(discretised, mask));
  add(Ngtdm(discretised, mask, settings));
  add(Ngldm(discretised, mask, settings));
  return all;
}

}  // namespace radflow::radiomics
