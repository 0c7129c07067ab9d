// The model app's steps on their own: tensor layout (axis mapping), tiling and averaging,
// padding, intensity, labels.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "ai/infer/model_steps.h"
#include "fake_backends.h"

namespace radflow::ai {
namespace {

using imaging::Geometry;
using imaging::ImageVolume;
using testing::Echo;
using testing::FunctionBackend;
using testing::MapChannels;

// value = i + 100 j + 10000 k: every voxel distinct, and its index readable from its value.
ImageVolume Coded(size_t nx, size_t ny, size_t nz) {
  Geometry g;
  g.size = {nx, ny, nz};
  ImageVolume v(g);
  for (size_t k = 0; k < nz; ++k)
    for (size_t j = 0; j < ny; ++j)
      for (size_t i = 0; i < nx; ++i) v.at(i, j, k) = float(i + 100 * j + 10000 * k);
  return v;
}

Preprocess Tiled(const std::string& mode, int64_t px, int64_t py, int64_t pz, double overlap) {
  Preprocess p;
  p.mode = mode;
  p.tiling = "tile";
  p.patch = std::array<int64_t, 3>{px, py, pz};
  p.overlap = overlap;
  return p;
}

TEST(TileStarts, StrideFromOverlapAndLastFlushWithTheEnd) {
  EXPECT_EQ(model_app::TileStarts(10, 6, 0.5), (std::vector<int64_t>{0, 3, 4}));
  EXPECT_EQ(model_app::TileStarts(12, 6, 0.5), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(model_app::TileStarts(6, 6, 0.25), (std::vector<int64_t>{0}));
  EXPECT_EQ(model_app::TileStarts(20, 8, 0), (std::vector<int64_t>{0, 8, 12}));
  EXPECT_EQ(model_app::TileStarts(5, 1, 0), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

// 3d: [1, 1, D, H, W] with D = k, H = j, W = i (numpy volume[z][y][x]).
TEST(Predict, ThreeDimensionalTensorIsZYX) {
  const ImageVolume image = Coded(20, 16, 16);
  Preprocess pre;
  pre.tiling = "none";
  FunctionBackend backend(Echo);
  auto out = model_app::Predict(image, pre, backend);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(backend.inputs.size(), 1u);
  const Tensor& t = backend.inputs[0];
  ASSERT_EQ(t.shape, (std::vector<int64_t>{1, 1, 16, 16, 32}));  // W = 20 padded to 32
  for (int64_t k : {0, 7, 15})
    for (int64_t j : {0, 5, 15})
      for (int64_t i : {0, 3, 19}) {
        EXPECT_EQ(t.data[size_t((k * 16 + j) * 32 + i)], float(i + 100 * j + 10000 * k));
      }
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].data(), image.data());  // cropped back: the round trip is exact
}

// 2d: one call per axial slice k, [1, 1, H, W] with H = j, W = i.
TEST(Predict, TwoDimensionalTensorsAreAxialSlices) {
  const ImageVolume image = Coded(16, 32, 5);
  Preprocess pre;
  pre.mode = "2d";
  pre.tiling = "none";
  FunctionBackend backend(Echo);
  auto out = model_app::Predict(image, pre, backend);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(backend.inputs.size(), 5u);
  for (int64_t k = 0; k < 5; ++k) {
    const Tensor& t = backend.inputs[size_t(k)];
    ASSERT_EQ(t.shape, (std::vector<int64_t>{1, 1, 32, 16}));
    for (int64_t j : {0, 9, 31})
      for (int64_t i : {0, 15}) EXPECT_EQ(t.data[size_t(j * 16 + i)], float(i + 100 * j + 10000 * k));
  }
  EXPECT_EQ((*out)[0].data(), image.data());
}

// "none" pads each axis up to a multiple of 16 by replicating the edge, and crops back.
TEST(Predict, WholeVolumePaddedToMultiplesOf16) {
  const ImageVolume image = Coded(17, 3, 5);
  Preprocess pre;
  pre.tiling = "none";
  FunctionBackend backend([](const Tensor& in) -> Result<Tensor> {
    return MapChannels(in, 3, [](int c, float x) { return x * float(c + 1); });
  });
  auto out = model_app::Predict(image, pre, backend);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Tensor& t = backend.inputs.at(0);
  ASSERT_EQ(t.shape, (std::vector<int64_t>{1, 1, 16, 16, 32}));
  // Past the end: the last voxel of each axis.
  EXPECT_EQ(t.data[size_t((15 * 16 + 15) * 32 + 31)], image.at(16, 2, 4));
  EXPECT_EQ(t.data[size_t((2 * 16 + 10) * 32 + 5)], image.at(5, 2, 2));
  ASSERT_EQ(out->size(), 3u);
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_TRUE((*out)[c].geometry().SameGrid(image.geometry()));
    for (size_t n = 0; n < image.data().size(); ++n) {
      ASSERT_EQ((*out)[c].data()[n], image.data()[n] * float(c + 1));
    }
  }
}

// A volume smaller than the patch: one window of the patch size, edge-replicated.
TEST(Predict, VolumeSmallerThanPatchIsPadded) {
  const ImageVolume image = Coded(5, 4, 3);
  FunctionBackend backend(Echo);
  auto out = model_app::Predict(image, Tiled("3d", 8, 8, 8, 0.25), backend);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(backend.inputs.size(), 1u);
  EXPECT_EQ(backend.inputs[0].shape, (std::vector<int64_t>{1, 1, 8, 8, 8}));
  EXPECT_EQ(backend.inputs[0].data.back(), image.at(4, 3, 2));
  EXPECT_EQ((*out)[0].data(), image.data());
}

// Sliding window: every voxel covered, and each output voxel the mean of the windows over
// it. Channel 0 echoes the input (must come back exact); channel 1 is the window's start
// code (its first input value), so its expected mean follows from the recorded windows.
TEST(Predict, TilesCoverEveryVoxelAndOverlapsAreAveraged) {
  const size_t nx = 23, ny = 17, nz = 11;
  const ImageVolume image = Coded(nx, ny, nz);
  FunctionBackend backend([](const Tensor& in) -> Result<Tensor> {
    const float start = in.data[0];
    return MapChannels(in, 2, [start](int c, float x) { return c == 0 ? x : start; });
  });
  auto out = model_app::Predict(image, Tiled("3d", 8, 6, 4, 0.5), backend);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].data(), image.data());

