// The network over a volume: windows (tiles, whole slices or the whole volume) copied into
// tensors with edge-replicate padding, outputs averaged back onto the volume's grid
// (model_steps.h documents the axis mapping and the tiling).
#include <algorithm>
#include <cmath>

#include "ai/infer/model_steps.h"

namespace radflow::ai::model_app {
namespace {

using imaging::ImageVolume;

// A window in padded index space: start (x0, y0, z0) and size (px, py, pz).
struct Window {
  int64_t x0, y0, z0, px, py, pz;
};

int64_t RoundUp16(int64_t n) { return (n + 15) / 16 * 16; }

Tensor Extract(const ImageVolume& image, const Window& w, bool two_d) {
  Tensor t;
  t.shape = two_d ? std::vector<int64_t>{1, 1, w.py, w.px} : std::vector<int64_t>{1, 1, w.pz, w.py, w.px};
  t.data.resize(size_t(w.px * w.py * w.pz));
  const auto& s = image.geometry().size;
  const int64_t nx = int64_t(s[0]), ny = int64_t(s[1]), nz = int64_t(s[2]);
  float* dst = t.data.data();
  for (int64_t z = 0; z < w.pz; ++z) {
    const size_t k = size_t(std::min(w.z0 + z, nz - 1));  // past the end: replicate the edge
    for (int64_t y = 0; y < w.py; ++y) {
      const float* row = &image.at(0, size_t(std::min(w.y0 + y, ny - 1)), k);
      for (int64_t x = 0; x < w.px; ++x) *dst++ = row[std::min(w.x0 + x, nx - 1)];
    }
  }
  return t;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t a = 0; a < shape.size(); ++a) s += (a ? ", " : "") + std::to_string(shape[a]);
  return s + "]";
}

// Adds the window's output (cropped to the volume) to `sums`, one volume per channel.
Status Accumulate(const Tensor& out, const Window& w, bool two_d, const imaging::Geometry& g,
                  std::vector<ImageVolume>& sums, ImageVolume& counts) {
  const std::vector<int64_t> spatial =
      two_d ? std::vector<int64_t>{w.py, w.px} : std::vector<int64_t>{w.pz, w.py, w.px};
  const size_t rank = spatial.size() + 2;
  bool ok = out.shape.size() == rank && out.shape[0] == 1 && out.shape[1] >= 1 &&
            std::equal(spatial.begin(), spatial.end(), out.shape.begin() + 2);
  if (ok && out.data.size() != out.elements()) ok = false;
  if (!ok) {
    std::vector<int64_t> want{1, -1};
    want.insert(want.end(), spatial.begin(), spatial.end());
    return Status(ErrorCode::kInvalidArgument, "model output " + ShapeText(out.shape) +
                                                   " (" + std::to_string(out.data.size()) +
                                                   " values), expected " + ShapeText(want) +
                                                   " with C >= 1 channels");
  }
  const size_t channels = size_t(out.shape[1]);
  if (sums.empty()) {
    sums.assign(channels, ImageVolume(g, 0.0f));
  } else if (sums.size() != channels) {
    return Status(ErrorCode::kInvalidArgument, "model output has " + std::to_string(channels) +
                                                   " channels, an earlier window had " +
                                                   std::to_string(sums.size()));
  }
  const int64_t nx = int64_t(g.size[0]), ny = int64_t(g.size[1]), nz = int64_t(g.size[2]);
  const int64_t ex = std::min(w.px, nx - w.x0), ey = std::min(w.py, ny - w.y0),
                ez = std::min(w.pz, nz - w.z0);  // the part inside the volume
  const size_t plane = size_t(w.px * w.py * w.pz);
  for (int64_t z = 0; z < ez; ++z) {
    for (int64_t y = 0; y < ey; ++y) {
      const size_t src = size_t((z * w.py + y) * w.px);
      const size_t dst = counts.Offset(size_t(w.x0), size_t(w.y0 + y), size_t(w.z0 + z));
      for (size_t c = 0; c < channels; ++c) {
        const float* from = out.data.data() + c * plane + src;
        float* to = sums[c].data().data() + dst;
        for (int64_t x = 0; x < ex; ++x) to[x] += from[x];
      }
      float* n = counts.data().data() + dst;
      for (int64_t x = 0; x < ex; ++x) n[x] += 1;
    }
  }
  return Status::Ok();
}

}  // namespace

