// Measurement of one lesion candidate on the input grid: moments, axial diameters, density.
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "apps/lung/lesion_measure.h"
#include "imaging/resample.h"

namespace radflow::apps::lung {

using imaging::Mask;

bool Measure(const imaging::ImageVolume& hu, Mask mask, Lesion* out, Shape* shape) {
  const auto& g = hu.geometry();
  const auto& s = g.size;
  size_t n = 0, solid = 0;
  double sum_hu = 0;
  std::array<double, 3> mean{0, 0, 0};
  std::array<double, 6> cov{};  // xx yy zz xy xz yz
  std::vector<size_t> slice_area(s[2], 0);
  for (size_t k = 0; k < s[2]; ++k)
    for (size_t j = 0; j < s[1]; ++j)
      for (size_t i = 0; i < s[0]; ++i) {
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
  std::vector<float> values;
  values.reserve(n);
  for (size_t v = 0; v < mask.data().size(); ++v)
    if (mask.data()[v]) values.push_back(hu.data()[v]);
  std::nth_element(values.begin(), values.begin() + long(n * 9 / 10), values.end());
  shape->p90_hu = values[n * 9 / 10];
  size_t slices = 0;
  for (size_t a : slice_area) slices += a > 0;
  shape->slices = slices;
  // Long/short axis on the slice with the largest cross-section (RECIST-like, axial).
  const size_t kmax = size_t(std::max_element(slice_area.begin(), slice_area.end()) - slice_area.begin());
  std::vector<std::array<double, 2>> edge;
  for (size_t j = 0; j < s[1]; ++j)
    for (size_t i = 0; i < s[0]; ++i) {
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

bool TrimEnhancing(const imaging::ImageVolume& hu, Mask* mask) {
  constexpr float kEnhancingHu = 100;  // tumours enhance less than vessels, atelectasis, heart
  const auto& s = hu.geometry().size;
  Mask kept(hu.geometry(), 0);
  size_t before = 0;
  for (size_t k = 0; k < s[2]; ++k)
    for (size_t j = 0; j < s[1]; ++j)
      for (size_t i = 0; i < s[0]; ++i) {
        if (!mask->at(i, j, k)) continue;
        ++before;
        double sum = 0;
        int n = 0;
        for (size_t y = j > 2 ? j - 2 : 0; y <= std::min(s[1] - 1, j + 2); ++y)
          for (size_t x = i > 2 ? i - 2 : 0; x <= std::min(s[0] - 1, i + 2); ++x) sum += hu.at(x, y, k), ++n;
        kept.at(i, j, k) = sum / n <= kEnhancingHu;
      }
  imaging::Mask largest = imaging::LargestComponent(kept);
  const size_t size = size_t(std::count(largest.data().begin(), largest.data().end(), 1));
  if (size == 0 || 2 * size < before) return false;
  *mask = std::move(largest);
  return true;
}

}  // namespace radflow::apps::lung