  std::vector<double> sum(image.data().size(), 0), count(image.data().size(), 0);
  std::set<std::array<int, 3>> starts;
  for (const Tensor& t : backend.inputs) {
    ASSERT_EQ(t.shape, (std::vector<int64_t>{1, 1, 4, 6, 8}));
    const int code = int(t.data[0]);
    const int x0 = code % 100, y0 = code / 100 % 100, z0 = code / 10000;
    starts.insert({x0, y0, z0});
    for (int z = z0; z < z0 + 4; ++z)
      for (int y = y0; y < y0 + 6; ++y)
        for (int x = x0; x < x0 + 8; ++x) {
          sum[image.Offset(size_t(x), size_t(y), size_t(z))] += code;
          count[image.Offset(size_t(x), size_t(y), size_t(z))] += 1;
        }
  }
  EXPECT_EQ(starts.size(), backend.inputs.size());  // no window run twice
  // x: 0 4 8 12 15; y: 0 3 6 9 11; z: 0 2 4 6 7.
  EXPECT_EQ(backend.inputs.size(), 5u * 5u * 5u);
  for (size_t n = 0; n < sum.size(); ++n) {
    ASSERT_GE(count[n], 1) << "voxel " << n << " not covered";
    // The codes and their sums are integers below 2^24, exact in float: the mean is one float
    // division, so it is within one float rounding (2^-24 relative) of the exact mean.
    ASSERT_NEAR((*out)[1].data()[n], sum[n] / count[n], 1.2e-7 * sum[n] / count[n]) << n;
  }
  // Interior voxels of this layout are covered by 8 windows (2 per axis).
  EXPECT_EQ(count[image.Offset(5, 4, 3)], 8);
}

TEST(Predict, TwoDimensionalTilesPerSlice) {
  const ImageVolume image = Coded(10, 7, 3);
  FunctionBackend backend(Echo);
  auto out = model_app::Predict(image, Tiled("2d", 6, 4, 99, 0.5), backend);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // x: 0 3 4; y: 0 2 3; 3 slices.
  EXPECT_EQ(backend.inputs.size(), 3u * 3u * 3u);
  EXPECT_EQ(backend.inputs[0].shape, (std::vector<int64_t>{1, 1, 4, 6}));
  EXPECT_EQ((*out)[0].data(), image.data());
}

