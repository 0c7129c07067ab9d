#include "radiomics/pipeline.h"

#include <nlohmann/json.hpp>

namespace radflow::radiomics {

Result<Extraction> ExtractFeatures(const imaging::ImageVolume& image, const imaging::Mask& mask,
                                   const ChainSettings& chain, const Settings& settings) {
  auto r = RunChain(image, mask, chain);
  if (!r.ok()) return r.status();
  Extraction out;
  out.chain = std::move(r.value());
  const auto& c = out.chain;
  auto append = [&](std::vector<Feature> f) {
    out.features.insert(out.features.end(), f.begin(), f.end());
  };
  append(Morphology(c.image, c.morphological));
  append(LocalIntensity(c.image, c.intensity));
  append(IntensityStatistics(c.image, c.intensity));
  append(IntensityHistogram(c.discretised, c.intensity));
  append(IntensityVolumeHistogram(c.discretised, c.intensity));
  append(Glcm(c.discretised, c.intensity, settings));
  append(Glrlm(c.discretised, c.intensity));
  append(Glszm(c.discretised, c.intensity));
  append(Gldzm(c.discretised, c.intensity));
  append(Ngtdm(c.discretised, c.intensity, settings));
  append(Ngldm(c.discretised, c.intensity, settings));
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
