// RunModelApp end to end with fake networks: findings on synthetic spheres, the spacing
// round trip, errors, and a real CT where a threshold "network" must come back voxel for
// voxel (the pipeline around the network is transparent).
#include "ai/infer/model_app.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "fake_backends.h"
#include "imaging/series_volume.h"

namespace radflow::ai {
namespace {

namespace fs = std::filesystem;
using imaging::Geometry;
using imaging::ImageVolume;
using testing::FunctionBackend;
using testing::ThresholdLogits;

struct Sphere {
  imaging::Vec3 centre_index;
  double radius_mm;
};

// 100 HU inside the spheres, −100 outside, on an anisotropic grid away from the origin.
ImageVolume Spheres(const std::vector<Sphere>& spheres) {
  Geometry g;
  g.size = {64, 64, 40};
  g.spacing = {0.8, 0.8, 1.25};
  g.origin = {-20, 30, -50};
  ImageVolume v(g, -100.0f);
  for (size_t k = 0; k < g.size[2]; ++k)
    for (size_t j = 0; j < g.size[1]; ++j)
      for (size_t i = 0; i < g.size[0]; ++i) {
        for (const Sphere& s : spheres) {
          const double dx = (double(i) - s.centre_index[0]) * g.spacing[0];
          const double dy = (double(j) - s.centre_index[1]) * g.spacing[1];
          const double dz = (double(k) - s.centre_index[2]) * g.spacing[2];
          if (dx * dx + dy * dy + dz * dz <= s.radius_mm * s.radius_mm) v.at(i, j, k) = 100;
        }
      }
  return v;
}

AppManifest ThresholdManifest() {
  AppManifest m;
  m.id = "test";
  m.runner.kind = Runner::Kind::kTorchScript;
  m.preprocess.mode = "3d";
  m.preprocess.tiling = "tile";
  m.preprocess.patch = std::array<int64_t, 3>{32, 32, 16};
  m.preprocess.overlap = 0.25;
  m.postprocess.op = "argmax";
  m.postprocess.labels = {"lesion"};
  m.postprocess.finding_type = {"27925004", "SCT", "Nodule"};
  m.postprocess.severity = "moderate";
  return m;
}

double Dice(const imaging::Mask& a, const imaging::Mask& b) {
  size_t both = 0, na = 0, nb = 0;
  for (size_t n = 0; n < a.data().size(); ++n) {
    const bool x = a.data()[n] != 0, y = b.data()[n] != 0;
    both += x && y, na += x, nb += y;
  }
  return na + nb == 0 ? 1.0 : 2.0 * double(both) / double(na + nb);
}

double Distance(const imaging::Vec3& a, const imaging::Vec3& b) {
  return std::hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

const std::vector<Sphere> kSpheres = {{{20, 22, 15}, 9.0}, {{45, 40, 26}, 5.0}};

TEST(RunModelApp, TwoSpheresGiveTwoFindings) {
  AppInput input;
  input.image = Spheres(kSpheres);
  const AppManifest m = ThresholdManifest();
  input.manifest = &m;
  FunctionBackend backend(ThresholdLogits(0));
  auto out = RunModelApp(input, backend);
  ASSERT_TRUE(out.ok()) << out.status().ToString();

  ASSERT_EQ(out->segments.size(), 1u);
  const SegmentOutput& seg = out->segments[0];
  EXPECT_EQ(seg.label, "lesion");
  EXPECT_EQ(seg.category.value, "49755003");
  EXPECT_EQ(seg.type.value, "27925004");
  EXPECT_TRUE(seg.mask.geometry().SameGrid(input.image.geometry()));

  ASSERT_EQ(out->findings.size(), 2u);
  const Geometry& g = input.image.geometry();
  for (size_t n = 0; n < 2; ++n) {
    const Finding& f = out->findings[n];
    const Sphere& s = kSpheres[n];  // the larger first
    // A threshold "network" at full resolution: the component is exactly the sphere's voxels.
    size_t voxels = 0;
    const ImageVolume alone = Spheres({s});
    for (float v : alone.data()) voxels += v > 0;
    const double volume_ml = double(voxels) * g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
    SCOPED_TRACE(f.label);
    EXPECT_EQ(f.label, "lesion " + std::to_string(n + 1));
    EXPECT_NEAR(f.volume_ml, volume_ml, 1e-9 * volume_ml);
    std::printf("%s: %.4f ml (%zu voxels; 4/3 pi r^3 = %.4f ml), long axis %.3f mm (2r = %.1f), score %.12f\n",
                f.label.c_str(), f.volume_ml, voxels, 4.0 / 3.0 * M_PI * std::pow(s.radius_mm, 3) / 1000.0, f.size_mm,
                2 * s.radius_mm, f.score);
    // The sphere's voxels are symmetric about its centre voxel: the centroid is that voxel.
    EXPECT_LT(Distance(f.center, g.IndexToPoint(s.centre_index[0], s.centre_index[1], s.centre_index[2])), 1e-9);
    // Longest in-plane diameter between voxel centres: within one pixel below 2r.
    EXPECT_LE(f.size_mm, 2 * s.radius_mm);
    EXPECT_GE(f.size_mm, 2 * s.radius_mm - g.spacing[0]);
    EXPECT_EQ(f.type.value, "27925004");
    EXPECT_EQ(f.severity, "moderate");
    EXPECT_EQ(f.segment_number, 1);
    // The logits are ±100 inside: softmax 1/(1 + e^-200), which is 1 in floating point.
    EXPECT_DOUBLE_EQ(f.score, 1.0);
    ASSERT_EQ(f.measurements.size(), 3u);
    EXPECT_EQ(f.measurements[0].name.value, "118565006");
    EXPECT_EQ(f.measurements[0].unit.value, "ml");
    EXPECT_DOUBLE_EQ(f.measurements[0].value, f.volume_ml);
    EXPECT_EQ(f.measurements[1].name.value, "103339001");
    EXPECT_DOUBLE_EQ(f.measurements[1].value, f.size_mm);
    EXPECT_EQ(f.measurements[2].name.value, "373098007");
    EXPECT_EQ(f.measurements[2].unit.value, "[hnsf'U]");
    EXPECT_DOUBLE_EQ(f.measurements[2].value, 100.0);
  }
  EXPECT_EQ(out->summary.rfind("lesion: 2 findings, ", 0), 0u) << out->summary;
}

TEST(RunModelApp, MinimumVolumeAndNoFindings) {
  AppInput input;
  input.image = Spheres(kSpheres);
  AppManifest m = ThresholdManifest();
  m.postprocess.min_volume_ml = 1.0;  // drops the 0.52 ml sphere
  m.postprocess.finding_type = Code{};
  m.postprocess.labels.clear();
  input.manifest = &m;
  FunctionBackend backend(ThresholdLogits(0));
  auto out = RunModelApp(input, backend);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->findings.size(), 1u);
  EXPECT_EQ(out->findings[0].label, "label 1 1");
  EXPECT_EQ(out->segments.at(0).category.value, "91723000");
  EXPECT_EQ(out->segments.at(0).label, "label 1");

  m.postprocess.findings = false;
  auto plain = RunModelApp(input, backend);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->findings.empty());
  EXPECT_EQ(plain->summary.rfind("label 1 3.", 0), 0u) << plain->summary;  // ~3.05 + 0.52 ml
}

// The model runs at a coarser spacing; the labels come back on the input grid and agree with
// the full-resolution result.
TEST(RunModelApp, SpacingResampledAndBack) {
  AppInput input;
  input.image = Spheres(kSpheres);
  AppManifest m = ThresholdManifest();
  FunctionBackend full(ThresholdLogits(0));
  input.manifest = &m;
  auto reference = RunModelApp(input, full);
  ASSERT_TRUE(reference.ok());

  m.preprocess.spacing = imaging::Vec3{1.6, 1.6, 2.5};
  FunctionBackend coarse(ThresholdLogits(0));
  auto out = RunModelApp(input, coarse);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // The network saw the coarse grid: 32 × 32 × 20 voxels, one patch in-plane.
  ASSERT_FALSE(coarse.inputs.empty());
  EXPECT_EQ(coarse.inputs[0].shape, (std::vector<int64_t>{1, 1, 16, 32, 32}));
  ASSERT_EQ(out->segments.size(), 1u);
  EXPECT_TRUE(out->segments[0].mask.geometry().SameGrid(input.image.geometry()));
  // docs/apps.md (preprocess, "Resampling"): Dice 0.919 with the full-resolution mask, the
  // larger sphere's volume -4.4 %, its centre 0.11 mm off (to the digits printed there).
  const double dice = Dice(out->segments[0].mask, reference->segments[0].mask);
  ASSERT_EQ(out->findings.size(), 2u);
  std::printf("1.6 x 1.6 x 2.5 mm and back: Dice %.4f, volume %.4f vs %.4f ml (%+.2f%%), centre %.3f mm off\n", dice,
              out->findings[0].volume_ml, reference->findings[0].volume_ml,
              100 * (out->findings[0].volume_ml / reference->findings[0].volume_ml - 1),
              Distance(out->findings[0].center, reference->findings[0].center));
  EXPECT_NEAR(dice, 0.919, 0.0005);
  EXPECT_NEAR(100 * (out->findings[0].volume_ml / reference->findings[0].volume_ml - 1), -4.4, 0.05);
  EXPECT_NEAR(Distance(out->findings[0].center, reference->findings[0].center), 0.11, 0.005);
}

// Twice finer in-plane: each input voxel's nearest fine voxel is a quarter voxel away in i and
// j, where bilinear interpolation weighs the voxel itself 9/16, so a ±100 HU image thresholded
// at 0 must come back voxel for voxel.
TEST(RunModelApp, SpacingRoundTripIsExactForFinerInPlaneGrid) {
  AppInput input;
  input.image = Spheres(kSpheres);
  AppManifest m = ThresholdManifest();
  m.preprocess.spacing = imaging::Vec3{0.4, 0.4, 1.25};
  m.preprocess.patch = std::array<int64_t, 3>{128, 128, 40};
  input.manifest = &m;
  FunctionBackend backend(ThresholdLogits(0));
  auto out = RunModelApp(input, backend);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(backend.inputs.size(), 1u);
  EXPECT_EQ(backend.inputs[0].shape, (std::vector<int64_t>{1, 1, 40, 128, 128}));
  imaging::Mask expected(input.image.geometry(), 0);
  for (size_t n = 0; n < expected.data().size(); ++n) expected.data()[n] = input.image.data()[n] > 0;
  ASSERT_EQ(out->segments.size(), 1u);
  EXPECT_TRUE(out->segments[0].mask.geometry().SameGrid(input.image.geometry()));
  EXPECT_EQ(out->segments[0].mask.data(), expected.data());
}

TEST(RunModelApp, Errors) {
  AppInput input;
  input.image = Spheres({});
  AppManifest m = ThresholdManifest();
  FunctionBackend backend(ThresholdLogits(0));
  EXPECT_EQ(RunModelApp(input, backend).status().code(), ErrorCode::kInvalidArgument);  // no manifest
  input.manifest = &m;
  auto none = RunModelApp(input, backend);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->segments.empty());
  EXPECT_TRUE(none->findings.empty());