TEST(Predict, Errors) {
  const ImageVolume image = Coded(8, 8, 8);
  FunctionBackend echo(Echo);
  Preprocess no_patch;
  no_patch.tiling = "tile";
  EXPECT_EQ(model_app::Predict(image, no_patch, echo).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(model_app::Predict(ImageVolume(), Preprocess{}, echo).status().code(),
            ErrorCode::kInvalidArgument);
  Preprocess bad_mode;
  bad_mode.mode = "4d";
  EXPECT_EQ(model_app::Predict(image, bad_mode, echo).status().code(), ErrorCode::kInvalidArgument);

  Preprocess whole;
  whole.tiling = "none";
  FunctionBackend cropped([](const Tensor& in) -> Result<Tensor> {
    Tensor t = in;
    t.shape[4] -= 1;
    t.data.resize(t.elements());
    return t;
  });
  auto r = model_app::Predict(image, whole, cropped);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("[1, 1, 16, 16, 15]"), std::string::npos) << r.status().message();
  FunctionBackend no_channels([](const Tensor& in) -> Result<Tensor> {
    Tensor t = in;
    t.shape[1] = 0;
    t.data.clear();
    return t;
  });
  EXPECT_EQ(model_app::Predict(image, whole, no_channels).status().code(), ErrorCode::kInvalidArgument);
  FunctionBackend failing([](const Tensor&) -> Result<Tensor> {
    return Result<Tensor>(ErrorCode::kUnsupported, "operator aten::foo");
  });
  auto f = model_app::Predict(image, whole, failing);
  EXPECT_EQ(f.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(f.status().message(), "operator aten::foo");
}

TEST(ApplyIntensity, WindowThenNormalise) {
  Geometry g;
  g.size = {4, 1, 1};
  ImageVolume v(g);
  v.data() = {-2000, -1000, 0, 3000};
  Preprocess p;
  p.window = std::array<double, 2>{-1000, 1000};
  ASSERT_TRUE(model_app::ApplyIntensity(v, p).ok());
  EXPECT_EQ(v.data(), (std::vector<float>{0, 0, 0.5f, 1}));
  p.window.reset();
  p.normalise = "zscore";
  ASSERT_TRUE(model_app::ApplyIntensity(v, p).ok());
  double mean = 0, var = 0;
  for (float x : v.data()) mean += x / 4;
  for (float x : v.data()) var += (x - mean) * (x - mean) / 4;
  EXPECT_NEAR(mean, 0, 1e-6);
  EXPECT_NEAR(var, 1, 1e-5);
  ImageVolume s(g);
  s.data() = {0, 1, 2, 3};
  p.normalise = "scale";
  p.scale = 2;
  p.offset = -1;
  ASSERT_TRUE(model_app::ApplyIntensity(s, p).ok());
  EXPECT_EQ(s.data(), (std::vector<float>{-1, 1, 3, 5}));
  p.normalise = "minmax";
  EXPECT_EQ(model_app::ApplyIntensity(s, p).code(), ErrorCode::kInvalidArgument);
}

TEST(GridWithSpacing, SameCentreAndExtent) {
  Geometry g;
  g.size = {100, 80, 30};
  g.spacing = {0.7, 0.7, 2.5};
  g.origin = {-35, 10, 100};
  g.direction = {{{0, 1, 0}, {0, 0, -1}, {1, 0, 0}}};  // a sagittal stack
  const Geometry t = model_app::GridWithSpacing(g, {1.4, 1.4, 5});
  EXPECT_EQ(t.size, (std::array<size_t, 3>{50, 40, 15}));
  const auto c0 = g.IndexToPoint(99 / 2.0, 79 / 2.0, 29 / 2.0);
  const auto c1 = t.IndexToPoint(49 / 2.0, 39 / 2.0, 14 / 2.0);
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(c0[r], c1[r], 1e-9);
  EXPECT_EQ(t.direction, g.direction);
}

TEST(ToLabels, ArgmaxSoftmaxAndThresholdSigmoid) {
  Geometry g;
  g.size = {3, 1, 1};
  std::vector<ImageVolume> out(3, ImageVolume(g));
  out[0].data() = {0, 0, 5};
  out[1].data() = {1, 0, 0};
  out[2].data() = {0, 2, 0};
  Postprocess post;
  auto m = model_app::ToLabels(out, post);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->label_count, 2);
  EXPECT_EQ(m->labels.data(), (std::vector<uint8_t>{1, 2, 0}));
  EXPECT_NEAR(m->probability.data()[0], std::exp(1.0) / (std::exp(1.0) + 2), 1e-6);
  post.op = "threshold";
  EXPECT_EQ(model_app::ToLabels(out, post).status().code(), ErrorCode::kInvalidArgument);
  post.sigmoid = true;
  post.threshold = 0.7;
  auto t = model_app::ToLabels({out[2]}, post);  // sigmoid(0) = 0.5, sigmoid(2) = 0.88
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->labels.data(), (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_NEAR(t->probability.data()[1], 1 / (1 + std::exp(-2.0)), 1e-6);
  post.op = "argmax";
  EXPECT_EQ(model_app::ToLabels({out[0]}, post).status().code(), ErrorCode::kInvalidArgument);
}

TEST(LongestInPlaneDiameter, SquareDiagonalAndLine) {
  std::vector<std::array<int64_t, 2>> square;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 4; ++j) square.push_back({i, j});
  EXPECT_NEAR(model_app::LongestInPlaneDiameter(square, {1, 2, 5}), std::hypot(3.0, 6.0), 1e-9);
  EXPECT_NEAR(model_app::LongestInPlaneDiameter({{0, 0}, {1, 0}, {5, 0}}, {0.5, 1, 1}), 2.5, 1e-9);
  EXPECT_EQ(model_app::LongestInPlaneDiameter({{2, 2}}, {1, 1, 1}), 0);
}

}  // namespace
}  // namespace radflow::ai

