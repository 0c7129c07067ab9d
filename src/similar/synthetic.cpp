#include "similar/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "similar/features.h"

namespace radflow::similar {

std::vector<std::vector<double>> SyntheticLesions(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::uniform_real_distribution<double> u(0, 1);
  auto clip = [](double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); };
  std::vector<std::vector<double>> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const double kind = u(rng);
    // 85 % nodules (diameter lognormal, median 8 mm), 15 % masses (median 45 mm).
    const bool mass = kind < 0.15;
    const double d = clip(mass ? 45 * std::exp(0.35 * g(rng)) : 8 * std::exp(0.6 * g(rng)), 3, 150);
    // Density class: solid 60 %, part-solid 20 %, ground-glass 20 % (masses: solid 90 %).
    const double c = u(rng);
    const int cls = mass ? (c < 0.9 ? 0 : 1) : (c < 0.6 ? 0 : c < 0.8 ? 1 : 2);
    const double elongation = clip(0.78 + 0.12 * g(rng), 0.25, 1.0);
    const double flatness = clip(elongation * (0.85 + 0.1 * g(rng)), 0.15, elongation);
    // Larger lesions are less spherical (lobulated, spiculated).
    const double sphericity = clip(0.86 - 0.06 * std::log(d / 5) - 0.1 * (1 - elongation) + 0.05 * g(rng), 0.3, 0.98);
    const double solidity = clip(0.95 - 0.4 * (0.9 - sphericity) + 0.03 * g(rng), 0.5, 1.0);
    // An ellipsoid of these axis ratios and diameter d along the major axis.
    const double a = d / 2, volume_ml = 4.0 / 3 * M_PI * a * (a * elongation) * (a * flatness) / 1000 *
                                         std::exp(0.1 * g(rng));
    const double major_axis = 2 * d / std::sqrt(5.0) * std::exp(0.05 * g(rng));
    // Partial volume lowers small nodules' mean density.
    const double pv = 150 * std::exp(-d / 6);
    double mean, sd, skew;
    if (cls == 0) {
      mean = 25 + 35 * g(rng) - pv, sd = clip(110 + 35 * g(rng), 15, 400), skew = -1.4 + 0.6 * g(rng);
    } else if (cls == 1) {
      mean = -260 + 80 * g(rng) - pv, sd = clip(220 + 40 * g(rng), 15, 400), skew = 0.1 * g(rng) - 0.2;
    } else {
      mean = -560 + 70 * g(rng) - pv / 2, sd = clip(110 + 30 * g(rng), 15, 400), skew = 0.8 + 0.5 * g(rng);
    }
    const double p10 = mean - sd * clip(1.28 - 0.25 * skew + 0.1 * g(rng), 0.3, 3.0);
    const double p90 = mean + sd * clip(1.28 + 0.25 * skew + 0.1 * g(rng), 0.3, 3.0);
    std::vector<double> v{std::log(volume_ml), std::log(major_axis), sphericity, elongation, flatness, solidity,
                          mean,                sd,                   skew,       p10,        p90};
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace radflow::similar
