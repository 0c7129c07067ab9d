#include "similar/features.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "imaging/morphology.h"
#include "radiomics/preprocess.h"
#include "radiomics/radiomics.h"

namespace radflow::similar {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kMargin = 2;  // voxels around the mask's bounding box (closed mesh)
// IBSI 2.4: features are computed on isotropic voxels, so that scans of other slice
// thickness and orientation give comparable shapes (1 mm: nodules from 3 mm on).
constexpr double kIsotropicMm = 1.0;

enum Index : size_t {
  kLogVolume, kLogMajorAxis, kSphericity, kElongation, kFlatness, kSolidity,
  kMeanHu, kSdHu, kSkewness, kP10Hu, kP90Hu, kCount
};

// "Mean" (SCT 373098007) as ai/codes.h writes it.
constexpr const char* kMeanCode = "373098007";

double Log(double v) { return v > 0 ? std::log(v) : kNaN; }

}  // namespace

const std::vector<std::string>& FeatureNames() {
  static const std::vector<std::string> names{
      "log_volume_ml", "log_major_axis_mm", "sphericity", "elongation", "flatness", "solidity",
      "mean_hu",       "sd_hu",             "skewness_hu", "p10_hu",    "p90_hu"};
  return names;
}

LesionFacts ParseLesionFacts(double volume_ml, double size_mm, const std::string& details_json) {
  LesionFacts f;
  f.volume_ml = volume_ml;
  f.size_mm = size_mm;
  auto j = nlohmann::json::parse(details_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return f;
  if (auto m = j.find("measurements"); m != j.end() && m->is_array()) {
    for (const auto& x : *m) {
      if (!x.is_object() || !x.contains("value") || !x["value"].is_number()) continue;
      const std::string code = x.value("code", "");
      const std::string name = x.value("name", "");
      if (code == kMeanCode || name == "Mean") f.mean_hu = x["value"].get<double>();
    }
  }
  if (auto s = j.find("segmentation"); s != j.end() && s->is_object()) {
    if (s->contains("sop_uid") && (*s)["sop_uid"].is_string()) f.seg_sop_uid = (*s)["sop_uid"].get<std::string>();
    if (s->contains("segment_number") && (*s)["segment_number"].is_number_integer()) {
      f.segment_number = (*s)["segment_number"].get<int>();
    }
  }
  return f;
}

bool IsLesion(const LesionFacts& facts) {
  return !facts.seg_sop_uid.empty() && facts.segment_number > 0 && facts.size_mm > 0;
}

Result<std::vector<double>> FeaturesFromMask(const imaging::ImageVolume& hu, const imaging::Mask& mask,
                                             const LesionFacts& facts) {
  const auto& g = mask.geometry();
  if (hu.geometry().size != g.size) {
    return Status(ErrorCode::kInvalidArgument, "the mask is not on the CT's grid");
  }
  const auto box = imaging::NonZeroBox(mask);
  if (!box) return Status(ErrorCode::kInvalidArgument, "the lesion's mask is empty");
  const auto& lo = box->lo;
  const auto& hi = box->hi;
  // The crop: the same spacing and direction, the origin moved to its first voxel. Voxels
  // outside the volume (the margin at an edge) are outside the mask and take -1024 HU.
  imaging::Geometry cg = g;
  long first[3];
  for (int a = 0; a < 3; ++a) {
    first[a] = static_cast<long>(lo[a]) - static_cast<long>(kMargin);
    cg.size[a] = hi[a] - lo[a] + 1 + 2 * kMargin;
  }
  cg.origin = g.IndexToPoint(static_cast<double>(first[0]), static_cast<double>(first[1]),
                             static_cast<double>(first[2]));
  imaging::ImageVolume crop_hu(cg, -1024.f);
  imaging::Mask crop_mask(cg, 0);
  for (size_t k = 0; k < cg.size[2]; ++k)
    for (size_t j = 0; j < cg.size[1]; ++j)
      for (size_t i = 0; i < cg.size[0]; ++i) {
        const long x = first[0] + static_cast<long>(i), y = first[1] + static_cast<long>(j),
                   z = first[2] + static_cast<long>(k);
        if (x < 0 || y < 0 || z < 0 || x >= static_cast<long>(g.size[0]) || y >= static_cast<long>(g.size[1]) ||
            z >= static_cast<long>(g.size[2])) {
          continue;
        }
        crop_hu.at(i, j, k) = hu.at(size_t(x), size_t(y), size_t(z));
        crop_mask.at(i, j, k) = mask.at(size_t(x), size_t(y), size_t(z)) != 0 ? 1 : 0;
      }
  // IBSI chain: linear image interpolation (HU rounded), linear ROI interpolation with a
  // partial-volume threshold of 0.5; no re-segmentation, no discretisation.
  radiomics::ChainSettings chain;
  chain.new_spacing = kIsotropicMm;
  auto iso = radiomics::RunChain(crop_hu, crop_mask, chain);
  const imaging::ImageVolume& fhu = iso.ok() ? iso->image : crop_hu;  // a ROI too thin for 1 mm: as is
  const imaging::Mask& fmask = iso.ok() ? iso->morphological : crop_mask;
  std::map<std::string, double> f;
  for (const auto& x : radiomics::Morphology(fhu, fmask)) f[x.tag] = x.value;
  for (const auto& x : radiomics::IntensityStatistics(fhu, fmask)) f[x.tag] = x.value;
  auto get = [&](const char* tag) {
    auto it = f.find(tag);
    return it == f.end() ? kNaN : it->second;
  };
  std::vector<double> v(kCount, kNaN);
  const double mesh_ml = get("morph_volume") / 1000.0;  // mm³ → mL
  v[kLogVolume] = Log(facts.volume_ml > 0 ? facts.volume_ml : mesh_ml);
  v[kLogMajorAxis] = Log(get("morph_pca_maj_axis"));
  v[kSphericity] = get("morph_sphericity");
  v[kElongation] = get("morph_pca_elongation");
  v[kFlatness] = get("morph_pca_flatness");
  v[kSolidity] = get("morph_vol_dens_conv_hull");
  v[kMeanHu] = get("stat_mean");
  const double var = get("stat_var");
  v[kSdHu] = std::isnan(var) ? kNaN : std::sqrt(std::max(0.0, var));
  v[kSkewness] = get("stat_skew");
  v[kP10Hu] = get("stat_p10");
  v[kP90Hu] = get("stat_p90");
  return v;
}

std::vector<double> FeaturesFromMeasurements(const LesionFacts& facts) {
  std::vector<double> v(kCount, kNaN);
  v[kLogVolume] = Log(facts.volume_ml);
  // A sphere of diameter D: variance D²/20 along each axis, IBSI major axis 4·sqrt(λ) = 2D/√5.
  v[kLogMajorAxis] = Log(facts.size_mm * 2 / std::sqrt(5.0));
  if (facts.mean_hu) v[kMeanHu] = *facts.mean_hu;
  return v;
}

}  // namespace radflow::similar
