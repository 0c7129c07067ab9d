// Rigid-then-affine registration of one CT volume to another (a prior study onto the current
// one), and the transform as an ITK .tfm file. ITK stays inside this module: no ITK type
// appears here (docs/architecture.md, "Registration").
#pragma once

#include <array>
#include <string>

#include "base/status.h"
#include "imaging/volume.h"

namespace radflow::registration {

struct Options {
  bool affine = true;              // false: the rigid stage only
  int levels = 3;                  // multi-resolution levels of the rigid stage (8, 4, 2 mm for 3)
  int histogram_bins = 50;         // Mattes mutual information
  double sampling_fraction = 0.25; // of each level's voxels, drawn at random (capped per level)
  unsigned seed = 1;               // of the random sampling: the same inputs give the same result
  int threads = 0;                 // 0: every core (ITK's default)
};

struct Result {
  // Row-major 4x4 homogeneous matrix in LPS millimetres that maps a point of the FIXED image
  // to the corresponding point of the MOVING image (ITK's convention: the transform that
  // resamples the moving image onto the fixed grid).
  std::array<double, 16> matrix{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  double metric = 0;   // final Mattes mutual information (ITK's sign: more negative is better)
  double overlap = 0;  // fraction of the fixed working grid that maps inside the moving image
  int iterations = 0;  // optimizer iterations, all stages and levels
  std::string stages;  // what ran, e.g. "init geometry; rigid 3 levels 8/4/2 mm, 97 it; ..."
};

// Registers `moving` (the prior) onto `fixed` (the current CT); both in HU on their own LPS
// grids. Intensities are clipped to [-1000, 2000] HU; both volumes are first averaged onto a
// ~2 mm working grid, the finest level. The registration refines the patient-space
// placement: the series must overlap in LPS to begin with.
// Errors: kInvalidArgument for an empty or flat volume, or when the two series share no
// anatomy (their LPS extents do not intersect, or after registration less than 20 % of the
// fixed image maps inside the moving one); kInternal for any other ITK failure. Never throws.
radflow::Result<Result> Register(const imaging::ImageVolume& fixed, const imaging::ImageVolume& moving,
                                 const Options& options);

// Writes `r.matrix` as an ITK transform file (Insight Legacy text, "AffineTransform_double_3_3",
// centre 0): readable by ITK (TransformFileReader), SimpleITK and 3D Slicer. kIoError on failure.
Status WriteTransformFile(const Result& r, const std::string& path);
// Reads a file with one linear transform (affine, rigid, similarity, translation…) into
// `matrix` (the other fields are left 0). kNotFound, kIoError, kUnsupported (not linear).
radflow::Result<Result> ReadTransformFile(const std::string& path);

// `matrix` applied to an LPS point.
imaging::Vec3 Apply(const std::array<double, 16>& matrix, const imaging::Vec3& p);

}  // namespace radflow::registration
