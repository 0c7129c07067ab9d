// Pre-processing of the model app: the grid at the manifest's spacing, window and
// normalisation (model_steps.h).
#include <algorithm>
#include <cmath>

#include "ai/infer/model_steps.h"

namespace radflow::ai::model_app {

imaging::Geometry GridWithSpacing(const imaging::Geometry& g, const imaging::Vec3& spacing) {
  imaging::Geometry out = g;
  double shift[3] = {0, 0, 0};  // of the first voxel centre, along each axis, in mm
  for (int a = 0; a < 3; ++a) {
    const double extent = double(g.size[a]) * g.spacing[a];
    out.size[a] = size_t(std::max<long long>(1, std::llround(extent / spacing[a])));
    out.spacing[a] = spacing[a];
    // Same centre: (n − 1)·s / 2 from the first voxel centre on both grids.
    shift[a] = (double(g.size[a]) - 1) * g.spacing[a] / 2 - (double(out.size[a]) - 1) * spacing[a] / 2;
  }
  for (int a = 0; a < 3; ++a) {
    for (int r = 0; r < 3; ++r) out.origin[r] += shift[a] * g.direction[a][r];
  }
  return out;
}

Status ApplyIntensity(imaging::ImageVolume& image, const Preprocess& preprocess) {
  auto& v = image.data();
  if (preprocess.window) {
    const double lo = (*preprocess.window)[0], hi = (*preprocess.window)[1];
    if (!(hi > lo)) {
      return Status(ErrorCode::kInvalidArgument, "preprocess.window: high must exceed low");
    }
    for (float& x : v) x = float((std::clamp(double(x), lo, hi) - lo) / (hi - lo));
  }
  if (preprocess.normalise == "zscore") {
    double sum = 0, sum2 = 0;
    for (float x : v) {
      sum += x;
      sum2 += double(x) * x;
    }
    const double n = double(std::max<size_t>(1, v.size()));
    const double mean = sum / n;
    double sd = std::sqrt(std::max(0.0, sum2 / n - mean * mean));
    if (!(sd > 1e-12)) sd = 1;
    for (float& x : v) x = float((x - mean) / sd);
  } else if (preprocess.normalise == "scale") {
    for (float& x : v) x = float(x * preprocess.scale + preprocess.offset);
  } else if (preprocess.normalise != "none" && !preprocess.normalise.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "preprocess.normalise: unknown '" + preprocess.normalise + "'");
  }
  return Status::Ok();
}

}  // namespace radflow::ai::model_app
