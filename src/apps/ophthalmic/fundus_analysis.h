// The fundus analysis as a pure function of the photograph: field of view, gradability
// (illumination, uniformity, noise, focus, field), optic disc, macula and vessels.
// docs/apps/fundus-quality.md describes each measure and its threshold.
#pragma once

#include <string>
#include <vector>

#include "apps/ophthalmic/fundus_image.h"
#include "base/status.h"

namespace radflow::apps::ophthalmic {

// One gradability check: its measure, the threshold and its quality in [0, 1]
// (0.5 at the threshold; passes when >= 0.5).
struct QualityCheck {
  std::string name;     // "illumination" | "uniformity" | "noise" | "focus" | "field"
  double value = 0;
  double threshold = 0;
  double quality = 0;
  bool passed() const { return quality >= 0.5; }
};

struct FundusAnalysis {
  int width = 0, height = 0;   // the photograph's
  double work_scale = 1;       // analysis resolution / photograph resolution
  // Field of view (the illuminated disc of the camera).
  double fov_diameter_px = 0;
  double fov_fraction = 0;     // of the image area
  // Gradability: every check passes; score = the lowest check quality.
  std::vector<QualityCheck> checks;
  bool gradable = false;
  double score = 0;
  std::string reason;          // the failed checks, "" when gradable
  // Optic disc (photograph pixels); found when its contrast passes.
  bool disc_found = false;
  double disc_x = 0, disc_y = 0, disc_diameter_px = 0;
  double disc_contrast = 0;    // (inside - surround) / surround, green channel
  // Macula (the darkest region 1.8..3.4 disc diameters from the disc).
  bool macula_found = false;
  double macula_x = 0, macula_y = 0;
  double macula_contrast = 0;  // (surround - inside) / surround
  bool macula_inside = false;  // its one-disc-diameter region >= 90 % inside the field of view
  // Vessels: fraction of the field of view.
  double vessel_density = 0;
  // Masks on the photograph's grid (width * height).
  Mask fov, vessels, disc;
};

// kInvalidArgument: empty image or one smaller than 64 x 64 pixels. `segment_vessels`
// false skips the vessel map (vessels empty, density 0): gradability does not use it.
Result<FundusAnalysis> AnalyzeFundus(const FundusImage& image, bool segment_vessels = true);

}  // namespace radflow::apps::ophthalmic
