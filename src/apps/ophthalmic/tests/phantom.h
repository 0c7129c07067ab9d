// A rendered colour fundus phantom with known truth: circular field of view, a vessel tree
// leaving the optic disc (widths and contrast known per pixel), the disc (centre, diameter),
// the macula; then controlled degradations (vignetting, exposure, Gaussian blur, additive
// Gaussian noise). Used to validate fundus-quality (docs/apps/fundus-quality.md).
#pragma once

#include <cstdint>

#include "apps/ophthalmic/fundus_image.h"

namespace radflow::apps::ophthalmic {

struct PhantomOptions {
  int size = 600;                 // image width, pixels
  int height = 0;                 // image height; 0: square. Less than the field: the field is cut
                                  // by the top and bottom edges (the field stays centred)
  double fov_diameter = 560;      // DRIVE-sized field of view, centred
  double disc_dx = -190, disc_dy = -10;  // disc centre relative to the image centre
  double disc_diameter = 80;
  double macula_distance = 2.5;   // disc diameters, temporal (+x)
  double macula_dy = 0.15;        // disc diameters, down (+y)
  double vignetting = 0;          // extra fall-off: brightness at the field's edge drops by this fraction
  double exposure = 1;            // gain on every channel
  double blur_sigma = 0;          // Gaussian blur, pixels
  double noise_sigma = 0;         // additive Gaussian noise SD, fraction of full scale
  uint64_t seed = 1;
};

struct Phantom {
  FundusImage image;
  Mask vessels;                   // truth: within half the vessel width of a centreline
  Mask fov;
  double disc_x = 0, disc_y = 0, disc_diameter = 0;
  double macula_x = 0, macula_y = 0;
  bool macula_in_view = false;    // its one-disc-diameter region lies inside the field and image
};

Phantom RenderPhantom(const PhantomOptions& options);

}  // namespace radflow::apps::ophthalmic
