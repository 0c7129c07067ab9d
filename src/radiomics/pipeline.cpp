#include "radiomics/pipeline.h"

#include "radiomics/autocorrelation.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace radflow::radiomics {

namespace {

// The most grey levels a volume without discretisation may hold (a co-occurrence matrix of
// 4096 x 4096 doubles is 128 MiB).
constexpr int kMaxGreyLevels = 4096;

// IBSI 3.5 on the intensities of the intensity mask, with the histogram's own
// discretisation; the intensity fraction runs over the re-segmentation range when there is
// one, else over the ROI's range.
std::vector<Feature> VolumeHistogram(const ChainResult& c, const ChainSettings& s) {
  const auto& px = c.image.data();
  const auto& m = c.intensity.data();
  double lo = s.resegment_range ? s.resegment_range->first : c.resegmented_roi.min;
  double hi = s.resegment_range ? s.resegment_range->second : c.resegmented_roi.max;
  double step = 1, first = lo;
  std::vector<double> v;
  for (size_t i = 0; i < px.size(); ++i) {
    if (!m[i]) continue;
    const double x = px[i];
    switch (s.ivh_discretisation) {
      case Discretisation::kNone:
        v.push_back(std::round(x));
        break;
      case Discretisation::kFixedBinSize: {
        const double w = s.ivh_bin_width;
        v.push_back(lo + (std::floor((x - lo) / w) + 1 - 0.5) * w);  // the bin's centre
        break;
      }
      case Discretisation::kFixedBinNumber: {
        const double a = c.resegmented_roi.min, b = c.resegmented_roi.max;
        const double n = s.ivh_bin_number;
        v.push_back(b > a ? std::min(n, std::floor(n * (x - a) / (b - a)) + 1) : 1);
        break;
      }
    }
  }
  if (s.ivh_discretisation == Discretisation::kFixedBinSize) {
    step = s.ivh_bin_width;
    first = lo + step / 2;
  } else if (s.ivh_discretisation == Discretisation::kFixedBinNumber) {
    lo = first = 1;
    hi = s.ivh_bin_number;
  }
  return IntensityVolumeHistogram(std::move(v), IvhLevels{first, step, lo, hi});
}

// IBSI 3.1: shape from the morphological mask, intensity-weighted quantities from the
// intensity mask (integrated intensity, centre-of-mass shift, Moran's I, Geary's C).
void FixIntensityMorphology(const ChainResult& c, std::vector<Feature>& morph, double mean) {
  const auto& g = c.image.geometry();
  const auto& s = g.size;
  imaging::Vec3 geo{0, 0, 0}, weighted{0, 0, 0};
  double n = 0, w = 0;
  for (size_t k = 0; k < s[2]; ++k) {
    for (size_t j = 0; j < s[1]; ++j) {
      for (size_t i = 0; i < s[0]; ++i) {
        const auto p = g.IndexToPoint(double(i), double(j), double(k));
        if (c.morphological.at(i, j, k)) {
          for (int a = 0; a < 3; ++a) geo[a] += p[a];
          n += 1;
        }
        if (c.intensity.at(i, j, k)) {
          const double v = c.image.at(i, j, k);
          for (int a = 0; a < 3; ++a) weighted[a] += v * p[a];
          w += v;
        }
      }
    }
  }
  double volume = 0;
  for (const auto& f : morph) {
    if (f.tag == "morph_volume") volume = f.value;
  }
  for (auto& f : morph) {
    if (f.tag == "morph_integ_int") f.value = volume * mean;
    if (f.tag == "morph_com" && n > 0 && w != 0) {
      double d2 = 0;
      for (int a = 0; a < 3; ++a) {
        const double diff = geo[a] / n - weighted[a] / w;
        d2 += diff * diff;
      }
      f.value = std::sqrt(d2);
    }
  }
  // Computed once, on the intensity mask (Morphology was asked to leave them out); where that
  // mask has too few voxels or no variance, on the morphological mask.
  auto autocorrelation = MoranGeary(c.image, c.intensity);
  if (!autocorrelation) autocorrelation = MoranGeary(c.image, c.morphological);
  if (autocorrelation) {
    morph.push_back({"morph_moran_i", autocorrelation->first});
    morph.push_back({"morph_geary_c", autocorrelation->second});
  }
}

}  // namespace

