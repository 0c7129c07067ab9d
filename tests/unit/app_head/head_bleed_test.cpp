// ct-head-bleed on the real GE head CT (negative) and on that head with synthetic
// haemorrhages inserted into the parenchyma (positive, volume within 3 % of the inserted
// volume; docs/apps/ct-head-bleed.md "Measured results" gives the figures and why). Times
// are printed only: speed is bench/ai_bench.py's claim, and ctest's timeout catches a hang.
#include "apps/head/head_bleed.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "imaging/resample.h"
#include "imaging/series_volume.h"

namespace radflow::apps::head {
namespace {

namespace fs = std::filesystem;
using imaging::ImageVolume;

const char* kHeadDir = RADFLOW_SHARED_DATA "/dicom/ct_head_ge_tilt/dicom";

struct Head {
  ai::AppInput input;
  imaging::Mask brain;         // working grid
  imaging::Vec3 brain_center;  // LPS
};

const Head& LoadHead() {
  static const Head* head = [] {
    auto* h = new Head;
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(kHeadDir)) files.push_back(e.path().string());
    auto sv = imaging::LoadSeries(files);
    EXPECT_TRUE(sv.ok()) << sv.status().message();
    h->input.image = sv->volume;
    h->input.report = sv->report;
    h->input.files = files;
    h->input.attributes = {{"Modality", "CT"}, {"BodyPartExamined", "HEAD"}};
    h->input.threads = 2;
    HeadBleedSettings s;
    s.threads = 2;
    auto brain = BrainMask(WorkingGrid(h->input.image, s), s);
    EXPECT_TRUE(brain.ok());
    h->brain = *brain;
    double si = 0, sj = 0, sk = 0, n = 0;
    const auto& g = h->brain.geometry();
    for (size_t k = 0; k < g.size[2]; ++k)
      for (size_t j = 0; j < g.size[1]; ++j)
        for (size_t i = 0; i < g.size[0]; ++i)
          if (h->brain.at(i, j, k)) si += double(i), sj += double(j), sk += double(k), n += 1;
    h->brain_center = g.IndexToPoint(si / n, sj / n, sk / n);
    return h;
  }();
  return *head;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(HeadBleed, BrainMaskIsTheIntracranialSoftTissue) {
  const Head& h = LoadHead();
  const auto& g = h.brain.geometry();
  size_t n = 0;
  double hu = 0;
  const ImageVolume work = WorkingGrid(h.input.image, HeadBleedSettings{});
  for (size_t v = 0; v < h.brain.data().size(); ++v)
    if (h.brain.data()[v]) ++n, hu += work.data()[v];
  const double ml = double(n) * g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
  std::printf("brain mask %.0f mL, mean %.1f HU, centre (%.1f, %.1f, %.1f) LPS, working grid %zux%zux%zu\n",
              ml, hu / double(n), h.brain_center[0], h.brain_center[1], h.brain_center[2], g.size[0],
              g.size[1], g.size[2]);
  // Documented: 1090 mL (an adult brain is 1100–1500 mL; the slab and the margins take
  // some), mean 28 HU (parenchyma and CSF, no bone).
  EXPECT_NEAR(ml, 1090, 0.5);
  EXPECT_NEAR(hu / double(n), 28, 0.5);
}

TEST(HeadBleed, RealHeadCtIsNegative) {
  const Head& h = LoadHead();
  HeadBleedSettings s;
  const ImageVolume work = WorkingGrid(h.input.image, s);
  for (const auto& c : DetectHyperdense(work, h.brain, s)) {
    std::printf("candidate %.2f mL %.0f mm mean %.1f HU skull %.1f mm (near %.2f) thick %.1f mm calc %.2f at (%.0f, %.0f, %.0f): %s\n",
                c.volume_ml, c.longest_axial_mm, c.mean_hu, c.skull_distance_mm, c.near_skull_fraction, c.thickness_mm,
                c.calcified_fraction, c.center[0], c.center[1], c.center[2],
                c.accepted ? "ACCEPTED" : c.rejection.c_str());
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto out = RunHeadBleed(h.input);
  const double t = Seconds(t0);
  std::printf("RunHeadBleed on the head CT (%zux%zux%zu, 2 threads): %.3f s\n", h.input.image.geometry().size[0],
              h.input.image.geometry().size[1], h.input.image.geometry().size[2], t);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE(out->findings.empty());
  EXPECT_TRUE(out->segments.empty());
  EXPECT_EQ(out->summary, "no suspected haemorrhage");
}

// Image noise: the spread of differences between in-plane neighbours inside the brain.
double NoiseSigma(const Head& h) {
  const auto& img = h.input.image;
  const auto& g = img.geometry();
  const auto& w = h.brain.geometry();
  double sum2 = 0;
  size_t n = 0;
  for (size_t k = 0; k < g.size[2]; ++k)
    for (size_t j = 0; j < g.size[1]; ++j)
      for (size_t i = 0; i + 1 < g.size[0]; ++i) {
        const auto idx = w.PointToIndex(g.IndexToPoint(double(i), double(j), double(k)));
        const long x = std::lround(idx[0]), y = std::lround(idx[1]), z = std::lround(idx[2]);
        if (x < 0 || y < 0 || z < 0 || x >= long(w.size[0]) || y >= long(w.size[1]) || z >= long(w.size[2]) ||
            !h.brain.at(size_t(x), size_t(y), size_t(z)))
          continue;
        const double d = img.at(i + 1, j, k) - img.at(i, j, k);
        if (std::abs(d) < 40) sum2 += d * d, ++n;  // not across an edge
      }
  return std::sqrt(sum2 / double(n) / 2);
}

struct Blob {
  imaging::Vec3 center;  // LPS
  double volume_ml;
  double hu;
  double noise_scale = 1;  // × the image's noise sigma
};

// Replaces the tissue in a sphere of `volume_ml` by `hu` plus Gaussian noise of the image's
// sigma, with a 2 mm linear edge centred on the radius. Returns the inserted volume
// (Σ weight × voxel volume) and the fraction of it inside the brain mask.
std::pair<double, double> InsertBlob(ImageVolume& img, const imaging::Mask& brain, const Blob& b, double sigma,
                                     unsigned seed) {
  const auto& g = img.geometry();
  const double r = std::cbrt(3 * b.volume_ml * 1000 / (4 * M_PI));
  const double edge = 2;
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, sigma);
  const auto c = g.PointToIndex(b.center);
  long reach[3];
  for (int a = 0; a < 3; ++a) reach[a] = long(std::ceil((r + edge) / g.spacing[a])) + 1;
  double inserted = 0, inside = 0;
  const double voxel_ml = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000;
  for (long k = long(c[2]) - reach[2]; k <= long(c[2]) + reach[2]; ++k)
    for (long j = long(c[1]) - reach[1]; j <= long(c[1]) + reach[1]; ++j)
      for (long i = long(c[0]) - reach[0]; i <= long(c[0]) + reach[0]; ++i) {
        if (i < 0 || j < 0 || k < 0 || i >= long(g.size[0]) || j >= long(g.size[1]) || k >= long(g.size[2])) continue;
        const auto p = g.IndexToPoint(double(i), double(j), double(k));
        const double d = std::hypot(p[0] - b.center[0], p[1] - b.center[1], p[2] - b.center[2]);
        const double wgt = std::clamp(0.5 - (d - r) / edge, 0.0, 1.0);
        if (wgt <= 0) continue;
        float& v = img.at(size_t(i), size_t(j), size_t(k));
        v = float((1 - wgt) * v + wgt * (b.hu + noise(rng)));
        inserted += wgt * voxel_ml;
        const auto w = brain.geometry().PointToIndex(p);
        const long x = std::lround(w[0]), y = std::lround(w[1]), z = std::lround(w[2]);
        if (x >= 0 && y >= 0 && z >= 0 && x < long(brain.geometry().size[0]) && y < long(brain.geometry().size[1]) &&
            z < long(brain.geometry().size[2]) && brain.at(size_t(x), size_t(y), size_t(z)))
          inside += wgt * voxel_ml;
      }
  return {inserted, inside / inserted};
}

// Runs the app on the head CT with `blob` inserted; prints what it found.
ai::AppOutput RunWithBlob(const Blob& blob, double* true_ml) {
  const Head& h = LoadHead();
  ai::AppInput in = h.input;
  const double sigma = NoiseSigma(h) * blob.noise_scale;
  auto [ml, inside] = InsertBlob(in.image, h.brain, blob, sigma, 7);
  *true_ml = ml;
  EXPECT_GT(inside, 0.9) << "the blob must lie in the parenchyma";
  const auto t0 = std::chrono::steady_clock::now();
  auto out = RunHeadBleed(in);
  const double t = Seconds(t0);
  EXPECT_TRUE(out.ok());
  if (!out.ok()) return {};
  std::printf("blob %.0f HU, %.2f mL inserted (noise sigma %.1f HU, %.0f%% in the brain mask) at (%.0f, %.0f, %.0f): "
              "%s [%.3f s]\n",
              blob.hu, ml, sigma, 100 * inside, blob.center[0], blob.center[1], blob.center[2], out->summary.c_str(), t);
  for (const auto& f : out->findings) {
    std::printf("  finding %s score %.2f at (%.1f, %.1f, %.1f), error %.1f%%\n", f.label.c_str(), f.score,
                f.center[0], f.center[1], f.center[2], 100 * (f.volume_ml - ml) / ml);
  }
  return *out;
}

// The finding nearest to `p`, or nullptr.
const ai::Finding* Near(const ai::AppOutput& out, const imaging::Vec3& p, double mm) {
  for (const auto& f : out.findings) {
    if (std::hypot(f.center[0] - p[0], f.center[1] - p[1], f.center[2] - p[2]) < mm) return &f;
  }
  return nullptr;
}

// Volume within `kVolumeTolerance` of the inserted volume: measured -1.5 to -2.6 % (the
// half-contrast edge sits at the middle of the 2 mm ramp), documented as "within 3 %".
constexpr double kVolumeTolerance = 0.03;

// The documented score: 0.5 + 0.3·min(1, volume / 10 mL) + 0.2·clamp((mean HU − 50) / 20, 0, 1).
double DocumentedScore(const ai::Finding& f) {
  return 0.5 + 0.3 * std::min(1.0, f.volume_ml / 10) + 0.2 * std::clamp((f.measurements[1].value - 50) / 20, 0.0, 1.0);
}

void ExpectDetected(const Blob& blob, double tolerance) {
  double ml = 0;
  const auto out = RunWithBlob(blob, &ml);
  ASSERT_EQ(out.findings.size(), 1u);
  const ai::Finding* f = Near(out, blob.center, 5);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, "critical");
  EXPECT_EQ(f->type.value, "1386000");
  EXPECT_EQ(f->type.scheme, "SCT");
  EXPECT_NEAR(f->volume_ml, ml, tolerance * ml);
  const double diameter = 2 * std::cbrt(3 * ml * 1000 / (4 * M_PI));
  // Documented: longest axial diameter within 20 % of the sphere's (measured +3 to +11 %:
  // a Feret diameter over the grown cluster, which includes part of the 2 mm ramp).
  EXPECT_NEAR(f->size_mm, diameter, 0.2 * diameter);
  std::printf("  diameter %.1f mm (sphere %.1f mm, %+.1f%%), score %.4f\n", f->size_mm, diameter,
              100 * (f->size_mm / diameter - 1), f->score);
  ASSERT_EQ(f->measurements.size(), 3u);
  EXPECT_NEAR(f->score, DocumentedScore(*f), 1e-9);
  ASSERT_EQ(out.segments.size(), 1u);
  EXPECT_EQ(f->segment_number, 1);
  EXPECT_TRUE(out.segments[0].mask.geometry().SameGrid(LoadHead().input.image.geometry()));
  size_t n = 0;
  for (auto v : out.segments[0].mask.data()) n += v != 0;
  const auto& g = out.segments[0].mask.geometry();
  // The segment is the working-grid cluster expanded block for block (integer factors): the
  // same volume, to rounding.
  EXPECT_NEAR(double(n) * g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000, f->volume_ml, 1e-9 * f->volume_ml);
}

// Left hemisphere (LPS: +x is the patient's left), basal ganglia level.
imaging::Vec3 Offset(double dx, double dy, double dz) {
  const auto& c = LoadHead().brain_center;
  return {c[0] + dx, c[1] + dy, c[2] + dz};
}

TEST(HeadBleed, TenMillilitre60HuBlobIsFoundAndMeasured) { ExpectDetected({Offset(30, 0, 0), 10, 60}, kVolumeTolerance); }

TEST(HeadBleed, ThreeMillilitreBlobIsFound) { ExpectDetected({Offset(30, 0, 0), 3, 60}, kVolumeTolerance); }

TEST(HeadBleed, BlobInTheRightPosteriorBrainIsFound) { ExpectDetected({Offset(-28, 30, 15), 10, 65}, kVolumeTolerance); }

TEST(HeadBleed, BlobWithThreeTimesTheNoiseIsFound) { ExpectDetected({Offset(30, 0, 0), 10, 60, 3}, kVolumeTolerance); }

TEST(HeadBleed, TwoBlobsAreTwoFindingsLargestFirst) {
  const Head& h = LoadHead();
  ai::AppInput in = h.input;
  const double sigma = NoiseSigma(h);
  const Blob small{Offset(-28, 30, 15), 2, 70}, large{Offset(30, 0, 0), 8, 60};
  const double small_ml = InsertBlob(in.image, h.brain, small, sigma, 1).first;
  const double large_ml = InsertBlob(in.image, h.brain, large, sigma, 2).first;
  auto out = RunHeadBleed(in);
  ASSERT_TRUE(out.ok());
  std::printf("two blobs (%.2f and %.2f mL): %s\n", large_ml, small_ml, out->summary.c_str());
  ASSERT_EQ(out->findings.size(), 2u);
  ASSERT_EQ(out->segments.size(), 2u);
  const ai::Finding* a = Near(*out, large.center, 5);
  const ai::Finding* b = Near(*out, small.center, 5);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a, &out->findings[0]);  // largest first
  EXPECT_EQ(a->segment_number, 1);
  EXPECT_EQ(b->segment_number, 2);
  std::printf("  errors %+.1f%% and %+.1f%%\n", 100 * (a->volume_ml / large_ml - 1), 100 * (b->volume_ml / small_ml - 1));
  EXPECT_NEAR(a->volume_ml, large_ml, kVolumeTolerance * large_ml);
  EXPECT_NEAR(b->volume_ml, small_ml, kVolumeTolerance * small_ml);
  EXPECT_GT(a->score, b->score);
}

