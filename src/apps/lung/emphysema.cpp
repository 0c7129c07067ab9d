// ct-emphysema: lung densitometry per lung and in total — volume, %LAA-950 (Gevenois et
// al., AJRCCM 1996: voxels < -950 HU match microscopic emphysema), Perc15 (15th
// percentile, the densitometric index favoured for progression), mean density.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "ai/codes.h"
#include "apps/lung/lung_apps.h"
#include "apps/lung/lung_grid.h"
#include "imaging/resample.h"

namespace radflow::apps::lung {

namespace {

using namespace ai::codes;  // the shared codes (ai/codes.h)
const ai::Code kBothLungs{"39607008", "SCT", "Lung"};
const ai::Code kEmphysema{"87433001", "SCT", "Pulmonary emphysema"};
// No standard code for these two densitometric indices: local codes (PS3.16 8.2 allows
// private coding schemes), documented in docs/apps/ct-emphysema.md.
const ai::Code kLaa950{"LAA950", "99RADFLOW", "Low attenuation area below -950 HU, percent of lung volume"};
const ai::Code kPerc15{"PERC15", "99RADFLOW", "15th percentile of lung density"};

constexpr float kLaaHu = -950;

// Histogram over [-1100, 500] HU in 1 HU bins (values outside are clamped).
struct Histogram {
  std::array<size_t, 1601> bins{};
  size_t n = 0, laa = 0;
  double sum = 0;
  void Add(float v) {
    const long b = std::clamp(std::lround(v) + 1100L, 0L, 1600L);
    ++bins[size_t(b)];
    ++n;
    laa += v < kLaaHu;
    sum += v;
  }
  void Merge(const Histogram& o) {
    for (size_t b = 0; b < bins.size(); ++b) bins[b] += o.bins[b];
    n += o.n, laa += o.laa, sum += o.sum;
  }
  LungDensity Density(double voxel_ml) const {
    LungDensity d;
    d.voxels = n;
    d.volume_ml = double(n) * voxel_ml;
    if (n == 0) return d;
    d.laa950_percent = 100.0 * double(laa) / double(n);
    d.mean_hu = sum / double(n);
    // Perc15: the HU below which 15% of lung voxels lie (lower bin edge convention).
    const size_t target = size_t(std::ceil(0.15 * double(n)));
    size_t acc = 0;
    for (size_t b = 0; b < bins.size(); ++b) {
      acc += bins[b];
      if (acc >= target) {
        d.perc15_hu = double(b) - 1100.0;
        break;
      }
    }
    return d;
  }
};

// Severity bands on %LAA-950 (see the doc: ~6% is the upper limit of normal in
// never-smokers; 5% is COPDGene's emphysema threshold).
const char* Severity(double laa) {
  if (laa < 6) return "info";
  if (laa < 10) return "low";
  if (laa < 20) return "moderate";
  return "high";
}

}  // namespace

LungDensity MeasureDensity(const imaging::ImageVolume& hu, const imaging::Mask& lung) {
  Histogram h;
  const auto& g = hu.geometry();
  if (!g.SameGrid(lung.geometry())) return {};
  for (size_t n = 0; n < hu.data().size(); ++n)
    if (lung.data()[n]) h.Add(hu.data()[n]);
  return h.Density(g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0);
}

Result<ai::AppOutput> RunEmphysema(const ai::AppInput& input) {
  const int threads = std::max(1, input.threads);
  const auto& fg = input.image.geometry();
  const grid::Factors f = grid::WorkingFactors(fg);
  auto seg = SegmentLungs(imaging::BlockMean(input.image, f.blocks(), threads), threads);
  if (!seg.ok()) return seg.status();
  imaging::Mask left = imaging::BlockExpand(seg->left, fg, f.blocks(), threads);
  imaging::Mask right = imaging::BlockExpand(seg->right, fg, f.blocks(), threads);
  imaging::Mask laa(fg, 0);

  // Histograms per lung, accumulated per thread over slices.
  const size_t plane = fg.size[0] * fg.size[1];
  const int t = std::max(1, std::min<int>(threads, int(fg.size[2])));
  std::vector<std::array<Histogram, 2>> parts(static_cast<size_t>(t));
  const size_t chunk = (fg.size[2] + size_t(t) - 1) / size_t(t);
  ParallelRanges(size_t(t), t, [&](size_t b, size_t e) {
    for (size_t part = b; part < e; ++part)
      for (size_t k = part * chunk; k < std::min(fg.size[2], (part + 1) * chunk); ++k)
        for (size_t p = k * plane; p < (k + 1) * plane; ++p) {
          const bool l = left.data()[p] != 0, r = right.data()[p] != 0;
          if (!l && !r) continue;
          const float v = input.image.data()[p];
          parts[part][l ? 0 : 1].Add(v);
          laa.data()[p] = v < kLaaHu;
        }
  });
  Histogram hl, hr, ht;
  for (const auto& p : parts) hl.Merge(p[0]), hr.Merge(p[1]);
  ht.Merge(hl);
  ht.Merge(hr);
  const double voxel_ml = fg.spacing[0] * fg.spacing[1] * fg.spacing[2] / 1000.0;
  const LungDensity dl = hl.Density(voxel_ml), dr = hr.Density(voxel_ml), dt = ht.Density(voxel_ml);

  ai::AppOutput out;
  out.segments.push_back({"Left lung", kAnatomicalStructure, kLeftLung, std::move(left)});
  out.segments.push_back({"Right lung", kAnatomicalStructure, kRightLung, std::move(right)});
  out.segments.push_back({"Low attenuation area (< -950 HU)", kMorphologicallyAltered, kEmphysema, std::move(laa)});
  auto add = [&](const char* name, const ai::Code& type, const LungDensity& d, int segment) {
    if (d.voxels == 0) return;
    ai::Finding fd;
    fd.type = type;
    char label[160];
    std::snprintf(label, sizeof label, "%s: %.0f ml, LAA-950 %.1f%%, Perc15 %.0f HU", name, d.volume_ml,
                  d.laa950_percent, d.perc15_hu);
    fd.label = label;
    fd.volume_ml = d.volume_ml;
    fd.score = std::min(1.0, d.laa950_percent / 20.0);
    fd.severity = Severity(d.laa950_percent);
    fd.segment_number = segment;
    fd.measurements = {{kVolume, d.volume_ml, kMl},
                       {kLaa950, d.laa950_percent, kPercent},
                       {kPerc15, d.perc15_hu, kHu},
                       {kMean, d.mean_hu, kHu}};
    out.findings.push_back(std::move(fd));
  };
  add("left lung", kLeftLung, dl, 1);
  add("right lung", kRightLung, dr, 2);
  add("both lungs", kBothLungs, dt, 0);
  char summary[200];
  std::snprintf(summary, sizeof summary, "lungs %.0f ml: LAA-950 %.1f%% (L %.1f%%, R %.1f%%), Perc15 %.0f HU — %s",
                dt.volume_ml, dt.laa950_percent, dl.laa950_percent, dr.laa950_percent, dt.perc15_hu,
                dt.laa950_percent < 6 ? "below the 6% emphysema threshold" : "above the 6% emphysema threshold");
  out.summary = summary;
  return out;
}

}  // namespace radflow::apps::lung
