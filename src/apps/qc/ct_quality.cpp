// ct-quality: acquisition quality assurance of a CT series, one finding per check. The
// checks are pure functions (noise.cpp, body.cpp, metal.cpp) plus the loader's report of the
// slice stack; this file grades them. Codes without a standard equivalent use the local
// scheme 99RADFLOW (PS3.3 8.2: private coding schemes begin with "99"); docs/apps/ct-quality.md.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <string>
#include <vector>

#include "ai/codes.h"
#include "apps/qc/qc_apps.h"

namespace radflow::apps::qc {
namespace {

using namespace ai::codes;  // the shared codes (ai/codes.h)
const ai::Code kSlices{"{slices}", "UCUM", "slices"};

ai::Code Local(const char* value, const char* meaning) { return {value, "99RADFLOW", meaning}; }

double Score(const std::string& severity) {
  if (severity == "low") return 0.25;
  if (severity == "moderate") return 0.5;
  if (severity == "high") return 0.75;
  return 0;
}

std::string Format(const char* fmt, double a, double b = 0, double c = 0) {
  char text[256];
  std::snprintf(text, sizeof text, fmt, a, b, c);
  return text;
}

ai::Finding MakeFinding(ai::Code type, std::string label, std::string severity) {
  ai::Finding f;
  f.type = std::move(type);
  f.label = std::move(label);
  f.score = Score(severity);
  f.severity = std::move(severity);
  return f;
}

// Noise: a sharp (lung/bone) kernel legitimately doubles the SD, so only very high noise
// is graded above "low".
ai::Finding NoiseFinding(const NoiseEstimate& n) {
  if (n.voxels == 0) {
    return MakeFinding(Local("RFQC001", "Image noise"), "noise not measurable (no homogeneous soft tissue)", "info");
  }
  const char* severity = n.sd_hu < 40 ? "info" : n.sd_hu < 80 ? "low" : n.sd_hu < 150 ? "moderate" : "high";
  auto f = MakeFinding(Local("RFQC001", "Image noise"),
                       Format("noise SD %.1f HU in homogeneous soft tissue (mean %.0f HU)", n.sd_hu, n.mean_hu),
                       severity);
  f.measurements.push_back({Local("RFQC101", "Noise standard deviation in homogeneous soft tissue"), n.sd_hu, kHu});
  f.measurements.push_back({Local("RFQC102", "Mean CT number of homogeneous soft tissue"), n.mean_hu, kHu});
  return f;
}

// The loader counts every gap > 1.5 × median as skipped slices, a thicker second section
// included. Here a spacing shared by >= 3 gaps is a section of its own (a protocol choice,
// e.g. 4 mm through the skull base, 7 mm above); only rarer large gaps are missing slices.
ai::Finding SpacingFinding(const imaging::SeriesReport& r) {
  constexpr size_t kSectionGaps = 3;
  const double ratio = r.min_spacing > 0 ? r.max_spacing / r.min_spacing : 1;
  size_t missing = 0;
  std::vector<const imaging::SpacingCount*> sections;
  for (const auto& sc : r.spacings) {
    if (sc.gaps >= kSectionGaps) {
      sections.push_back(&sc);
    } else if (r.median_spacing > 0 && sc.mm > 1.5 * r.median_spacing) {
      missing += sc.gaps * size_t(std::max(0.0, std::round(sc.mm / r.median_spacing) - 1));
    }
  }
  if (r.spacings.empty()) missing = r.missing_slices;  // no breakdown: the loader's count
  const double missing_fraction = r.slice_count ? double(missing) / double(r.slice_count) : 0;
  double section_ratio = 1;
  if (sections.size() >= 2) {
    auto [lo, hi] = std::minmax_element(sections.begin(), sections.end(),
                                        [](auto* a, auto* b) { return a->mm < b->mm; });
    section_ratio = (*hi)->mm / std::max((*lo)->mm, 1e-6);
  }
  std::string severity = "info";
  if (missing > 0) severity = missing_fraction > 0.1 ? "high" : "moderate";
  else if (sections.size() >= 2) severity = section_ratio >= 1.5 ? "moderate" : "low";
  else if (r.nonuniform_spacing) severity = "low";
  std::string label;
  if (severity == "info") {
    label = Format("regular slice spacing %.2f mm", r.median_spacing);
  } else {
    label = Format("irregular slice spacing %.2f–%.2f mm", r.min_spacing, r.max_spacing);
    if (sections.size() >= 2) {
      label += ": sections of";
      for (const auto* sc : sections) label += Format(" %.2f mm × %.0f gaps,", sc->mm, double(sc->gaps));
      label.pop_back();
    }
    if (missing) label += Format(", %.0f slice(s) missing", double(missing));
    if (r.resampled) label += Format(", resampled to %.2f mm", r.median_spacing);
  }
  auto f = MakeFinding(Local("RFQC002", "Slice spacing irregularity"), label, severity);
  f.measurements.push_back({Local("RFQC103", "Missing slices"), double(missing), kSlices});
  f.measurements.push_back({Local("RFQC104", "Ratio of largest to smallest slice spacing"), ratio, kNoUnit});
  return f;
}

// Tilt from the geometry (the loader's measure) or GantryDetectorTilt (0018,1120).
ai::Finding TiltFinding(const ai::AppInput& in) {
  double tilt = std::abs(in.report.gantry_tilt_degrees);
  if (auto it = in.attributes.find("GantryDetectorTilt"); it != in.attributes.end()) {
    tilt = std::max(tilt, std::abs(std::strtod(it->second.c_str(), nullptr)));
  }
  const char* severity = tilt < 0.5 ? "info" : tilt <= 15 ? "low" : "moderate";
  std::string label = tilt < 0.5 ? std::string("no gantry tilt") : Format("gantry tilt %.1f°", tilt);
  if (tilt >= 0.5 && in.report.resampled) label += ", corrected by resampling";
  auto f = MakeFinding(Local("RFQC003", "Gantry tilt"), label, severity);
  f.measurements.push_back({Local("RFQC105", "Gantry tilt angle"), tilt, kDegree});
  return f;
}

ai::Finding TruncationFinding(const TruncationEstimate& t, const imaging::Geometry& g) {
  const double pct = 100 * t.fraction();
  std::string severity = pct == 0 ? "info" : pct < 10 ? "low" : pct < 50 ? "moderate" : "high";
  std::string label = Format("body cut by the field of view on %.0f%% of slices (longest contact %.0f mm)",
                             pct, t.max_contact_mm);
  if (pct == 0) label = "body within the field of view";
  // A crop after reconstruction (research exports, regions of interest) cuts the body at
  // the image border without any truncation artefact: reported, but not graded above low.
  if (t.cropped_matrix && pct > 0) {
    severity = "low";
    label = Format("image matrix %.0f×%.0f looks cropped: body cut by the image border on %.0f%% of slices "
                   "(crop, not necessarily acquisition truncation)", double(g.size[0]), double(g.size[1]), pct);
  }
  auto f = MakeFinding(Local("RFQC004", "Field of view truncation"), label, severity);
  f.measurements.push_back({Local("RFQC106", "Slices with the body cut by the field of view"), pct, kPercent});
  f.measurements.push_back({Local("RFQC107", "Longest body contact with the field of view edge"), t.max_contact_mm, kMm});
  return f;
}

ai::Finding MetalFinding(const MetalEstimate& m) {
  std::string severity = "info", label = "no metal";
  if (m.clusters > 0) {
    severity = m.streak_fraction < 0.1 ? "low" : m.streak_fraction < 0.25 ? "moderate" : "high";
    label = Format("metal: %.0f object(s), %.2f ml; %.0f%% extreme values near metal (streaks)",
                   double(m.clusters), m.volume_ml, 100 * m.streak_fraction);
  }
  auto f = MakeFinding(Local("RFQC005", "Metal artifact"), label, severity);
  f.measurements.push_back({Local("RFQC108", "Metal volume"), m.volume_ml, kMl});
  f.measurements.push_back({Local("RFQC109", "Extreme values near metal"), 100 * m.streak_fraction, kPercent});
  return f;
}

}  // namespace

Result<ai::AppOutput> RunCtQuality(const ai::AppInput& input) {
  const auto& image = input.image;
  const auto& g = image.geometry();
  if (image.empty() || g.size[0] < 8 || g.size[1] < 8) {
    return Status(ErrorCode::kInvalidArgument, "ct-quality: empty or too small image");
  }
  const int threads = std::max(1, input.threads);
  const imaging::Mask body = BodyMask(image, threads);
  ai::AppOutput out;
  out.findings.push_back(NoiseFinding(EstimateNoise(image, threads)));
  out.findings.push_back(SpacingFinding(input.report));
  out.findings.push_back(TiltFinding(input));
  TruncationEstimate truncation = EstimateTruncation(image, body, input.report.resampled);
  // The acquired matrix (Rows (0028,0010), Columns (0028,0011)) when known: a resampled grid
  // says nothing about a crop.
  const auto rows = input.attributes.find("Rows"), columns = input.attributes.find("Columns");
  if (rows != input.attributes.end() && columns != input.attributes.end()) {
    truncation.cropped_matrix =
        LooksCropped(std::strtoul(columns->second.c_str(), nullptr, 10), std::strtoul(rows->second.c_str(), nullptr, 10));
  }
  out.findings.push_back(TruncationFinding(truncation, g));
  out.findings.push_back(MetalFinding(EstimateMetal(image, body)));
  std::string issues;
  for (const auto& f : out.findings) {
    if (f.severity == "info") continue;
    issues += (issues.empty() ? "" : "; ") + f.severity + ": " + f.label;
  }
  out.summary = issues.empty() ? "no quality issues" : issues;
  return out;
}

}  // namespace radflow::apps::qc