std::vector<int64_t> TileStarts(int64_t n, int64_t patch, double overlap) {
  const int64_t stride = std::max<int64_t>(1, int64_t(std::floor(double(patch) * (1 - overlap))));
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + patch < n; s += stride) starts.push_back(s);
  starts.push_back(std::max<int64_t>(0, n - patch));
  return starts;
}

Result<std::vector<ImageVolume>> Predict(const ImageVolume& image, const Preprocess& pre,
                                         InferenceBackend& backend) {
  const imaging::Geometry& g = image.geometry();
  if (image.empty()) return Result<std::vector<ImageVolume>>(ErrorCode::kInvalidArgument, "empty image");
  if (pre.mode != "2d" && pre.mode != "3d") {
    return Result<std::vector<ImageVolume>>(ErrorCode::kInvalidArgument,
                                            "preprocess.mode: unknown '" + pre.mode + "'");
  }
  const bool two_d = pre.mode == "2d";
  const int64_t nx = int64_t(g.size[0]), ny = int64_t(g.size[1]), nz = int64_t(g.size[2]);

  std::vector<Window> windows;
  if (pre.tiling == "tile") {
    if (!pre.patch || (*pre.patch)[0] <= 0 || (*pre.patch)[1] <= 0 || (!two_d && (*pre.patch)[2] <= 0)) {
      return Result<std::vector<ImageVolume>>(ErrorCode::kInvalidArgument,
                                              "preprocess.patch: required (positive x, y, z) with tiling 'tile'");
    }
    if (!(pre.overlap >= 0 && pre.overlap < 1)) {
      return Result<std::vector<ImageVolume>>(ErrorCode::kInvalidArgument,
                                              "preprocess.overlap: must be in [0, 1)");
    }
    const int64_t px = (*pre.patch)[0], py = (*pre.patch)[1], pz = two_d ? 1 : (*pre.patch)[2];
    // An axis shorter than the patch is padded up to it (one window along it).
    const auto xs = TileStarts(std::max(nx, px), px, pre.overlap);
    const auto ys = TileStarts(std::max(ny, py), py, pre.overlap);
    const auto zs = two_d ? TileStarts(nz, 1, 0) : TileStarts(std::max(nz, pz), pz, pre.overlap);
    for (int64_t z : zs)
      for (int64_t y : ys)
        for (int64_t x : xs) windows.push_back({x, y, z, px, py, pz});
  } else if (pre.tiling == "none") {
    if (two_d) {
      for (int64_t z = 0; z < nz; ++z) windows.push_back({0, 0, z, RoundUp16(nx), RoundUp16(ny), 1});
    } else {
      windows.push_back({0, 0, 0, RoundUp16(nx), RoundUp16(ny), RoundUp16(nz)});
    }
  } else {
    return Result<std::vector<ImageVolume>>(ErrorCode::kInvalidArgument,
                                            "preprocess.tiling: unknown '" + pre.tiling + "'");
  }

  std::vector<ImageVolume> sums;
  ImageVolume counts(g, 0.0f);
  for (const Window& w : windows) {
    auto out = backend.Run(Extract(image, w, two_d));
    if (!out.ok()) return out.status();
    if (Status s = Accumulate(*out, w, two_d, g, sums, counts); !s.ok()) return s;
  }
  // Uniform weights: each voxel is the mean of the windows that cover it (at least one).
  const auto& n = counts.data();
  for (auto& sum : sums) {
    auto& v = sum.data();
    for (size_t i = 0; i < v.size(); ++i) {
      if (n[i] != 1) v[i] /= n[i];
    }
  }
  return sums;
}

}  // namespace radflow::ai::model_app
