#include "research/ibsi_features.h"

#include <algorithm>
#include <limits>

namespace radflow::research {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// similar/features.cpp's vector order for feature set "v1".
enum V1 : size_t {
  kLogVolume, kLogMajorAxis, kSphericity, kElongation, kFlatness, kSolidity,
  kMeanHu, kSdHu, kSkewness, kP10Hu, kP90Hu, kV1Count
};
}  // namespace

const std::vector<std::string>& IbsiFeatureNames() {
  static const std::vector<std::string> names{
      "morph_volume", "morph_pca_maj_axis", "morph_sphericity", "morph_pca_elongation", "morph_pca_flatness",
      "morph_vol_dens_conv_hull", "stat_mean", "stat_var", "stat_skew", "stat_p10", "stat_p90"};
  return names;
}

bool IsIbsiFeature(const std::string& name) {
  const auto& n = IbsiFeatureNames();
  return std::find(n.begin(), n.end(), name) != n.end();
}

std::vector<double> IbsiFromCached(const std::string& feature_set, const std::vector<double>& v) {
  if (feature_set != "v1" || v.size() != kV1Count) return {};
  auto exp_or_nan = [](double x) { return std::isnan(x) ? kNaN : std::exp(x); };
  return {
      exp_or_nan(v[kLogVolume]) * 1000.0,  // mL → mm³ (IBSI morph_volume is in mm³)
      exp_or_nan(v[kLogMajorAxis]),
      v[kSphericity],
      v[kElongation],
      v[kFlatness],
      v[kSolidity],
      v[kMeanHu],
      std::isnan(v[kSdHu]) ? kNaN : v[kSdHu] * v[kSdHu],  // the vector keeps sqrt(stat_var)
      v[kSkewness],
      v[kP10Hu],
      v[kP90Hu],
  };
}

}  // namespace radflow::research
