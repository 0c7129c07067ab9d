// False-positive reduction of lung lesion candidates: rules on shape (3D moments), solid
// core, lung contact and hilar position, and the suspicion score used for ranking.
#include <algorithm>
#include <cmath>

#include "apps/lung/lesion_measure.h"

namespace radflow::apps::lung {

namespace {
constexpr double kMaxDiameterMm = 150;
constexpr double kMaxElongation = 3;  // vessels: long and thin
constexpr double kMinContact = 0.15;  // fraction of the surface facing aerated lung
constexpr double kMaxAttached = 2.5;  // vessel tree: connected dense tissue / own volume
constexpr float kCoreHu = -100;       // a solid core is denser (after partial volume)
}  // namespace

Reject Classify(const Lesion& les, const Features& f) {
  const double mean_d = 0.5 * (les.long_axis_mm + les.short_axis_mm);
  Reject r = Reject::kNone;
  if (mean_d < kMinDiameterMm) r = Reject::kSmall;
  else if (les.long_axis_mm > kMaxDiameterMm) r = Reject::kLarge;
  else if (f.contact < kMinContact) r = Reject::kEnclosed;
  else if (les.elongation > kMaxElongation) r = Reject::kTubular;
  else if (f.z_extent_mm < 0.3 * les.long_axis_mm) r = Reject::kFlat;
  else if (les.long_axis_mm < kMassMm && f.medial >= 0.4 &&
           (f.medial >= 0.65 || les.elongation >= 1.8 || f.attached > kMaxAttached))
    r = Reject::kHilar;  // mostly mediastinal, or a vessel leaving the hilum
  else if (f.attached > kMaxAttached && !(les.elongation <= 1.5 && f.shape.slices >= 2 && f.attached <= 6))
    r = Reject::kVesselTree;
  else if (f.wall >= 0.4 && (les.mean_hu < kCoreHu || (f.shape.slices == 1 && les.long_axis_mm > 1.5 * f.slice_mm)))
    r = Reject::kRim;
  else if (f.shape.p90_hu < kCoreHu) r = Reject::kFaint;
  return r;
}

double Suspicion(const Lesion& les, const Features& f) {
  // Bigger, rounder, more solid, more surrounded by lung and less tied into a vessel tree
  // ranks higher. Weights set by hand (no labelled set to calibrate on): not a probability.
  const double mean_d = 0.5 * (les.long_axis_mm + les.short_axis_mm);
  const double size_term = std::clamp(std::log(mean_d / 3.0) / std::log(20.0), 0.0, 1.0);  // 3 → 60 mm
  const double shape_term = std::clamp(1.0 - (les.elongation - 1.0) / 2.0, 0.0, 1.0);
  const double contact_term = std::min(1.0, f.contact / 0.6);
  const double isolation_term = std::clamp((kMaxAttached - f.attached) / (kMaxAttached - 1.0), 0.0, 1.0);
  return std::clamp(0.4 * size_term + 0.2 * shape_term + 0.15 * les.solid_fraction + 0.1 * contact_term +
                        0.15 * isolation_term, 0.0, 1.0);
}

}  // namespace radflow::apps::lung
