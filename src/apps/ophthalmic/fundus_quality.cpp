// fundus-quality: reads the OP photograph, analyses it (fundus_analysis.cpp), writes its own
// SEG (vessels, disc) and a TID 1500 SR of the findings into AppInput::out_dir, and returns
// both in AppOutput::objects (docs/apps/fundus-quality.md).
#include "apps/ophthalmic/fundus_quality.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "ai/codes.h"
#include "ai/manifest.h"
#include "ai/results/results.h"
#include "apps/ophthalmic/fundus_analysis.h"
#include "apps/ophthalmic/fundus_codes.h"
#include "apps/ophthalmic/fundus_dicom.h"

namespace radflow::apps::ophthalmic {
namespace {

constexpr int kSeriesNumber = 9000;  // as the engine numbers result series (ai/results)

std::string Format(const char* fmt, double a, double b = 0, double c = 0) {
  char text[256];
  std::snprintf(text, sizeof text, fmt, a, b, c);
  return text;
}

const ai::Code& CheckCode(const std::string& name) {
  if (name == "illumination") return codes::kLuminance;
  if (name == "uniformity") return codes::kUniformity;
  if (name == "noise") return codes::kNoise;
  return codes::kFocus;
}

std::vector<ai::Finding> Findings(const FundusAnalysis& a, double spacing_mm) {
  using ai::codes::kNoUnit;
  using ai::codes::kPercent;
  std::vector<ai::Finding> out;
  ai::Finding g;
  g.type = codes::kGradability;
  g.label = a.gradable ? Format("gradable (score %.2f)", a.score)
                       : "ungradable: " + a.reason + Format(" (score %.2f)", a.score);
  g.score = a.score;
  g.severity = a.gradable ? "info" : "moderate";
  g.measurements.push_back({codes::kScore, a.score, kNoUnit});
  for (const auto& c : a.checks) {
    if (c.name != "field") g.measurements.push_back({CheckCode(c.name), c.value, kNoUnit});
  }
  g.measurements.push_back({codes::kFieldOfView, 100 * a.fov_fraction, kPercent});
  out.push_back(g);

  ai::Finding v;
  v.type = codes::kRetinalVessels;
  v.label = Format("retinal vessels %.1f %% of the field of view", 100 * a.vessel_density);
  v.segment_number = 1;
  v.score = a.score;
  v.measurements.push_back({codes::kVesselDensity, 100 * a.vessel_density, kPercent});
  out.push_back(v);

  if (a.disc_found) {
    ai::Finding d;
    d.type = codes::kOpticDisc;
    d.label = spacing_mm > 0
                  ? Format("optic disc %.0f px (%.2f mm)", a.disc_diameter_px, a.disc_diameter_px * spacing_mm)
                  : Format("optic disc %.0f px", a.disc_diameter_px);
    d.segment_number = 2;
    d.score = std::min(1.0, a.disc_contrast);
    d.measurements.push_back({codes::kCentreColumn, a.disc_x, codes::kPixels});
    d.measurements.push_back({codes::kCentreRow, a.disc_y, codes::kPixels});
    d.measurements.push_back({codes::kDiameterPixels, a.disc_diameter_px, codes::kPixels});
    if (spacing_mm > 0) d.measurements.push_back({codes::kDiameter, a.disc_diameter_px * spacing_mm, ai::codes::kMm});
    d.measurements.push_back({codes::kDiscContrast, a.disc_contrast, kNoUnit});
    out.push_back(d);
  }
  if (a.macula_found) {
    ai::Finding m;
    m.type = codes::kMacula;
    m.label = Format("macula at column %.0f, row %.0f", a.macula_x, a.macula_y);
    m.score = std::min(1.0, a.macula_contrast);
    m.measurements.push_back({codes::kCentreColumn, a.macula_x, codes::kPixels});
    m.measurements.push_back({codes::kCentreRow, a.macula_y, codes::kPixels});
    out.push_back(m);
  }
  return out;
}

}  // namespace

Result<ai::AppOutput> RunFundusQuality(const ai::AppInput& input) {
  if (input.out_dir.empty()) {
    return Status(ErrorCode::kInvalidArgument, "fundus-quality writes its own objects: AppInput::out_dir is not set");
  }
  auto photo = ReadOphthalmicPhoto(input.files);
  if (!photo.ok()) return photo.status();
  auto analysis = AnalyzeFundus(photo->image);
  if (!analysis.ok()) return Status(analysis.status().code(), photo->path + ": " + analysis.status().message());

  ai::Algorithm algorithm{"fundus-quality", "Fundus quality", "1.0", "radflow"};
  if (input.manifest) {
    if (!input.manifest->id.empty()) algorithm.id = input.manifest->id;
    if (!input.manifest->name.empty()) algorithm.name = input.manifest->name;
    if (!input.manifest->version.empty()) algorithm.version = input.manifest->version;
    if (!input.manifest->vendor.empty()) algorithm.manufacturer = input.manifest->vendor;
  }
  std::error_code ec;
  std::filesystem::create_directories(input.out_dir, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot create " + input.out_dir + ": " + ec.message());

  auto seg = WriteFundusSegmentation(*analysis, *photo, algorithm, input.out_dir + "/fundus-seg.dcm", kSeriesNumber);
  if (!seg.ok()) return seg.status();
  ai::AppOutput out;
  out.findings = Findings(*analysis, photo->image.pixel_spacing_mm);
  auto sr = ai::WriteMeasurementReport(out.findings, ai::SourceSeries{{photo->path}}, algorithm, &*seg,
                                       input.out_dir + "/fundus-sr.dcm", kSeriesNumber + 1);
  if (!sr.ok()) return sr.status();
  out.objects.push_back({seg->path, "seg"});
  out.objects.push_back({sr->path, "sr"});
  out.summary = (analysis->gradable ? Format("gradable (score %.2f)", analysis->score)
                                    : "ungradable: " + analysis->reason) +
                (analysis->disc_found ? Format("; optic disc %.0f px", analysis->disc_diameter_px)
                                      : std::string("; no optic disc")) +
                Format("; vessels %.1f %% of the field", 100 * analysis->vessel_density);
  return out;
}

}  // namespace radflow::apps::ophthalmic
