// Register(): checks, the ~2 mm working grids, the level plan, the overlap at the end — all
// without ITK; the optimisation itself is itk_register.cpp.
#include "registration/registration.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "base/affine.h"
#include "imaging/resample.h"
#include "registration/itk_register.h"

namespace radflow::registration {
namespace {

using imaging::Geometry;
using imaging::ImageVolume;
using imaging::Vec3;

constexpr double kWorkingMm = 2.0;   // the finest level: voxels block-averaged to about this
constexpr double kMinOverlap = 0.2;  // below: no shared anatomy
// Random samples per level at most: beyond ~150k the Mattes estimate barely changes, the
// time does (a 2 mm chest CT has ~3 M voxels).
constexpr double kMaxSamplesPerLevel = 150000;

struct Box {
  Vec3 lo{1e300, 1e300, 1e300};
  Vec3 hi{-1e300, -1e300, -1e300};
};

// The volume's extent in LPS: the hull of its voxels' outer faces.
Box Extent(const Geometry& g) {
  Box b;
  for (int c = 0; c < 8; ++c) {
    const double i = (c & 1) ? double(g.size[0]) - 0.5 : -0.5;
    const double j = (c & 2) ? double(g.size[1]) - 0.5 : -0.5;
    const double k = (c & 4) ? double(g.size[2]) - 0.5 : -0.5;
    const Vec3 p = g.IndexToPoint(i, j, k);
    for (int a = 0; a < 3; ++a) {
      b.lo[a] = std::min(b.lo[a], p[a]);
      b.hi[a] = std::max(b.hi[a], p[a]);
    }
  }
  return b;
}

std::string BoxText(const Box& b) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "[%.0f, %.0f] x [%.0f, %.0f] x [%.0f, %.0f]", b.lo[0], b.hi[0], b.lo[1], b.hi[1],
                b.lo[2], b.hi[2]);
  return buf;
}

bool Intersect(const Box& a, const Box& b) {
  for (int d = 0; d < 3; ++d) {
    if (std::min(a.hi[d], b.hi[d]) <= std::max(a.lo[d], b.lo[d])) return false;
  }
  return true;
}

Status CheckVolume(const ImageVolume& v, const char* which) {
  const auto& g = v.geometry();
  if (v.empty() || v.data().size() != g.voxels()) {
    return Status(ErrorCode::kInvalidArgument, std::string("the ") + which + " volume is empty");
  }
  for (int a = 0; a < 3; ++a) {
    if (!(g.spacing[a] > 0)) return Status(ErrorCode::kInvalidArgument, std::string("the ") + which + " volume has no spacing");
  }
  if (g.size[0] < 8 || g.size[1] < 8 || g.size[2] < 4) {
    return Status(ErrorCode::kInvalidArgument, std::string("the ") + which + " volume is too small to register (" +
                                                   std::to_string(g.size[0]) + "x" + std::to_string(g.size[1]) + "x" +
                                                   std::to_string(g.size[2]) + ")");
  }
  const auto [lo, hi] = std::minmax_element(v.data().begin(), v.data().end());
  if (!(*hi - *lo > 1)) return Status(ErrorCode::kInvalidArgument, std::string("the ") + which + " volume is flat");
  return Status::Ok();
}

// Block factors that bring each axis near kWorkingMm (never finer than the volume is).
std::array<size_t, 3> WorkingFactors(const Geometry& g) {
  std::array<size_t, 3> f{1, 1, 1};
  for (int a = 0; a < 3; ++a) {
    f[a] = static_cast<size_t>(std::max(1.0, std::floor(kWorkingMm / g.spacing[a] + 0.25)));
    f[a] = std::min(f[a], std::max<size_t>(1, g.size[a] / 8));
  }
  return f;
}

