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

}  // namespace

EdgeProfiles EdgeRise10to90(const imaging::ImageVolume& image, const imaging::Mask& body,
                            int slice_step, double half_length_mm) {
  const auto& g = image.geometry();
  const size_t nx = g.size[0], ny = g.size[1];
  const double px_mm = 0.5 * (g.spacing[0] + g.spacing[1]);
  EdgeProfiles out;
  if (nx < 4 || ny < 4) return out;
  double sum = 0;
  for (size_t k = 0; k < g.size[2]; k += size_t(std::max(slice_step, 1))) {
    double cx = 0, cy = 0, n = 0;
    for (size_t j = 0; j < ny; ++j) {
      for (size_t i = 0; i < nx; ++i) {
        if (body.at(i, j, k)) cx += double(i), cy += double(j), n += 1;
      }
    }
    if (n * px_mm * px_mm < 1000) continue;
    cx /= n;
    cy /= n;
    for (int a = 0; a < kAngles; ++a) {
      const double th = 2 * M_PI * a / kAngles, dx = std::cos(th), dy = std::sin(th);
      // Outermost body pixel along the ray: walk in from the image edge.
      double t = std::hypot(double(nx), double(ny));
      bool hit = false;
      for (; t > 0; t -= 0.5) {
        const double x = cx + t * dx, y = cy + t * dy;
        if (x < 0 || y < 0 || x > double(nx - 1) || y > double(ny - 1)) continue;
        if (body.at(size_t(x + 0.5), size_t(y + 0.5), k)) {
          hit = true;
          break;
        }
      }
      if (!hit) continue;
      // Profile from air (outside) to tissue, centred on the boundary.
      const double half_px = half_length_mm / px_mm, step_px = kStepMm / px_mm;
      std::vector<double> prof;
      bool inside = true;
      for (double s = -half_px; s <= half_px && inside; s += step_px) {
        double v = 0;
        inside = Sample(image, k, cx + (t - s) * dx, cy + (t - s) * dy, &v);
        prof.push_back(v);
      }
      if (!inside) continue;
      const double r = Rise(prof);
      if (r <= 0) continue;
      sum += r;
      ++out.profiles;
    }
  }
  if (out.profiles) out.rise_mm = sum / double(out.profiles);
  return out;
}

}  // namespace radflow::apps::qc
