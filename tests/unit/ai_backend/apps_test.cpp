// The two end-to-end bone apps (tests/fixtures/apps) parse, and their runner loads and runs
// a tile of the size the manifest asks for.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "ai/infer/inference.h"
#include "ai/manifest.h"
#include "reference.h"

namespace radflow::ai {
namespace {

TEST(BoneApps, ManifestsParseAndTheirModelsRunAPatch) {
  const std::string dir = std::string(RADFLOW_SOURCE_DIR) + "/tests/fixtures/apps/";
  for (const char* file : {"bone3d-torch.json", "bone2d-onnx.json"}) {
    auto app = LoadManifestFile(dir + file);
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    ASSERT_TRUE(app->preprocess.patch.has_value()) << file;
    EXPECT_TRUE(std::filesystem::is_regular_file(app->runner.model)) << app->runner.model;
    const auto [x, y, z] = *app->preprocess.patch;
    const bool is3d = app->preprocess.mode == "3d";
    const BackendKind kind = app->runner.kind == Runner::Kind::kTorchScript
                                 ? BackendKind::kTorchScript
                                 : BackendKind::kOnnx;
    auto backend = LoadModel(kind, app->runner.model, {.threads = app->resources.threads});
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    Tensor input;
    input.shape = is3d ? std::vector<int64_t>{1, 1, z, y, x} : std::vector<int64_t>{1, 1, y, x};
    input.data.assign(input.elements(), 0.5f);  // 0 HU
    auto out = (*backend)->Run(input);
    ASSERT_TRUE(out.ok()) << file << ": " << out.status().ToString();
    EXPECT_EQ(out->shape[1], static_cast<int64_t>(app->postprocess.labels.size() + 1)) << file;
    // Uniform soft tissue holds no bone: background wins everywhere, the border included.
    const size_t n = out->elements() / 2;
    size_t bone = 0;
    for (size_t i = 0; i < n; ++i) bone += out->data[n + i] > out->data[i];
    std::printf("%s: %zu of %zu voxels called bone on uniform 0 HU\n", file, bone, n);
    EXPECT_EQ(bone, 0u) << file;
  }
}

}  // namespace
}  // namespace radflow::ai
