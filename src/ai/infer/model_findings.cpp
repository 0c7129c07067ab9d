// Findings of the model app: connected components of each label with their centre, volume,
// longest axial diameter, mean HU and score (model_steps.h, model_app.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "ai/codes.h"
#include "ai/infer/model_steps.h"
#include "imaging/resample.h"

namespace radflow::ai::model_app {
namespace {

std::string Fixed1(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

struct ComponentStats {
  size_t voxels = 0;
  double si = 0, sj = 0, sk = 0, hu = 0, prob = 0;
  std::vector<std::array<int64_t, 3>> boundary;  // (k, i, j), in raster order (k ascending)
};

}  // namespace

double LongestInPlaneDiameter(const std::vector<std::array<int64_t, 2>>& voxels,
                              const imaging::Vec3& spacing) {
  if (voxels.size() < 2) return 0;
  using P = std::array<double, 2>;
  std::vector<P> pts;
  pts.reserve(voxels.size());
  for (const auto& v : voxels) pts.push_back({double(v[0]) * spacing[0], double(v[1]) * spacing[1]});
  std::sort(pts.begin(), pts.end());
  pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
  // Andrew's monotone chain: the farthest pair lies on the convex hull.
  auto cross = [](const P& o, const P& a, const P& b) {
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  };
  std::vector<P> hull(2 * pts.size());
  size_t h = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    while (h >= 2 && cross(hull[h - 2], hull[h - 1], pts[i]) <= 0) --h;
    hull[h++] = pts[i];
  }
  for (size_t i = pts.size() - 1, lower = h + 1; i-- > 0;) {
    while (h >= lower && cross(hull[h - 2], hull[h - 1], pts[i]) <= 0) --h;
    hull[h++] = pts[i];
  }
  hull.resize(std::max<size_t>(1, h - 1));
  if (pts.size() <= 2) hull = pts;
  double best = 0;
  for (size_t a = 0; a < hull.size(); ++a) {
    for (size_t b = a + 1; b < hull.size(); ++b) {
      best = std::max(best, std::hypot(hull[a][0] - hull[b][0], hull[a][1] - hull[b][1]));
    }
  }
  return best;
}

Result<std::vector<Finding>> MakeFindings(const LabelMap& map, const imaging::ImageVolume& image,
                                          const Postprocess& post,
                                          const std::vector<int>& segment_of_label) {
  const imaging::Geometry& g = map.labels.geometry();
  if (!image.geometry().SameGrid(g)) {
    return Result<std::vector<Finding>>(ErrorCode::kInvalidArgument,
                                        "findings: the label map is not on the image's grid");
  }
  const double voxel_ml = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
  const Code type = post.finding_type.empty() ? Code{"404684003", "SCT", "Clinical finding"}
                                              : post.finding_type;
  const int64_t nx = int64_t(g.size[0]), ny = int64_t(g.size[1]), nz = int64_t(g.size[2]);
  std::vector<std::pair<int, Finding>> found;  // (label, finding)
  for (int l = 1; l <= map.label_count; ++l) {
    imaging::Mask mask(g, 0);
    bool any = false;
    for (size_t i = 0; i < mask.data().size(); ++i) {
      if (map.labels.data()[i] == l) mask.data()[i] = 1, any = true;
    }
    if (!any) continue;
    auto cc = imaging::ConnectedComponents(mask, 26);
    if (!cc.ok()) return cc.status();
    const auto& lab = cc->labels;
    std::vector<ComponentStats> stats(cc->sizes.size());
    std::vector<bool> keep(cc->sizes.size());
    for (size_t c = 0; c < keep.size(); ++c) {
      keep[c] = double(cc->sizes[c]) * voxel_ml >= post.min_volume_ml;
    }
    for (int64_t k = 0; k < nz; ++k) {
      for (int64_t j = 0; j < ny; ++j) {
        for (int64_t i = 0; i < nx; ++i) {
          const size_t off = lab.Offset(size_t(i), size_t(j), size_t(k));
          const int32_t c = lab.data()[off];
          if (c == 0 || !keep[size_t(c - 1)]) continue;
          ComponentStats& s = stats[size_t(c - 1)];
          ++s.voxels;
          s.si += double(i), s.sj += double(j), s.sk += double(k);
          s.hu += image.data()[off];
          s.prob += map.probability.data()[off];
          // In-plane boundary (4-neighbours): the hull, hence the diameter, only needs these.
          const bool boundary = i == 0 || j == 0 || i == nx - 1 || j == ny - 1 ||
                                lab.data()[off - 1] != c || lab.data()[off + 1] != c ||
                                lab.data()[off - size_t(nx)] != c || lab.data()[off + size_t(nx)] != c;
          if (boundary) s.boundary.push_back({k, i, j});
        }
      }
    }
    for (ComponentStats& s : stats) {
      if (s.voxels == 0) continue;
      const double n = double(s.voxels);
      Finding f;
      f.type = type;
      f.center = g.IndexToPoint(s.si / n, s.sj / n, s.sk / n);
      f.volume_ml = n * voxel_ml;
      // Longest axial diameter: the largest over the component's slices.
      for (size_t a = 0; a < s.boundary.size();) {
        size_t b = a;
        std::vector<std::array<int64_t, 2>> slice;
        while (b < s.boundary.size() && s.boundary[b][0] == s.boundary[a][0]) {
          slice.push_back({s.boundary[b][1], s.boundary[b][2]});
          ++b;
        }
        f.size_mm = std::max(f.size_mm, LongestInPlaneDiameter(slice, g.spacing));
        a = b;
      }
      f.score = std::clamp(s.prob / n, 0.0, 1.0);
      f.severity = post.severity;
      f.segment_number = size_t(l) < segment_of_label.size() ? segment_of_label[size_t(l)] : 0;
      // TID 1500 measurements (PS3.16 TID 1411 / 300): concept and UCUM unit.
      f.measurements = {
          {codes::kVolume, f.volume_ml, codes::kMl},
          {codes::kLongAxis, f.size_mm, codes::kMm},
          {codes::kMean, s.hu / n, codes::kHu},
      };
      found.emplace_back(l, std::move(f));
    }
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a.second.volume_ml > b.second.volume_ml; });
  std::map<int, int> rank;
  std::vector<Finding> findings;
  findings.reserve(found.size());
  for (auto& [l, f] : found) {
    f.label = LabelText(post, l) + " " + std::to_string(++rank[l]);
    findings.push_back(std::move(f));
  }
  return findings;
}

std::string Summary(const std::vector<SegmentOutput>& segments, const std::vector<Finding>& findings,
                    const Postprocess& post) {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
  if (post.findings) {
    for (size_t n = 0; n < segments.size(); ++n) {
      const SegmentOutput& s = segments[n];
      size_t count = 0;
      double ml = 0;
      for (const Finding& f : findings) {
        if (f.segment_number == int(n + 1)) ++count, ml += f.volume_ml;
      }
      if (count > 0) {
        add(s.label + ": " + std::to_string(count) + (count == 1 ? " finding, " : " findings, ") +
            Fixed1(ml) + " ml");
      }
    }
    return out.empty() ? "no findings" : out;
  }
  for (const SegmentOutput& s : segments) {
    const auto& g = s.mask.geometry();
    const size_t n = size_t(std::count_if(s.mask.data().begin(), s.mask.data().end(),
                                          [](uint8_t v) { return v != 0; }));
    add(s.label + " " + Fixed1(double(n) * g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0) + " ml");
  }
  return out.empty() ? "nothing found" : out;
}

}  // namespace radflow::ai::model_app
