// ct-lung-lesions: the thin adapter from DetectLesions/SegmentLungs to an AppOutput.
#include <algorithm>
#include <cstdio>
#include <string>

#include "ai/codes.h"
#include "apps/lung/lesion_measure.h"
#include "apps/lung/lung_apps.h"

namespace radflow::apps::lung {

namespace {

using namespace ai::codes;  // the shared codes (ai/codes.h)
const ai::Code kNodule{"27925004", "SCT", "Nodule"};
const ai::Code kMass{"4147007", "SCT", "Mass"};

// Safety limit on the findings listed (a scan full of metastases should not flood the SR);
// the operating point is set by false-positive reduction in DetectLesions, not by this cap
// (see docs/apps/ct-lung-lesions.md).
constexpr size_t kMaxFindings = 20;

const char* ClassName(LesionClass c) {
  switch (c) {
    case LesionClass::kSolid: return "solid";
    case LesionClass::kPartSolid: return "part-solid";
    case LesionClass::kGroundGlass: return "ground-glass";
  }
  return "solid";
}

}  // namespace

Result<ai::AppOutput> RunLungLesions(const ai::AppInput& input) {
  const int threads = std::max(1, input.threads);
  LungMasks fine;  // on the input grid
  auto lesions = DetectLesions(input.image, threads, kMaxFindings, &fine);
  if (!lesions.ok()) return lesions.status();

  ai::AppOutput out;
  out.segments.push_back({"Left lung", kAnatomicalStructure, kLeftLung, std::move(fine.left)});
  out.segments.push_back({"Right lung", kAnatomicalStructure, kRightLung, std::move(fine.right)});
  size_t nodules = 0, masses = 0;
  double largest = 0;
  for (auto& les : *lesions) {
    const bool mass = les.long_axis_mm >= kMassMm;
    (mass ? masses : nodules)++;
    largest = std::max(largest, les.long_axis_mm);
    ai::Finding fd;
    fd.type = mass ? kMass : kNodule;
    char label[160];
    std::snprintf(label, sizeof label, "%s %s %.0f mm (Lung-RADS size %s)", ClassName(les.type),
                  mass ? "mass" : "nodule", les.long_axis_mm, les.lung_rads.c_str());
    fd.label = label;
    fd.center = les.center;
    fd.size_mm = les.long_axis_mm;
    fd.volume_ml = les.volume_ml;
    fd.score = les.score;
    fd.severity = (les.lung_rads == "4A" || les.lung_rads == "4B") ? "high" : les.lung_rads == "3" ? "moderate" : "low";
    fd.measurements = {{kVolume, les.volume_ml, kMl},
                       {kLongAxis, les.long_axis_mm, kMm},
                       {kShortAxis, les.short_axis_mm, kMm},
                       {kMean, les.mean_hu, kHu}};
    out.segments.push_back({std::string(mass ? "Mass " : "Nodule ") + std::to_string(out.findings.size() + 1),
                            kMorphologicallyAltered, fd.type, std::move(les.mask)});
    fd.segment_number = int(out.segments.size());
    out.findings.push_back(std::move(fd));
  }
  char summary[160];
  if (out.findings.empty()) {
    std::snprintf(summary, sizeof summary, "no lung lesion candidates >= 3 mm");
  } else {
    std::snprintf(summary, sizeof summary, "%zu nodule(s), %zu mass(es), largest %.0f mm (top score %.2f)", nodules,
                  masses, largest, out.findings.front().score);
  }
  out.summary = summary;
  return out;
}

}  // namespace radflow::apps::lung