Result<Extraction> ExtractFeatures(const imaging::ImageVolume& image, const imaging::Mask& mask,
                                   const ChainSettings& chain, const Settings& settings) {
  auto r = RunChain(image, mask, chain);
  if (!r.ok()) return r.status();
  Extraction out;
  out.chain = std::move(r.value());
  const auto& c = out.chain;
  if (chain.discretisation == Discretisation::kNone) {
    // Without discretisation the intensities are the grey levels (the IBSI digital phantom):
    // the texture matrices need whole numbers from 1 up, and their size grows with the square
    // of the highest level.
    const double lo = c.resegmented_roi.min, hi = c.resegmented_roi.max;
    bool whole = true;
    for (size_t i = 0; i < c.intensity.data().size() && whole; ++i) {
      if (c.intensity.data()[i]) whole = c.image.data()[i] == std::round(c.image.data()[i]);
    }
    if (!whole || lo < 1 || hi > kMaxGreyLevels) {
      char why[320];
      std::snprintf(why, sizeof why,
                    "without discretisation the ROI's intensities are its grey levels and must be whole numbers "
                    "from 1 to %d, but they run from %g to %g%s: choose a discretisation (fbs or fbn) or an IBSI "
                    "CT configuration",
                    kMaxGreyLevels, lo, hi, whole ? "" : " and are not all whole");
      return Status(ErrorCode::kInvalidArgument, why);
    }
  }
  auto append = [&](std::vector<Feature> f) {
    out.features.insert(out.features.end(), f.begin(), f.end());
  };
  auto stats = IntensityStatistics(c.image, c.intensity);
  double mean = 0;
  for (const auto& f : stats) {
    if (f.tag == "stat_mean") mean = f.value;
  }
  auto morph = Morphology(c.image, c.morphological, /*autocorrelation=*/false);
  FixIntensityMorphology(c, morph, mean);
  append(std::move(morph));
  append(LocalIntensity(c.image, c.intensity));
  append(std::move(stats));
  append(IntensityHistogram(c.discretised, c.intensity));
  append(VolumeHistogram(c, chain));
  append(Glcm(c.discretised, c.intensity, settings));
  append(Glrlm(c.discretised, c.intensity));
  append(Glszm(c.discretised, c.intensity));
  append(Gldzm(c.discretised, c.intensity, &c.morphological));
  append(Ngtdm(c.discretised, c.intensity, settings));
  append(Ngldm(c.discretised, c.intensity, settings));
  return out;
}

std::vector<Feature> IbsiDiagnostics(const ChainResult& c) {
  std::vector<Feature> out;
  const char* axes[3] = {"x", "y", "z"};
  auto image = [&](const ImageDiagnostics& d, const std::string& suffix) {
    for (int a = 0; a < 3; ++a) out.push_back({std::string("img_dim_") + axes[a] + suffix, double(d.dim[a])});
    for (int a = 0; a < 3; ++a) out.push_back({std::string("vox_dim_") + axes[a] + suffix, d.spacing[a]});
    out.push_back({"mean_int" + suffix, d.mean});
    out.push_back({"min_int" + suffix, d.min});
    out.push_back({"max_int" + suffix, d.max});
  };
  // `in`: the intensity mask; `morph`: the morphological mask at that step.
  auto roi = [&](const MaskDiagnostics& in, const MaskDiagnostics& morph, const std::string& suffix) {
    for (int a = 0; a < 3; ++a) out.push_back({std::string("int_mask_dim_") + axes[a] + suffix, double(in.dim[a])});
    for (int a = 0; a < 3; ++a) {
      out.push_back({std::string("int_mask_bb_dim_") + axes[a] + suffix, double(in.bounding_box[a])});
    }
    for (int a = 0; a < 3; ++a) {
      out.push_back({std::string("morph_mask_bb_dim_") + axes[a] + suffix, double(morph.bounding_box[a])});
    }
    out.push_back({"int_mask_vox_count" + suffix, double(in.voxels)});
    out.push_back({"morph_mask_vox_count" + suffix, double(morph.voxels)});
    out.push_back({"int_mask_mean_int" + suffix, in.mean});
    out.push_back({"int_mask_min_int" + suffix, in.min});
    out.push_back({"int_mask_max_int" + suffix, in.max});
  };
  image(c.initial_image, "_init_img");
  image(c.interpolated_image, "_interp_img");
  roi(c.initial_roi, c.initial_roi, "_init_roi");
  roi(c.interpolated_roi, c.interpolated_roi, "_interp_roi");
  roi(c.resegmented_roi, c.interpolated_roi, "_reseg_roi");
  return out;
}

