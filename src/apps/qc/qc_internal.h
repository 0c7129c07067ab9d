// Internal helpers of the qc apps.
#pragma once

#include <algorithm>

namespace radflow::apps::qc {

// The noise (HU standard deviation) assumed when no soft tissue was found to measure it.
constexpr double kFallbackNoiseHu = 20;

// Pixels of a window half-width `mm` at spacing `spacing_mm` (at least 1).
inline int HalfWindowPixels(double mm, double spacing_mm) {
  return std::max(1, static_cast<int>(mm / spacing_mm + 0.5));
}

}  // namespace radflow::apps::qc