// Threads: the same answer with 1 and 2 threads; the timings are printed for the docs.
TEST(HeadBleed, OneAndTwoThreadsAgree) {
  ai::AppInput in = LoadHead().input;
  InsertBlob(in.image, LoadHead().brain, {Offset(30, 0, 0), 10, 60}, NoiseSigma(LoadHead()), 7);
  double ml[2] = {0, 0};
  for (int threads : {1, 2}) {
    in.threads = threads;
    const auto t0 = std::chrono::steady_clock::now();
    auto out = RunHeadBleed(in);
    const double t = Seconds(t0);
    ASSERT_TRUE(out.ok());
    ASSERT_EQ(out->findings.size(), 1u);
    ml[threads - 1] = out->findings[0].volume_ml;
    std::printf("RunHeadBleed with a blob, %d thread(s): %.3f s\n", threads, t);
  }
  EXPECT_DOUBLE_EQ(ml[0], ml[1]);
}

// Not a head: the chest CT has no skull-enclosed cavity worth the name; the app must not
// call its mediastinum a haemorrhage.
TEST(HeadBleed, ChestCtIsNoHaemorrhage) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(RADFLOW_SHARED_DATA "/dicom/ct_chest_lung_dx/Lung_Dx-A0001/CT_5mm_lung_kernel"))
    if (e.path().extension() == ".dcm") files.push_back(e.path().string());
  auto sv = imaging::LoadSeries(files);
  ASSERT_TRUE(sv.ok()) << sv.status().message();
  ai::AppInput in;
  in.image = sv->volume;
  in.threads = 2;
  auto out = RunHeadBleed(in);
  std::printf("chest CT: %s\n", out.ok() ? out->summary.c_str() : out.status().message().c_str());
  if (out.ok()) {
    EXPECT_TRUE(out->findings.empty());
  }
}