// Levels of `count`, coarsest first, ending at the working grid: nominal spacings
// kWorkingMm·2^(count-1) … kWorkingMm, each axis shrunk by the factor that gets it there,
// smoothed with σ = half the nominal spacing (none at the working grid).
std::vector<internal::Level> Levels(const Geometry& work, int count, double fraction) {
  std::vector<internal::Level> levels;
  for (int l = 0; l < count; ++l) {
    internal::Level level;
    level.target_mm = kWorkingMm * std::ldexp(1.0, count - 1 - l);
    double voxels = 1;
    for (int a = 0; a < 3; ++a) {
      const double want = std::max(1.0, std::round(level.target_mm / work.spacing[a]));
      const double most = std::max(1.0, std::floor(double(work.size[a]) / 4));
      level.shrink[a] = static_cast<unsigned>(std::min(want, most));
      voxels *= std::ceil(double(work.size[a]) / level.shrink[a]);
    }
    level.sigma_mm = l + 1 < count ? level.target_mm / 2 : 0;
    level.sampling_fraction = std::clamp(std::min(fraction, kMaxSamplesPerLevel / voxels), 1e-4, 1.0);
    levels.push_back(level);
  }
  return levels;
}

// The CT window the metric sees, applied before averaging so padding values (-2048, -3024
// outside the reconstruction circle) do not bleed into the working grid.
ImageVolume Clipped(const ImageVolume& v) {
  ImageVolume out = v;
  for (float& x : out.data()) x = std::clamp(x, -1000.f, 2000.f);
  return out;
}

// Fraction of `fixed`'s voxel centres that `m` maps inside `moving`'s grid.
double Overlap(const std::array<double, 16>& m, const Geometry& fixed, const Geometry& moving) {
  size_t inside = 0;
  for (size_t k = 0; k < fixed.size[2]; ++k) {
    for (size_t j = 0; j < fixed.size[1]; ++j) {
      for (size_t i = 0; i < fixed.size[0]; ++i) {
        const Vec3 q = moving.PointToIndex(Apply(m, fixed.IndexToPoint(double(i), double(j), double(k))));
        bool in = true;
        for (int a = 0; a < 3 && in; ++a) in = q[a] >= -0.5 && q[a] <= double(moving.size[a]) - 0.5;
        inside += in;
      }
    }
  }
  return fixed.voxels() ? double(inside) / double(fixed.voxels()) : 0;
}

}  // namespace

Vec3 Apply(const std::array<double, 16>& m, const Vec3& p) {
  return ApplyAffine(m, p);
}

radflow::Result<Result> Register(const ImageVolume& fixed, const ImageVolume& moving, const Options& options) {
  RADFLOW_RETURN_IF_ERROR(CheckVolume(fixed, "fixed"));
  RADFLOW_RETURN_IF_ERROR(CheckVolume(moving, "moving"));
  if (options.levels < 1 || options.levels > 6 || options.histogram_bins < 5 || options.histogram_bins > 256 ||
      !(options.sampling_fraction > 0 && options.sampling_fraction <= 1)) {
    return Status(ErrorCode::kInvalidArgument, "registration options out of range (levels 1-6, bins 5-256, sampling (0, 1])");
  }
  // The registration refines the placement in patient space; two series whose extents do
  // not even meet are not two views of the same anatomy (a head and a chest, another patient
  // position entirely).
  const Box fb = Extent(fixed.geometry()), mb = Extent(moving.geometry());
  if (!Intersect(fb, mb)) {
    return Status(ErrorCode::kInvalidArgument, "the two series share no anatomy: their extents in patient space (LPS mm) do "
                                               "not intersect — fixed " + BoxText(fb) + ", moving " + BoxText(mb));
  }

  const int threads = options.threads > 0 ? options.threads
                                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const ImageVolume fixed_work = imaging::BlockMean(Clipped(fixed), WorkingFactors(fixed.geometry()), threads);
  const ImageVolume moving_work = imaging::BlockMean(Clipped(moving), WorkingFactors(moving.geometry()), threads);

  internal::Plan plan;
  plan.rigid = Levels(fixed_work.geometry(), options.levels, options.sampling_fraction);
  if (options.affine) {
    // From the rigid result the affine stage needs only the two finest levels.
    const int n = std::min(options.levels, 2);
    plan.affine.assign(plan.rigid.end() - n, plan.rigid.end());
  }
  auto result = internal::RunItkRegistration(fixed_work, moving_work, plan, options);
  if (!result.ok()) return result;

  result->overlap = Overlap(result->matrix, fixed_work.geometry(), moving_work.geometry());
  if (result->overlap < kMinOverlap) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "after registration only %.0f %% of the fixed image lies inside the moving one",
                  100 * result->overlap);
    return Status(ErrorCode::kInvalidArgument, std::string("the two series share no anatomy: ") + buf);
  }
  return result;
}

}  // namespace radflow::registration
