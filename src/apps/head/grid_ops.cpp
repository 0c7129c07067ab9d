#include "apps/head/grid_ops.h"

#include <algorithm>

#include "imaging/resample.h"

namespace radflow::apps::head {

imaging::Mask SkullMask(const imaging::ImageVolume& hu, double bone_hu, bool spread_slices) {
  imaging::Mask bone(hu.geometry(), 0);
  for (size_t v = 0; v < bone.data().size(); ++v) bone.data()[v] = hu.data()[v] > bone_hu;
  imaging::Mask skull = imaging::LargestComponent(bone);
  if (!spread_slices) return skull;
  const auto& s = skull.geometry().size;
  const size_t plane = s[0] * s[1];
  imaging::Mask out = skull;
  for (size_t k = 0; k < s[2]; ++k)
    for (size_t p = 0; p < plane; ++p) {
      const size_t v = k * plane + p;
      if ((k > 0 && skull.data()[v - plane]) || (k + 1 < s[2] && skull.data()[v + plane])) out.data()[v] = 1;
    }
  return out;
}

}  // namespace radflow::apps::head