  FunctionBackend wrong([](const Tensor& in) -> Result<Tensor> {
    Tensor t = in;
    t.shape.erase(t.shape.begin() + 2);  // [1, 1, H, W] from a 3d input
    return t;
  });
  EXPECT_EQ(RunModelApp(input, wrong).status().code(), ErrorCode::kInvalidArgument);
  FunctionBackend failing([](const Tensor&) -> Result<Tensor> {
    return Result<Tensor>(ErrorCode::kInternal, "out of memory");
  });
  EXPECT_EQ(RunModelApp(input, failing).status().code(), ErrorCode::kInternal);

  m.preprocess.patch.reset();
  EXPECT_EQ(RunModelApp(input, backend).status().code(), ErrorCode::kInvalidArgument);
  AppInput empty;
  empty.manifest = &m;
  EXPECT_EQ(RunModelApp(empty, backend).status().code(), ErrorCode::kInvalidArgument);

  m.runner.kind = Runner::Kind::kBuiltin;
  EXPECT_EQ(RunModelApp(input).status().code(), ErrorCode::kInvalidArgument);
  m.runner.kind = Runner::Kind::kTorchScript;
  m.runner.model = "/nonexistent/model.pt";
  EXPECT_FALSE(RunModelApp(input).ok());
}

std::vector<std::string> LungCtFiles() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(std::string(RADFLOW_SHARED_DATA) +
                                              "/dicom/ct_lung_ibsi_pat1/dicom/image")) {
    if (e.path().extension() == ".dcm") files.push_back(e.path().string());
  }
  return files;
}

