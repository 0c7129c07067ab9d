// The ITK side of registration (itk_register.cpp, the only file that includes ITK): a plan
// of stages and levels in, a transform out. Internal to the module.
#pragma once

#include <array>
#include <vector>

#include "registration/registration.h"

namespace radflow::registration::internal {

struct Level {
  std::array<unsigned, 3> shrink{1, 1, 1};  // per axis of the working grid
  double sigma_mm = 0;                      // Gaussian smoothing before shrinking
  double sampling_fraction = 0.25;          // of this level's voxels
  double target_mm = 2;                     // the level's nominal spacing (for the report)
};

struct Plan {
  std::vector<Level> rigid;
  std::vector<Level> affine;  // empty: rigid only
};

// Runs the plan on the two working volumes (HU, clipped inside). Fills matrix, metric,
// iterations and stages; `overlap` is left to the caller. Catches every ITK exception.
radflow::Result<Result> RunItkRegistration(const imaging::ImageVolume& fixed, const imaging::ImageVolume& moving,
                                           const Plan& plan, const Options& options);

}  // namespace radflow::registration::internal
