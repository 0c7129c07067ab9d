// A point through a row-major 4×4 homogeneous matrix (bottom row 0 0 0 1), as registration
// results and lesion tracking use them (LPS mm).
#pragma once

#include <array>

namespace radflow {

inline std::array<double, 3> ApplyAffine(const std::array<double, 16>& m, const std::array<double, 3>& p) {
  std::array<double, 3> out{};
  for (int r = 0; r < 3; ++r) out[r] = m[4 * r] * p[0] + m[4 * r + 1] * p[1] + m[4 * r + 2] * p[2] + m[4 * r + 3];
  return out;
}

}  // namespace radflow
