// Forward times at the sizes the bone apps run (tests/fixtures/apps): printed for
// docs/benchmarks.md, not asserted (machines differ; a wall-clock bound in a unit test is
// no speed claim). Asserted: each backend runs each size and gives two channels.
#include <gtest/gtest.h>

#include <cstdio>

#include "ai/infer/inference.h"
#include "reference.h"

namespace radflow::ai {
namespace {

using testing::LoadReference;
using testing::MedianForwardMs;
using testing::ModelPath;

// A tensor of `shape` filled by repeating the reference input (air, tissue and bone values).
Tensor Tiled(const Tensor& source, std::vector<int64_t> shape) {
  Tensor t{std::move(shape), {}};
  t.data.resize(t.elements());
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = source.data[i % source.data.size()];
  return t;
}

TEST(BackendTiming, ForwardTimesAtAppPatchSizes) {
  const Tensor in3d = LoadReference("bone3d").input;
  const Tensor in2d = LoadReference("bone2d").input;
  struct Case {
    BackendKind kind;
    const char* model;
    Tensor input;
    const char* size;
  };
  const Case cases[] = {
      {BackendKind::kTorchScript, "bone3d.pt", Tiled(in3d, {1, 1, 32, 64, 64}), "64x64x32 patch"},
      {BackendKind::kTorchScript, "bone2d.pt", Tiled(in2d, {1, 1, 128, 128}), "128x128 patch"},
      {BackendKind::kOnnx, "bone2d.onnx", Tiled(in2d, {1, 1, 128, 128}), "128x128 patch"},
      {BackendKind::kTorchScript, "bone2d.pt", Tiled(in2d, {1, 1, 512, 512}), "512x512 slice"},
      {BackendKind::kOnnx, "bone2d.onnx", Tiled(in2d, {1, 1, 512, 512}), "512x512 slice"},
  };
  for (const Case& c : cases) {
    for (int threads : {1, 2}) {
      auto backend = LoadModel(c.kind, ModelPath(c.model), {.threads = threads});
      ASSERT_TRUE(backend.ok()) << backend.status().ToString();
      auto out = (*backend)->Run(c.input);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_EQ(out->shape[1], 2);
      EXPECT_EQ(out->elements(), 2 * c.input.elements());
      const double ms = MedianForwardMs(**backend, c.input);
      std::printf("%-11s %-14s %-56s %8.1f ms\n", c.model, c.size, (*backend)->name().c_str(),
                  ms);
    }
  }
}

}  // namespace
}  // namespace radflow::ai
