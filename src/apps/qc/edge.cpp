// Edge sharpness as the 10–90 % rise distance of the body/air boundary (the edge response
// of the reconstruction, as in an edge-spread function measurement), averaged over many
// radial profiles so that noise on a single profile matters little.
#include <algorithm>
#include <cmath>
#include <vector>

#include "apps/qc/qc_apps.h"

namespace radflow::apps::qc {
namespace {

constexpr double kStepMm = 0.1;
constexpr double kPlateauMm = 2.0;
constexpr int kAngles = 36;
constexpr int kBoneAngles = 72;
constexpr double kBoneHu = 400;
constexpr double kTissueRunMm = 3;

// Bilinear sample of slice k at continuous pixel (x, y); false outside.
bool Sample(const imaging::ImageVolume& image, size_t k, double x, double y, double* v) {
  const auto& g = image.geometry();
  if (x < 0 || y < 0 || x > double(g.size[0] - 1) || y > double(g.size[1] - 1)) return false;
  const size_t i = std::min(size_t(x), g.size[0] - 2), j = std::min(size_t(y), g.size[1] - 2);
  const double fx = x - double(i), fy = y - double(j);
  *v = (1 - fy) * ((1 - fx) * image.at(i, j, k) + fx * image.at(i + 1, j, k)) +
       fy * ((1 - fx) * image.at(i, j + 1, k) + fx * image.at(i + 1, j + 1, k));
  return true;
}

// Rise distance of one air→tissue profile (air first), or a negative value when unusable.
double Rise(const std::vector<double>& p) {
  const size_t plateau = size_t(kPlateauMm / kStepMm);
  if (p.size() < 4 * plateau) return -1;
  double air = 0, tissue = 0;
  for (size_t s = 0; s < plateau; ++s) air += p[s], tissue += p[p.size() - 1 - s];
  air /= double(plateau);
  tissue /= double(plateau);
  if (air > -850 || tissue < -300) return -1;  // not a clean air/tissue step
  const double l10 = air + 0.1 * (tissue - air), l90 = air + 0.9 * (tissue - air);
  auto first_crossing = [&](double level) {
    for (size_t s = 1; s < p.size(); ++s) {
      if (p[s] >= level) return (double(s - 1) + (level - p[s - 1]) / (p[s] - p[s - 1])) * kStepMm;
    }
    return -1.0;
  };
  const double x10 = first_crossing(l10), x90 = first_crossing(l90);
  if (x10 < 0 || x90 < x10) return -1;
  return x90 - x10;
}

// Body centroid of slice k (pixels); false when the body is under 10 cm².
bool Centroid(const imaging::Mask& body, size_t k, double px_mm, double* cx, double* cy) {
  const auto& g = body.geometry();
  double sx = 0, sy = 0, n = 0;
  for (size_t j = 0; j < g.size[1]; ++j) {
    for (size_t i = 0; i < g.size[0]; ++i) {
      if (body.at(i, j, k)) sx += double(i), sy += double(j), n += 1;
    }
  }
  if (n * px_mm * px_mm < 1000) return false;
  *cx = sx / n;
  *cy = sy / n;
  return true;
}

// Distance (pixels) from the centroid to the outermost body pixel along (dx, dy); < 0: none.
double OuterBoundary(const imaging::Mask& body, size_t k, double cx, double cy, double dx, double dy) {
  const auto& g = body.geometry();
  const double nx = double(g.size[0]), ny = double(g.size[1]);
  for (double t = std::hypot(nx, ny); t > 0; t -= 0.5) {
    const double x = cx + t * dx, y = cy + t * dy;
    if (x < 0 || y < 0 || x > nx - 1 || y > ny - 1) continue;
    if (body.at(size_t(x + 0.5), size_t(y + 0.5), k)) return t;
  }
  return -1;
}

// Samples along the ray from t0 towards the centroid (decreasing t), every kStepMm.
bool Profile(const imaging::ImageVolume& image, size_t k, double cx, double cy, double dx, double dy,
             double t0, double length_px, double step_px, std::vector<double>* out) {
  out->clear();
  for (double s = 0; s <= length_px; s += step_px) {
    double v = 0;
    if (!Sample(image, k, cx + (t0 - s) * dx, cy + (t0 - s) * dy, &v)) return false;
    out->push_back(v);
  }
  return true;
}

// 10–90 % rise from a soft-tissue plateau (first kPlateauMm) to the profile's peak within
// 3 mm past the 400 HU crossing (cortex is thin: no plateau on the bone side).
double BoneRise(const std::vector<double>& p, size_t crossing) {
  const size_t plateau = size_t(kPlateauMm / kStepMm), past = size_t(3.0 / kStepMm);
  if (crossing < plateau || crossing + past >= p.size()) return -1;
  double tissue = 0, peak = -1e9;
  for (size_t s = 0; s < plateau; ++s) tissue += p[s];
  tissue /= double(plateau);
  for (size_t s = crossing; s <= crossing + past; ++s) peak = std::max(peak, p[s]);
  const double l10 = tissue + 0.1 * (peak - tissue), l90 = tissue + 0.9 * (peak - tissue);
  double x10 = -1, x90 = -1;
  for (size_t s = 1; s <= crossing + past; ++s) {
    const double at = double(s - 1) * kStepMm;
    if (x10 < 0 && p[s] >= l10) x10 = at + (l10 - p[s - 1]) / (p[s] - p[s - 1]) * kStepMm;
    if (x90 < 0 && p[s] >= l90) x90 = at + (l90 - p[s - 1]) / (p[s] - p[s - 1]) * kStepMm;
  }
  return (x10 >= 0 && x90 > x10) ? x90 - x10 : -1;
}

}  // namespace

EdgeProfiles EdgeRise10to90(const imaging::ImageVolume& image, const imaging::Mask& body,
                            int slice_step, double half_length_mm) {
  const auto& g = image.geometry();
  const double px_mm = 0.5 * (g.spacing[0] + g.spacing[1]);
  EdgeProfiles out;
  if (g.size[0] < 4 || g.size[1] < 4) return out;
  double sum = 0;
  std::vector<double> prof;
  for (size_t k = 0; k < g.size[2]; k += size_t(std::max(slice_step, 1))) {
    double cx = 0, cy = 0;
    if (!Centroid(body, k, px_mm, &cx, &cy)) continue;
    for (int a = 0; a < kAngles; ++a) {
      const double th = 2 * M_PI * a / kAngles, dx = std::cos(th), dy = std::sin(th);
      const double t = OuterBoundary(body, k, cx, cy, dx, dy);
      if (t < 0) continue;
      // From air (outside) to tissue, centred on the boundary.
      const double half_px = half_length_mm / px_mm;
      if (!Profile(image, k, cx, cy, dx, dy, t + half_px, 2 * half_px, kStepMm / px_mm, &prof)) continue;
      const double r = Rise(prof);
      if (r <= 0) continue;
      sum += r;
      ++out.profiles;
    }
  }
  if (out.profiles) out.rise_mm = sum / double(out.profiles);
  return out;
}

EdgeProfiles BoneEdgeRise10to90(const imaging::ImageVolume& image, const imaging::Mask& body,
                                int slice_step) {
  const auto& g = image.geometry();
  const double px_mm = 0.5 * (g.spacing[0] + g.spacing[1]);
  EdgeProfiles out;
  if (g.size[0] < 4 || g.size[1] < 4) return out;
  const double step_px = kStepMm / px_mm, tissue_px = kTissueRunMm / px_mm;
  double sum = 0;
  std::vector<double> prof;
  for (size_t k = 0; k < g.size[2]; k += size_t(std::max(slice_step, 1))) {
    double cx = 0, cy = 0;
    if (!Centroid(body, k, px_mm, &cx, &cy)) continue;
    for (int a = 0; a < kBoneAngles; ++a) {
      const double th = 2 * M_PI * a / kBoneAngles, dx = std::cos(th), dy = std::sin(th);
      const double outer = OuterBoundary(body, k, cx, cy, dx, dy);
      if (outer < 0) continue;
      // Walk inwards from the skin: the first bone (> 400 HU) after >= 3 mm of soft tissue.
      if (!Profile(image, k, cx, cy, dx, dy, outer - 1, outer - 1, step_px, &prof)) continue;
      size_t run = 0, found = 0;
      const size_t need = size_t(tissue_px / step_px);
      for (size_t s = 0; s < prof.size(); ++s) {
        if (prof[s] > kBoneHu && run >= need) {
          found = s;
          break;
        }
        run = (prof[s] > -150 && prof[s] <= kBoneHu) ? run + 1 : 0;
      }
      if (!found) continue;
      // Profile from 4 mm before the crossing (soft tissue) to 3.5 mm past it.
      const double start = outer - 1 - double(found) * step_px + 4.0 / px_mm;
      if (!Profile(image, k, cx, cy, dx, dy, start, 7.5 / px_mm, step_px, &prof)) continue;
      const double r = BoneRise(prof, size_t(4.0 / kStepMm));
      if (r <= 0) continue;
      sum += r;
      ++out.profiles;
    }
  }
  if (out.profiles) out.rise_mm = sum / double(out.profiles);
  return out;
}

}  // namespace radflow::apps::qc
