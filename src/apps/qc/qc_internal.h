// Internal helpers of the qc apps.
#pragma once

#include <algorithm>

namespace radflow::apps::qc {

// Pixels of a window half-width `mm` at spacing `spacing_mm` (at least 1).
inline int HalfWindowPixels(double mm, double spacing_mm) {
  return std::max(1, static_cast<int>(mm / spacing_mm + 0.5));
}

}  // namespace radflow::apps::qc