Result<ChainSettings> ChainSettingsFromJson(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInvalidArgument, std::string("configuration is not JSON: ") + e.what());
  }
  if (!j.is_object()) return Status(ErrorCode::kInvalidArgument, "configuration must be a JSON object");
  ChainSettings s;
  auto interpolation = [](const std::string& v, imaging::Interpolation* out) {
    if (v == "linear") *out = imaging::Interpolation::kLinear;
    else if (v == "cubic") *out = imaging::Interpolation::kCubicBSpline;
    else if (v == "nearest") *out = imaging::Interpolation::kNearest;
    else return false;
    return true;
  };
  try {
    for (const auto& [key, value] : j.items()) {
      if (key == "two_d") s.two_d = value.get<bool>();
      else if (key == "new_spacing") s.new_spacing = value.get<double>();
      else if (key == "image_interpolation" || key == "roi_interpolation") {
        if (!interpolation(value.get<std::string>(),
                           key == "image_interpolation" ? &s.image_interpolation : &s.roi_interpolation)) {
          return Status(ErrorCode::kInvalidArgument, key + " must be linear, cubic or nearest");
        }
      } else if (key == "partial_volume_threshold") s.partial_volume_threshold = value.get<double>();
      else if (key == "round_intensities") s.round_intensities = value.get<bool>();
      else if (key == "resegment_range") {
        auto v = value.get<std::vector<double>>();
        if (v.size() != 2 || v[0] > v[1]) return Status(ErrorCode::kInvalidArgument, "resegment_range must be [low, high]");
        s.resegment_range = std::make_pair(v[0], v[1]);
      } else if (key == "resegment_outliers") s.resegment_outliers = value.get<bool>();
      else if (key == "discretisation") {
        auto v = value.get<std::string>();
        if (v == "fbs") s.discretisation = Discretisation::kFixedBinSize;
        else if (v == "fbn") s.discretisation = Discretisation::kFixedBinNumber;
        else if (v == "none") s.discretisation = Discretisation::kNone;
        else return Status(ErrorCode::kInvalidArgument, "discretisation must be fbs, fbn or none");
      } else if (key == "bin_width") s.bin_width = value.get<double>();
      else if (key == "bin_number") s.bin_number = value.get<int>();
      else return Status(ErrorCode::kInvalidArgument, "unknown configuration key '" + key + "'");
    }
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInvalidArgument, std::string("configuration value of the wrong type: ") + e.what());
  }
  if (s.discretisation == Discretisation::kFixedBinSize && !s.resegment_range) {
    return Status(ErrorCode::kInvalidArgument, "fixed bin size needs resegment_range (its lower bound starts the bins)");
  }
  if (s.bin_width <= 0 || s.bin_number < 1) return Status(ErrorCode::kInvalidArgument, "bin_width and bin_number must be positive");
  return s;
}

}  // namespace radflow::radiomics
