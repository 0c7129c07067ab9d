#include "radiomics/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace radflow::radiomics {

using imaging::Geometry;
using imaging::ImageVolume;
using imaging::Interpolation;
using imaging::Mask;

Result<ChainSettings> IbsiConfiguration(std::string_view name) {
  ChainSettings s;
  if (name == "phantom") {
    // Grey levels 1..6 already: the ROI as given, the grey levels as bins, and the
    // intensity-volume histogram on them in steps of 1 (IBSI 3.5).
    s.round_intensities = false;
    s.discretisation = Discretisation::kNone;
    s.ivh_discretisation = Discretisation::kNone;
    return s;
  }
  if (name.size() == 1 && name[0] >= 'A' && name[0] <= 'E') s.ct_configuration = std::string(name);
  switch (name.size() == 1 ? name[0] : '\0') {
    case 'A':
      s.two_d = true;
      s.resegment_range = {-500, 400};
      s.discretisation = Discretisation::kFixedBinSize;
      s.bin_width = 25;
      return s;
    case 'B':
      s.two_d = true;
      s.new_spacing = 2;
      s.resegment_range = {-500, 400};
      s.discretisation = Discretisation::kFixedBinNumber;
      return s;
    case 'C':
      s.new_spacing = 2;
      s.resegment_range = {-1000, 400};
      s.discretisation = Discretisation::kFixedBinSize;
      s.bin_width = 25;
      s.ivh_discretisation = Discretisation::kFixedBinSize;
      s.ivh_bin_width = 2.5;
      return s;
    case 'D':
      s.new_spacing = 2;
      s.resegment_outliers = true;
      s.discretisation = Discretisation::kFixedBinNumber;
      return s;
    case 'E':
      s.new_spacing = 2;
      s.image_interpolation = Interpolation::kCubicBSpline;
      s.resegment_range = {-1000, 400};
      s.resegment_outliers = true;
      s.discretisation = Discretisation::kFixedBinNumber;
      s.ivh_discretisation = Discretisation::kFixedBinNumber;
      s.ivh_bin_number = 1000;
      return s;
  }
  return Status(ErrorCode::kInvalidArgument,
                "no IBSI configuration '" + std::string(name) + "' (A-E, or phantom)");
}

Geometry InterpolationGrid(const Geometry& g, double new_spacing, bool two_d) {
  Geometry out = g;
  for (int a = 0; a < 3; ++a) {
    if (two_d && a == 2) continue;
    const double n = double(g.size[a]);
    const size_t n_new = size_t(std::ceil(n * g.spacing[a] / new_spacing - 1e-9));
    // Aligned grid centres: the new grid's centre is the old one's (IBSI 2.4).
    const double shift = (g.spacing[a] * (n - 1) - new_spacing * double(n_new - 1)) / 2;
    for (int r = 0; r < 3; ++r) out.origin[r] += shift * g.direction[a][r];
    out.size[a] = n_new;
    out.spacing[a] = new_spacing;
  }
  return out;
}

MaskDiagnostics Diagnose(const ImageVolume& image, const Mask& mask) {
  MaskDiagnostics d;
  const auto& s = mask.geometry().size;
  for (int a = 0; a < 3; ++a) d.dim[a] = s[a];
  size_t lo[3] = {s[0], s[1], s[2]}, hi[3] = {0, 0, 0};
  double sum = 0;
  d.min = std::numeric_limits<double>::infinity();
  d.max = -d.min;
  for (size_t k = 0; k < s[2]; ++k) {
    for (size_t j = 0; j < s[1]; ++j) {
      for (size_t i = 0; i < s[0]; ++i) {
        if (!mask.at(i, j, k)) continue;
        const size_t idx[3] = {i, j, k};
        for (int a = 0; a < 3; ++a) {
          lo[a] = std::min(lo[a], idx[a]);
          hi[a] = std::max(hi[a], idx[a]);
        }
        const double v = image.at(i, j, k);
        sum += v;
        d.min = std::min(d.min, v);
        d.max = std::max(d.max, v);
        ++d.voxels;
      }
    }
  }
  if (d.voxels == 0) return MaskDiagnostics{{s[0], s[1], s[2]}, {0, 0, 0}, 0, 0, 0, 0};
  for (int a = 0; a < 3; ++a) d.bounding_box[a] = hi[a] - lo[a] + 1;
  d.mean = sum / double(d.voxels);
  return d;
}

ImageDiagnostics DiagnoseImage(const ImageVolume& image) {
  ImageDiagnostics d;
  const auto& g = image.geometry();
  for (int a = 0; a < 3; ++a) {
    d.dim[a] = g.size[a];
    d.spacing[a] = g.spacing[a];
  }
  double sum = 0;
  size_t n = 0;
  d.min = std::numeric_limits<double>::infinity();
  d.max = -d.min;
  for (const float v : image.data()) {
    if (!std::isfinite(v)) {
      ++d.non_finite;
      continue;
    }
    sum += v;
    ++n;
    d.min = std::min<double>(d.min, v);
    d.max = std::max<double>(d.max, v);
  }
  if (n == 0) return ImageDiagnostics{{d.dim[0], d.dim[1], d.dim[2]}, {d.spacing[0], d.spacing[1], d.spacing[2]}, 0, 0, 0, d.non_finite};
  d.mean = sum / double(n);
  return d;
}

