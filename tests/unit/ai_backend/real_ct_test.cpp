// The bone models, trained on synthetic volumes only, on a real chest CT
// (ct_chest_lung_dx): their mask must agree with the rule they learned (HU > 300 after a
// 3-voxel box smoothing), so the model apps give a meaningful bone mask on real data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "ai/infer/inference.h"
#include "imaging/series_volume.h"
#include "reference.h"

namespace radflow::ai {
namespace {

using testing::ModelPath;

const imaging::ImageVolume& ChestCt() {
  static const imaging::ImageVolume volume = [] {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(
             std::string(RADFLOW_SHARED_DATA) +
             "/dicom/ct_chest_lung_dx/Lung_Dx-A0001/CT_5mm_lung_kernel")) {
      if (e.path().extension() == ".dcm") files.push_back(e.path().string());
    }
    auto series = imaging::LoadSeries(files);
    return series.ok() ? series->volume : imaging::ImageVolume();
  }();
  return volume;
}

// The network input of the apps' preprocessing: HU clipped to [-1000, 1000], scaled to [0, 1].
float Scaled(float hu) { return (std::clamp(hu, -1000.f, 1000.f) + 1000.f) / 2000.f; }

// Crop [k0, k0+d) x [j0, j0+h) x [i0, i0+w) as an N C (D) H W tensor; d == 0 gives 2D.
Tensor Crop(const imaging::ImageVolume& v, size_t k0, size_t d, size_t j0, size_t h, size_t i0,
            size_t w) {
  Tensor t;
  t.shape = d == 0 ? std::vector<int64_t>{1, 1, int64_t(h), int64_t(w)}
                   : std::vector<int64_t>{1, 1, int64_t(d), int64_t(h), int64_t(w)};
  for (size_t k = k0; k < k0 + std::max<size_t>(d, 1); ++k) {
    for (size_t j = j0; j < j0 + h; ++j) {
      for (size_t i = i0; i < i0 + w; ++i) t.data.push_back(Scaled(v.at(i, j, k)));
    }
  }
  return t;
}

// Dice of the network's argmax against the learned rule, computed on the same tensor
// (scaled 300 HU is 0.65): box mean over 3x3 (2D) or 3x3x3 (3D) voxels, edges replicated.
double DiceAgainstRule(const Tensor& input, const Tensor& logits) {
  const bool is3d = input.shape.size() == 5;
  const int64_t d = is3d ? input.shape[2] : 1, h = input.shape.end()[-2], w = input.shape.back();
  auto at = [&](int64_t k, int64_t j, int64_t i) {
    k = std::clamp<int64_t>(k, 0, d - 1), j = std::clamp<int64_t>(j, 0, h - 1);
    i = std::clamp<int64_t>(i, 0, w - 1);
    return input.data[(k * h + j) * w + i];
  };
  const size_t n = input.data.size();
  size_t both = 0, rule_count = 0, net_count = 0;
  for (int64_t k = 0; k < d; ++k) {
    for (int64_t j = 0; j < h; ++j) {
      for (int64_t i = 0; i < w; ++i) {
        double sum = 0;
        int count = 0;
        for (int64_t dk = is3d ? -1 : 0; dk <= (is3d ? 1 : 0); ++dk) {
          for (int64_t dj = -1; dj <= 1; ++dj) {
            for (int64_t di = -1; di <= 1; ++di, ++count) sum += at(k + dk, j + dj, i + di);
          }
        }
        const size_t idx = size_t((k * h + j) * w + i);
        const bool rule = sum / count > 0.65;
        const bool net = logits.data[n + idx] > logits.data[idx];
        both += rule && net;
        rule_count += rule;
        net_count += net;
      }
    }
  }
  std::printf("  voxels: rule %zu, network %zu, both %zu\n", rule_count, net_count, both);
  return 2.0 * both / std::max<size_t>(1, rule_count + net_count);
}

TEST(BoneModelsOnRealCt, AgreeWithTheHighDensityRule) {
  const auto& ct = ChestCt();
  ASSERT_FALSE(ct.empty());
  const auto& size = ct.geometry().size;  // 512 x 512 x 64
  ASSERT_GE(size[2], 32u);
  const Tensor slice = Crop(ct, size[2] / 2, 0, 0, size[1] / 4 * 4, 0, size[0] / 4 * 4);
  const Tensor block =
      Crop(ct, size[2] / 2 - 16, 32, size[1] / 2 - 128, 256, size[0] / 2 - 128, 256);
  struct Case {
    BackendKind kind;
    const char* model;
    const Tensor* input;
  };
  auto is3d = [](const Case& c) { return c.input->shape.size() == 5; };
  for (const Case& c : {Case{BackendKind::kOnnx, "bone2d.onnx", &slice},
                        Case{BackendKind::kTorchScript, "bone2d.pt", &slice},
                        Case{BackendKind::kTorchScript, "bone3d.pt", &block}}) {
    auto backend = LoadModel(c.kind, ModelPath(c.model), {.threads = 2});
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    auto out = (*backend)->Run(*c.input);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const double dice = DiceAgainstRule(*c.input, *out);
    std::printf("%s on real chest CT (%zu voxels): Dice vs smoothed HU > 300 = %.5f\n",
                c.model, c.input->data.size(), dice);
    // Real lung-kernel CT has ~50 HU noise and blurred edges: the disagreements are voxels
    // whose smoothed value lies within ~50 HU of the threshold. models/README.md documents
    // 0.9206 (2D, both runtimes) and 0.8545 (3D); ±0.002 allows the voxels whose logits nearly
    // tie to flip on another CPU's kernels or thread count (one voxel of ~7600 moves the 2D
    // Dice by 1-3e-4).
    EXPECT_NEAR(dice, is3d(c) ? 0.8545 : 0.9206, 0.002) << c.model;
  }
}

}  // namespace
}  // namespace radflow::ai