TEST(HeadBleed, ContrastStudyIsNotAnalysed) {
  ai::AppInput in = LoadHead().input;
  InsertBlob(in.image, LoadHead().brain, {Offset(30, 0, 0), 10, 60}, NoiseSigma(LoadHead()), 7);
  in.attributes["ContrastBolusAgent"] = "OMNIPAQUE 350";
  auto out = RunHeadBleed(in);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->findings.empty());
  EXPECT_EQ(out->summary.rfind("not analysed: contrast-enhanced study", 0), 0u) << out->summary;
  in.attributes["ContrastBolusAgent"] = "";  // present but empty (Type 2): non-contrast
  out = RunHeadBleed(in);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->findings.size(), 1u);
}

TEST(HeadBleed, FortyHuBlobIsNotHyperdense) {
  double ml = 0;
  const auto out = RunWithBlob({Offset(30, 0, 0), 10, 40}, &ml);
  EXPECT_TRUE(out.findings.empty());
  EXPECT_EQ(out.summary, "no suspected haemorrhage");
}

// Thin slices: the head CT resampled to 300 slices (512 × 611 × 300, about 94 M voxels) with
// a 10 mL blob; the app block-averages it to about 1 mm voxels first. The time is printed
// only (the < 10 s target is bench/ai_bench.py's, docs/benchmarks.md).
TEST(HeadBleed, ThreeHundredSliceVolumeFindsTheBlob) {
  const Head& h = LoadHead();
  imaging::Geometry thin = h.input.image.geometry();
  const double extent = double(thin.size[2]) * thin.spacing[2];
  thin.size[2] = 300;
  thin.spacing[2] = extent / 300;
  thin.origin = h.input.image.geometry().IndexToPoint(0, 0, -0.5 + 0.5 * thin.spacing[2] / h.input.image.geometry().spacing[2]);
  ai::AppInput in;
  in.image = imaging::Resample(h.input.image, thin, imaging::Interpolation::kLinear, -1000, true);
  in.threads = 2;
  const Blob blob{Offset(30, 0, 0), 10, 60};
  auto [ml, inside] = InsertBlob(in.image, h.brain, blob, NoiseSigma(h), 11);
  EXPECT_GT(inside, 0.9);
  {
    HeadBleedSettings s;
    s.threads = 2;
    const ImageVolume work = WorkingGrid(in.image, s);
    auto brain = BrainMask(work, s);
    ASSERT_TRUE(brain.ok());
    for (const auto& c : DetectHyperdense(work, *brain, s)) {
      std::printf("candidate %.2f mL mean %.1f HU skull %.1f mm (near %.2f) thick %.1f mm calc %.2f at (%.0f, %.0f, %.0f): %s\n",
                  c.volume_ml, c.mean_hu, c.skull_distance_mm, c.near_skull_fraction, c.thickness_mm,
                  c.calcified_fraction, c.center[0], c.center[1], c.center[2], c.accepted ? "ACCEPTED" : c.rejection.c_str());
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto out = RunHeadBleed(in);
  const double t = Seconds(t0);
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::printf("RunHeadBleed on %zux%zux%zu (%.2f mm slices, 2 threads): %.3f s; %s\n", thin.size[0], thin.size[1],
              thin.size[2], thin.spacing[2], t, out->summary.c_str());
  for (const auto& f : out->findings) {
    std::printf("  finding %s at (%.1f, %.1f, %.1f)\n", f.label.c_str(), f.center[0], f.center[1], f.center[2]);
  }
  ASSERT_EQ(out->findings.size(), 1u);
  std::printf("  inserted %.2f mL, measured %.2f mL (%+.1f%%)\n", ml, out->findings[0].volume_ml,
              100 * (out->findings[0].volume_ml / ml - 1));
  EXPECT_NEAR(out->findings[0].volume_ml, ml, kVolumeTolerance * ml);
}

}  // namespace
}  // namespace radflow::apps::head