Status CheckCtIntensities(const ImageDiagnostics& image, const std::string& configuration) {
  if (image.min <= -100 && image.min >= -32768 && image.max <= 32767) return Status::Ok();
  char range[96];
  std::snprintf(range, sizeof range, "%g to %g", image.min, image.max);
  return Status(ErrorCode::kInvalidArgument,
                "configuration " + configuration + " is an IBSI CT configuration, but the image's intensities run " +
                    "from " + range + ": a CT has some voxel <= -100 HU (air, lung or fat) and all within " +
                    "[-32768, 32767]; use --config phantom (the IBSI digital phantom) or a JSON configuration file");
}

Result<ChainResult> RunChain(const ImageVolume& image, const Mask& mask, const ChainSettings& s) {
  if (!image.geometry().SameGrid(mask.geometry(), 1e-3)) {
    return Status(ErrorCode::kInvalidArgument, "the mask is not on the image grid");
  }
  ChainResult r;
  r.initial_image = DiagnoseImage(image);
  if (image.data().empty()) return Status(ErrorCode::kInvalidArgument, "the image has no voxels");
  if (r.initial_image.non_finite > 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "the image holds " + std::to_string(r.initial_image.non_finite) +
                      " voxels that are NaN or infinite; radiomics needs a number in every voxel");
  }
  if (!s.ct_configuration.empty()) {
    if (Status st = CheckCtIntensities(r.initial_image, s.ct_configuration); !st.ok()) return st;
  }
  r.initial_roi = Diagnose(image, mask);
  if (s.new_spacing) {
    if (*s.new_spacing <= 0) return Status(ErrorCode::kInvalidArgument, "interpolation spacing must be > 0");
    const Geometry grid = InterpolationGrid(image.geometry(), *s.new_spacing, s.two_d);
    r.image = imaging::Resample(image, grid, s.image_interpolation, 0, /*extend_edges=*/true);
    if (s.round_intensities) {
      for (float& v : r.image.data()) v = std::round(v);
    }
    ImageVolume roi(mask.geometry());
    for (size_t i = 0; i < mask.data().size(); ++i) roi.data()[i] = mask.data()[i] ? 1.f : 0.f;
    ImageVolume roi_i = imaging::Resample(roi, grid, s.roi_interpolation, 0, /*extend_edges=*/true);
    r.morphological = Mask(grid);
    for (size_t i = 0; i < roi_i.data().size(); ++i) {
      r.morphological.data()[i] = roi_i.data()[i] >= s.partial_volume_threshold ? 1 : 0;
    }
  } else {
    r.image = image;
    r.morphological = mask;
    for (auto& m : r.morphological.data()) m = m ? 1 : 0;
  }
  r.interpolated_grid = r.image.geometry();
  r.interpolated_image = DiagnoseImage(r.image);
  r.interpolated_roi = Diagnose(r.image, r.morphological);
  if (r.interpolated_roi.voxels == 0) {
    if (r.initial_roi.voxels == 0 || !s.new_spacing) return Status(ErrorCode::kInvalidArgument, "the ROI is empty");
    char why[160];
    std::snprintf(why, sizeof why,
                  "the ROI is empty after interpolation to %g mm (IBSI partial-volume threshold %g): it holds %zu "
                  "voxels before",
                  *s.new_spacing, s.partial_volume_threshold, r.initial_roi.voxels);
    return Status(ErrorCode::kInvalidArgument, why);
  }

  // Re-segmentation (IBSI 2.5): the range first, then outliers beyond mean ± 3 SD.
  r.intensity = r.morphological;
  auto& im = r.intensity.data();
  const auto& px = r.image.data();
  if (s.resegment_range) {
    for (size_t i = 0; i < im.size(); ++i) {
      if (im[i] && (px[i] < s.resegment_range->first || px[i] > s.resegment_range->second)) im[i] = 0;
    }
  }
  if (s.resegment_outliers) {
    double sum = 0, sum2 = 0;
    size_t n = 0;
    for (size_t i = 0; i < im.size(); ++i) {
      if (!im[i]) continue;
      sum += px[i];
      sum2 += double(px[i]) * px[i];
      ++n;
    }
    if (n > 0) {
      const double mean = sum / double(n);
      const double sd = std::sqrt(std::max(0.0, sum2 / double(n) - mean * mean));
      for (size_t i = 0; i < im.size(); ++i) {
        if (im[i] && std::abs(px[i] - mean) > 3 * sd) im[i] = 0;
      }
    }
  }
  r.resegmented_roi = Diagnose(r.image, r.intensity);
  if (r.resegmented_roi.voxels == 0) return Status(ErrorCode::kInvalidArgument, "the ROI is empty after re-segmentation");

  // Discretisation (IBSI 2.7).
  r.discretised = ImageVolume(r.image.geometry(), 0);
  auto& bins = r.discretised.data();
  switch (s.discretisation) {
    case Discretisation::kNone:
      for (size_t i = 0; i < im.size(); ++i) if (im[i]) bins[i] = px[i];
      break;
    case Discretisation::kFixedBinSize: {
      const double lo = s.resegment_range ? s.resegment_range->first : r.resegmented_roi.min;
      for (size_t i = 0; i < im.size(); ++i) {
        if (im[i]) bins[i] = float(std::floor((px[i] - lo) / s.bin_width) + 1);
      }
      break;
    }
    case Discretisation::kFixedBinNumber: {
      const double lo = r.resegmented_roi.min, hi = r.resegmented_roi.max;
      for (size_t i = 0; i < im.size(); ++i) {
        if (!im[i]) continue;
        double b = hi > lo ? std::floor(s.bin_number * (px[i] - lo) / (hi - lo)) + 1 : 1;
        bins[i] = float(std::min<double>(b, s.bin_number));
      }
      break;
    }
  }
  return r;
}

}  // namespace radflow::radiomics
