// Skull stripping for non-contrast head CT: the skull is the only large structure above
// ~300 HU, and the brain is the soft tissue it encloses.
#include <algorithm>
#include <array>
#include <cmath>

#include "apps/head/grid_ops.h"
#include "apps/head/head_bleed.h"
#include "imaging/morphology.h"
#include "imaging/resample.h"

namespace radflow::apps::head {

using imaging::ImageVolume;
using imaging::Mask;

std::array<size_t, 3> WorkingFactors(const imaging::Geometry& input, const HeadBleedSettings& s) {
  std::array<size_t, 3> f;
  for (int a = 0; a < 3; ++a) {
    f[a] = std::max<size_t>(1, size_t(std::lround(s.working_spacing_mm / input.spacing[a])));
  }
  return f;
}

ImageVolume WorkingGrid(const ImageVolume& hu, const HeadBleedSettings& s) {
  return imaging::BlockMean(hu, WorkingFactors(hu.geometry(), s), s.threads);
}

Result<Mask> BrainMask(const ImageVolume& hu) { return BrainMask(hu, HeadBleedSettings{}); }

Result<Mask> BrainMask(const ImageVolume& hu, const HeadBleedSettings& s,
                       std::vector<float>* skull_distance2) {
  if (hu.empty()) return Status(ErrorCode::kInvalidArgument, "empty volume");
  const size_t n = hu.data().size();
  Mask bone(hu.geometry(), 0);
  for (size_t v = 0; v < n; ++v) bone.data()[v] = hu.data()[v] > s.bone_hu;

  // The cavity per slice: what the outside cannot reach without squeezing through a gap
  // in the skull narrower than skull_gap_mm (sutures, foramina, the orbital apex). A ball
  // of that diameter rolls in from the grid's border through bone-free voxels; everything
  // it covers is outside (a closing by reconstruction, not a plain closing, so that a wide
  // opening such as the orbit does not leak through the narrow one behind it).
  const float r2 = float(s.skull_gap_mm * s.skull_gap_mm / 4);
  const auto to_bone = imaging::SquaredDistance(bone, /*target=*/true, /*in_plane=*/true, s.threads);
  Mask blocked(hu.geometry(), 0);
  for (size_t v = 0; v < n; ++v) blocked.data()[v] = to_bone[v] <= r2;
  const Mask enclosed = FillHolesPerSlice(blocked, s.threads);
  Mask ball_centres(hu.geometry(), 0);
  for (size_t v = 0; v < n; ++v) ball_centres.data()[v] = !enclosed.data()[v];
  const auto to_outside = imaging::SquaredDistance(ball_centres, /*target=*/true, true, s.threads);
  Mask cavity(hu.geometry(), 0);
  for (size_t v = 0; v < n; ++v) {
    const float x = hu.data()[v];
    cavity.data()[v] = to_outside[v] > r2 && !bone.data()[v] && x >= s.tissue_low_hu && x <= s.tissue_high_hu;
  }
  // The brain is one piece; orbits, sinuses and scalp folds caught in a slice are not.
  Mask brain = imaging::LargestComponent(cavity);
  size_t count = 0;
  for (auto b : brain.data()) count += b != 0;
  if (count == 0) return Status(ErrorCode::kNotFound, "no skull-enclosed soft tissue (not a head CT?)");

  // Away from the skull (partial volume, beam hardening) and from the cavity's own edge
  // (which includes the edge around calcifications, holes in the tissue range).
  auto to_bone_3d = imaging::SquaredDistance(SkullMask(hu, s.bone_hu, true), /*target=*/true, false, s.threads);
  Mask not_brain(hu.geometry(), 0);
  for (size_t v = 0; v < n; ++v) not_brain.data()[v] = !brain.data()[v];
  const auto to_edge = imaging::SquaredDistance(not_brain, /*target=*/true, false, s.threads);
  const float skull2 = float(s.skull_margin_mm * s.skull_margin_mm);
  const float edge2 = float(s.edge_margin_mm * s.edge_margin_mm);
  for (size_t v = 0; v < n; ++v) {
    brain.data()[v] = brain.data()[v] && to_bone_3d[v] > skull2 && to_edge[v] > edge2;
  }
  if (skull_distance2) *skull_distance2 = std::move(to_bone_3d);
  return brain;
}

}  // namespace radflow::apps::head
