// Volume<T>: a 3D image on a regular grid placed in patient space (DICOM LPS, millimetres).
// Voxel (i, j, k) — i along a row (columns), j down the rows, k across slices — sits at
//   origin + i·spacing[0]·d_i + j·spacing[1]·d_j + k·spacing[2]·d_k,
// with d_i, d_j, d_k the unit direction cosines (PS3.3 C.7.6.2.1.1: ImageOrientationPatient
// gives d_i and d_j; d_k is the slice normal, or the actual slice direction).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace radflow::imaging {

using Vec3 = std::array<double, 3>;

struct Geometry {
  std::array<size_t, 3> size{0, 0, 0};
  Vec3 spacing{1, 1, 1};
  Vec3 origin{0, 0, 0};
  // Columns of the direction matrix: direction[0] = d_i, [1] = d_j, [2] = d_k.
  std::array<Vec3, 3> direction{{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}};

  size_t voxels() const { return size[0] * size[1] * size[2]; }
  Vec3 IndexToPoint(double i, double j, double k) const {
    Vec3 p = origin;
    const double idx[3] = {i, j, k};
    for (int a = 0; a < 3; ++a) {
      for (int r = 0; r < 3; ++r) p[r] += idx[a] * spacing[a] * direction[a][r];
    }
    return p;
  }
  // Continuous index of a point (direction assumed orthonormal).
  Vec3 PointToIndex(const Vec3& p) const {
    Vec3 d{p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]};
    Vec3 out{};
    for (int a = 0; a < 3; ++a) {
      double dot = 0;
      for (int r = 0; r < 3; ++r) dot += d[r] * direction[a][r];
      out[a] = dot / spacing[a];
    }
    return out;
  }
  bool SameGrid(const Geometry& o, double tolerance = 1e-4) const;
};

template <typename T>
class Volume {
 public:
  Volume() = default;
  explicit Volume(const Geometry& g, T fill = T{}) : geometry_(g), data_(g.voxels(), fill) {}

  const Geometry& geometry() const { return geometry_; }
  Geometry& geometry() { return geometry_; }
  size_t Offset(size_t i, size_t j, size_t k) const {
    return i + geometry_.size[0] * (j + geometry_.size[1] * k);
  }
  T& at(size_t i, size_t j, size_t k) { return data_[Offset(i, j, k)]; }
  const T& at(size_t i, size_t j, size_t k) const { return data_[Offset(i, j, k)]; }
  std::vector<T>& data() { return data_; }
  const std::vector<T>& data() const { return data_; }
  bool empty() const { return data_.empty(); }

 private:
  Geometry geometry_;
  std::vector<T> data_;  // i fastest, then j, then k
};

using ImageVolume = Volume<float>;   // intensities (HU after rescale)
using Mask = Volume<uint8_t>;        // 0 outside, 1 (or a label) inside

inline bool Geometry::SameGrid(const Geometry& o, double tol) const {
  if (size != o.size) return false;
  for (int a = 0; a < 3; ++a) {
    if (std::abs(spacing[a] - o.spacing[a]) > tol || std::abs(origin[a] - o.origin[a]) > tol) return false;
    for (int r = 0; r < 3; ++r) {
      if (std::abs(direction[a][r] - o.direction[a][r]) > tol) return false;
    }
  }
  return true;
}

}  // namespace radflow::imaging
