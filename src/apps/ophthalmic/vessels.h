// Frangi vesselness (Frangi et al., MICCAI 1998) of a 2-D plane: bright tubular structures
// over the scales [sigma_min, sigma_max]. Implemented with ITK 5.2 in vessels_itk.cpp
// (the only file of the module that sees ITK).
#pragma once

#include "apps/ophthalmic/fundus_image.h"
#include "base/status.h"

namespace radflow::apps::ophthalmic {

struct FrangiParams {
  double sigma_min = 1.0;   // pixels
  double sigma_max = 4.0;
  int sigma_steps = 4;      // logarithmically spaced
  double alpha = 0.5;       // unused in 2-D lines (plate/line ratio, 3-D only)
  double beta = 0.5;        // blob suppression (Rb = |l1| / |l2|)
  double gamma = 0.05;      // structureness (Frobenius norm of the scale-normalised Hessian)
};

// Values in [0, 1] (objectness not scaled by the eigenvalue); the maximum over scales.
// kInternal naming ITK's message when the filter throws (e.g. out of memory).
Result<Plane> FrangiVesselness(const Plane& bright_vessels, const FrangiParams& params);

}  // namespace radflow::apps::ophthalmic
