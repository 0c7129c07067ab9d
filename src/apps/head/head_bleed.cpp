// The ct-head-bleed app: a thin adapter from AppInput to the pure pieces and back.
#include "apps/head/head_bleed.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ai/codes.h"
#include "imaging/resample.h"
namespace radflow::apps::head {

namespace {

const ai::Code kHemorrhage{"1386000", "SCT", "Intracranial hemorrhage"};
using namespace ai::codes;  // the shared codes (ai/codes.h)

std::string Format(const char* fmt, double a, double b = 0) {
  char buf[128];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}

// One label of the working grid, back on the input's grid (the grid WorkingGrid started from).
imaging::Mask ToInputGrid(const imaging::Volume<int32_t>& labels, int32_t label,
                          const imaging::Geometry& input, const HeadBleedSettings& s) {
  imaging::Mask coarse(labels.geometry(), 0);
  for (size_t n = 0; n < coarse.data().size(); ++n) coarse.data()[n] = labels.data()[n] == label;
  return imaging::BlockExpand(coarse, input, WorkingFactors(input, s), s.threads);
}

}  // namespace

Result<ai::AppOutput> RunHeadBleed(const ai::AppInput& input) { return RunHeadBleed(input, HeadBleedSettings{}); }

Result<ai::AppOutput> RunHeadBleed(const ai::AppInput& input, HeadBleedSettings s) {
  if (input.image.empty()) return Status(ErrorCode::kInvalidArgument, "ct-head-bleed: empty image");
  // Contrast Bolus Agent (0018,0010), PS3.3 C.7.6.4: enhanced vessels and sinuses are
  // hyperdense too. Said in the summary rather than a silent "no finding".
  const auto agent = input.attributes.find("ContrastBolusAgent");
  if (agent != input.attributes.end() && agent->second.find_first_not_of(" \\") != std::string::npos) {
    ai::AppOutput out;
    out.summary = "not analysed: contrast-enhanced study (ContrastBolusAgent " + agent->second + ")";
    return out;
  }
  s.threads = std::max(s.threads, input.threads);
  const imaging::ImageVolume work = WorkingGrid(input.image, s);
  std::vector<float> skull_distance2;
  auto brain = BrainMask(work, s, &skull_distance2);
  if (!brain.ok()) return brain.status();
  imaging::Volume<int32_t> labels;
  auto candidates = DetectHyperdense(work, *brain, s, &labels, &skull_distance2);
  candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                  [](const BleedCandidate& c) { return !c.accepted; }),
                   candidates.end());
  std::sort(candidates.begin(), candidates.end(),
            [](const BleedCandidate& a, const BleedCandidate& b) { return a.volume_ml > b.volume_ml; });

  ai::AppOutput out;
  if (candidates.empty()) {
    out.summary = "no suspected haemorrhage";
    return out;
  }
  double total = 0;
  for (const auto& c : candidates) {
    total += c.volume_ml;
    ai::SegmentOutput seg;
    seg.label = "Suspected haemorrhage " + std::to_string(out.segments.size() + 1);
    seg.category = kMorphologicallyAltered;
    seg.type = kHemorrhage;
    seg.mask = ToInputGrid(labels, c.label, input.image.geometry(), s);
    out.segments.push_back(std::move(seg));

    ai::Finding f;
    f.type = kHemorrhage;
    f.label = Format("suspected haemorrhage %.1f mL, %.0f mm", c.volume_ml, c.longest_axial_mm);
    f.center = c.center;
    f.size_mm = c.longest_axial_mm;
    f.volume_ml = c.volume_ml;
    f.score = c.score;
    f.severity = "critical";
    f.segment_number = int(out.segments.size());
    f.measurements = {{kVolume, c.volume_ml, kMl}, {kMean, c.mean_hu, kHu}, {kLongAxis, c.longest_axial_mm, kMm}};
    out.findings.push_back(std::move(f));
  }
  out.summary = "suspected haemorrhage: " + std::to_string(candidates.size()) +
                (candidates.size() == 1 ? " cluster, " : " clusters, ") +
                Format("%.1f mL in all, largest %.1f mL", total, candidates.front().volume_ml);
  return out;
}

}  // namespace radflow::apps::head