// A real CT, a "network" that thresholds at 300 HU: the bone segment must be exactly
// image > 300 HU, through tiling (3d patches) and through whole axial slices (2d).
TEST(RunModelApp, RealCtThresholdIsTransparent) {
  auto series = imaging::LoadSeries(LungCtFiles());
  ASSERT_TRUE(series.ok()) << series.status().ToString();
  AppInput input;
  input.image = series->volume;
  imaging::Mask expected(input.image.geometry(), 0);
  size_t bone = 0;
  for (size_t n = 0; n < expected.data().size(); ++n) {
    expected.data()[n] = input.image.data()[n] > 300 ? 1 : 0;
    bone += expected.data()[n];
  }
  ASSERT_GT(bone, 1000u);

  AppManifest m = ThresholdManifest();
  m.postprocess.labels = {"bone"};
  m.postprocess.finding_type = Code{};
  m.preprocess.patch = std::array<int64_t, 3>{96, 96, 32};
  input.manifest = &m;
  const auto& g = input.image.geometry();
  const double voxel_ml = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
  for (const std::string mode : {"3d", "2d"}) {
    SCOPED_TRACE(mode);
    m.preprocess.mode = mode;
    m.preprocess.tiling = mode == "3d" ? "tile" : "none";
    FunctionBackend backend(ThresholdLogits(300));
    auto out = RunModelApp(input, backend);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out->segments.size(), 1u);
    EXPECT_EQ(out->segments[0].label, "bone");
    EXPECT_EQ(out->segments[0].mask.data(), expected.data());
    EXPECT_DOUBLE_EQ(Dice(out->segments[0].mask, expected), 1.0);
    // Every component is a finding (no minimum volume): their volumes add up to the segment's.
    double total = 0;
    for (const Finding& f : out->findings) total += f.volume_ml;
    EXPECT_NEAR(total, double(bone) * voxel_ml, 1e-6 * total);
    ASSERT_FALSE(out->findings.empty());
    for (size_t n = 1; n < out->findings.size(); ++n) {
      ASSERT_GE(out->findings[n - 1].volume_ml, out->findings[n].volume_ml);
    }
    EXPECT_GT(out->findings[0].measurements[2].value, 300.0);  // mean HU of a bone component
    EXPECT_EQ(out->summary.rfind("bone: " + std::to_string(out->findings.size()) + " findings, ", 0), 0u)
        << out->summary;
  }
}

}  // namespace
}  // namespace radflow::ai