namespace radflow::ai {
namespace {

// The same mapping seen by real PyTorch: axis_probe.pt (make_axis_probe.py) returns the
// input rolled by one voxel along W, H and D as channels 0, 1, 2. Volume sizes are
// multiples of 16, so no padding: voxel (i, j, k) must come back from (i−1, j, k),
// (i, j−1, k) and (i, j, k−1) (cyclically).
TEST(Predict, PyTorchSeesWidthAsColumnsHeightAsRowsDepthAsSlices) {
  auto backend = LoadModel(BackendKind::kTorchScript,
                           std::string(RADFLOW_SOURCE_DIR) + "/tests/unit/ai_model_app/axis_probe.pt", {1});
  if (!backend.ok() && backend.status().code() == ErrorCode::kUnsupported) {
    GTEST_SKIP() << backend.status().ToString();
  }
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  const size_t nx = 32, ny = 16, nz = 16;
  const ImageVolume image = Coded(nx, ny, nz);
  Preprocess pre;
  pre.tiling = "none";
  auto out = model_app::Predict(image, pre, **backend);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 3u);
  for (size_t k = 0; k < nz; ++k)
    for (size_t j = 0; j < ny; ++j)
      for (size_t i = 0; i < nx; ++i) {
        ASSERT_EQ((*out)[0].at(i, j, k), image.at((i + nx - 1) % nx, j, k));
        ASSERT_EQ((*out)[1].at(i, j, k), image.at(i, (j + ny - 1) % ny, k));
        ASSERT_EQ((*out)[2].at(i, j, k), image.at(i, j, (k + nz - 1) % nz));
      }
  // "2d": [1, 1, H, W] per slice; the third roll is over the size-1 channel axis (identity).
  pre.mode = "2d";
  auto slices = model_app::Predict(image, pre, **backend);
  ASSERT_TRUE(slices.ok()) << slices.status().ToString();
  ASSERT_EQ(slices->size(), 3u);
  for (size_t k = 0; k < nz; ++k)
    for (size_t j = 0; j < ny; ++j)
      for (size_t i = 0; i < nx; ++i) {
        ASSERT_EQ((*slices)[0].at(i, j, k), image.at((i + nx - 1) % nx, j, k));
        ASSERT_EQ((*slices)[1].at(i, j, k), image.at(i, (j + ny - 1) % ny, k));
        ASSERT_EQ((*slices)[2].at(i, j, k), image.at(i, j, k));
      }
}

}  // namespace
}  // namespace radflow::ai
