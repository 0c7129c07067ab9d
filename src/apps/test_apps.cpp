#include "apps/test_apps.h"

#include <chrono>
#include <cstdlib>
#include <thread>

#include "ai/app.h"
#include "ai/codes.h"
#include "imaging/resample.h"

namespace radflow::apps {
namespace {

// HU > 300 ("dense structures"): one segment, one finding per component of at least 1 mL.
Result<ai::AppOutput> Threshold(const ai::AppInput& in) {
  ai::AppOutput out;
  imaging::Mask mask(in.image.geometry(), 0);
  for (size_t v = 0; v < mask.data().size(); ++v) mask.data()[v] = in.image.data()[v] > 300 ? 1 : 0;
  auto components = imaging::ConnectedComponents(mask, 26);
  if (!components.ok()) return components.status();
  const auto& g = in.image.geometry();
  const double voxel_ml = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
  const ai::Code dense{"272673000", "SCT", "Bone structure"};
  out.segments.push_back({"dense", ai::codes::kAnatomicalStructure, dense, mask});
  const auto& labels = components->labels.data();
  std::vector<double> count(components->sizes.size() + 1, 0), sx(count), sy(count), sz(count);
  for (size_t k = 0, v = 0; k < g.size[2]; ++k) {
    for (size_t j = 0; j < g.size[1]; ++j) {
      for (size_t i = 0; i < g.size[0]; ++i, ++v) {
        int l = labels[v];
        if (l <= 0) continue;
        count[l] += 1;
        sx[l] += i;
        sy[l] += j;
        sz[l] += k;
      }
    }
  }
  for (size_t l = 1; l < count.size(); ++l) {
    double ml = count[l] * voxel_ml;
    if (ml < 1.0) continue;
    ai::Finding f;
    f.type = dense;
    f.label = "dense structure " + std::to_string(out.findings.size() + 1);
    f.center = g.IndexToPoint(sx[l] / count[l], sy[l] / count[l], sz[l] / count[l]);
    f.volume_ml = ml;
    f.score = 1;
    f.segment_number = 1;
    f.measurements.push_back({ai::codes::kVolume, ml, ai::codes::kMl});
    out.findings.push_back(std::move(f));
  }
  out.summary = std::to_string(out.findings.size()) + " dense structure(s) >= 1 mL";
  return out;
}

}  // namespace

void RegisterTestApps() {
  ai::RegisterBuiltin("test-fail", [](const ai::AppInput&) -> Result<ai::AppOutput> {
    return Status(ErrorCode::kInternal, "test-fail: deliberate failure");
  });
  ai::RegisterBuiltin("test-hang", [](const ai::AppInput&) -> Result<ai::AppOutput> {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(60));
  });
  ai::RegisterBuiltin("test-crash", [](const ai::AppInput&) -> Result<ai::AppOutput> { std::abort(); });
  ai::RegisterBuiltin("test-threshold", Threshold);
}

}  // namespace radflow::apps
