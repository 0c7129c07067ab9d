// ct-lung-lesions on real chest CTs (tumour boxes of Lung-PET-CT-Dx A0001, IBSI PAT1 GTV)
// and on a synthetic phantom with a sphere of known size. The expected values are those of
// docs/apps/ct-lung-lesions.md "Measured results", to the digits printed there (half a unit
// of the last digit); counts exactly. Timings are printed only (speed: bench/ai_bench.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include "apps/lung/lesion_measure.h"
#include "apps/lung/lung_apps.h"
#include "imaging/nifti_io.h"
#include "imaging/resample.h"
#include "lung_test_data.h"

namespace radflow::apps::lung {
namespace {

using testing::Chest;
using testing::Ibsi;

struct TumourBox {
  double z = 0;  // slice position (LPS z) of the annotated slice
  int xmin = 0, ymin = 0, xmax = 0, ymax = 0;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The PASCAL-VOC boxes; each XML is named by the SOPInstanceUID of its slice, found by
// looking for that UID in the slice files, whose position LoadSeries gives.
std::vector<TumourBox> ChestBoxes() {
  std::vector<TumourBox> boxes;
  const auto files = testing::DcmFiles(testing::ChestDir() + "/CT_5mm_lung_kernel");
  std::vector<std::string> bytes;
  for (const auto& f : files) bytes.push_back(ReadAll(f));
  for (const auto& e : std::filesystem::directory_iterator(testing::ChestDir() + "/annotations_voc")) {
    const std::string uid = e.path().stem().string();
    const std::string xml = ReadAll(e.path().string());
    auto num = [&](const char* tag) {
      std::smatch m;
      const std::regex re(std::string("<") + tag + ">([0-9]+)<");
      return std::regex_search(xml, m, re) ? std::stoi(m[1]) : -1;
    };
    for (size_t n = 0; n < files.size(); ++n) {
      if (bytes[n].find(uid + '\0') == std::string::npos && bytes[n].find(uid + ' ') == std::string::npos &&
          bytes[n].find(uid) == std::string::npos)
        continue;
      auto one = imaging::LoadSeries({files[n]});
      if (!one.ok()) continue;
      boxes.push_back({one->volume.geometry().origin[2], num("xmin"), num("ymin"), num("xmax"), num("ymax")});
      break;
    }
  }
  return boxes;
}

// True when `center` (LPS) lies within an annotated box, ±1 slice.
bool InBox(const imaging::Geometry& g, const std::vector<TumourBox>& boxes, const imaging::Vec3& center) {
  const auto idx = g.PointToIndex(center);
  for (const auto& b : boxes) {
    if (std::abs(center[2] - b.z) > 1.5 * g.spacing[2]) continue;
    if (idx[0] >= b.xmin && idx[0] <= b.xmax && idx[1] >= b.ymin && idx[1] <= b.ymax) return true;
  }
  return false;
}

ai::AppInput InputOf(const imaging::SeriesVolume& sv, int threads = 2) {
  ai::AppInput in;
  in.image = sv.volume;
  in.report = sv.report;
  in.threads = threads;
  return in;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(LungSegmentation, ChestCtHasTwoLungsAndAnAirway) {
  const auto* sv = Chest();
  ASSERT_NE(sv, nullptr);
  auto m = SegmentLungs(sv->volume, 2);
  ASSERT_TRUE(m.ok()) << m.status().message();
  const auto& g = sv->volume.geometry();
  const double voxel_ml = g.spacing[0] * g.spacing[1] * g.spacing[2] / 1000.0;
  auto stats = [&](const imaging::Mask& mask, double* cx) {
    size_t n = 0;
    double sx = 0;
    for (size_t k = 0; k < g.size[2]; ++k)
      for (size_t j = 0; j < g.size[1]; ++j)
        for (size_t i = 0; i < g.size[0]; ++i)
          if (mask.at(i, j, k)) ++n, sx += g.IndexToPoint(double(i), double(j), double(k))[0];
    *cx = n ? sx / double(n) : 0;
    return double(n) * voxel_ml;
  };
  double lx = 0, rx = 0, ax = 0;
  const double lv = stats(m->left, &lx), rv = stats(m->right, &rx), av = stats(m->airway, &ax);
  std::printf("left %.0f ml (x %.0f), right %.0f ml (x %.0f), airway %.1f ml\n", lv, lx, rv, rx, av);
  // Documented: left 2368 ml, right 3127 ml, airway 32 ml.
  EXPECT_NEAR(lv, 2368, 0.5);
  EXPECT_NEAR(rv, 3127, 0.5);
  EXPECT_GT(lx, rx);  // LPS: +x is the patient's left
  EXPECT_NEAR(av, 32, 0.5);  // the trachea on the upper slices
}

TEST(LungLesions, TopFindingIsTheAnnotatedTumour) {
  const auto* sv = Chest();
  ASSERT_NE(sv, nullptr);
  const auto boxes = ChestBoxes();
  ASSERT_EQ(boxes.size(), 11u);
  const auto t0 = std::chrono::steady_clock::now();
  auto out = RunLungLesions(InputOf(*sv));
  const double secs = Seconds(t0);
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::printf("ct-lung-lesions, %zu slices, 2 threads: %.2f s — %s\n", sv->volume.geometry().size[2], secs,
              out->summary.c_str());
  for (const auto& f : out->findings) {
    std::printf("  %.2f %-8s %s at (%.1f, %.1f, %.1f) %.1f ml", f.score, f.severity.c_str(), f.label.c_str(),
                f.center[0], f.center[1], f.center[2], f.volume_ml);
    for (const auto& [code, value, unit] : f.measurements) std::printf(" %.1f %s", value, unit.value.c_str());
    std::printf("\n");
  }
  ASSERT_FALSE(out->findings.empty());
  // Documented: 1 finding, on merit (the safety cap of 20 is not involved).
  EXPECT_EQ(out->findings.size(), 1u);
  // Speed (target < 2 s) is measured by bench/ai_bench.py, not asserted here.
  const auto& top = out->findings.front();
  EXPECT_TRUE(InBox(sv->volume.geometry(), boxes, top.center))
      << "top finding at (" << top.center[0] << ", " << top.center[1] << ", " << top.center[2] << ")";
  EXPECT_EQ(top.type.value, "4147007");  // a ~6 cm tumour is a mass
  EXPECT_EQ(top.severity, "high");
  ASSERT_EQ(top.measurements.size(), 4u);
  const auto& [volume_code, volume_value, volume_unit] = top.measurements[0];  // (member named `concept`)
  EXPECT_EQ(volume_code.value, "118565006");
  EXPECT_EQ(volume_unit.value, "ml");
  EXPECT_NEAR(volume_value, top.volume_ml, 1e-9);
  // Documented: 127 ml, long/short axis 89.4 / 61.5 mm, mean 9 HU.
  EXPECT_NEAR(top.volume_ml, 127, 0.5);
  EXPECT_NEAR(top.measurements[1].value, 89.4, 0.05);
  EXPECT_NEAR(top.measurements[2].value, 61.5, 0.05);
  EXPECT_NEAR(top.measurements[3].value, 9, 0.5);
  ASSERT_GE(top.segment_number, 3);
  ASSERT_LE(size_t(top.segment_number), out->segments.size());
  EXPECT_TRUE(out->segments[size_t(top.segment_number) - 1].mask.geometry().SameGrid(sv->volume.geometry()));
  EXPECT_EQ(out->segments[0].type.value, "44029006");
}

// False-positive reduction itself, without any reporting cap: of the 39 candidate regions
// on A0001 (hilar vessels, vessel junctions, partial-volume rims), 1 survives; each
// reason's count is the documented one.
TEST(LungLesions, FalsePositiveReductionLeavesAtMostSixCandidates) {
  const auto* sv = Chest();
  ASSERT_NE(sv, nullptr);
  LesionStats stats;
  auto lesions = DetectLesions(sv->volume, 2, 1000, nullptr, &stats);
  ASSERT_TRUE(lesions.ok()) << lesions.status().message();
  const char* names[] = {"kept", "small", "large", "enclosed", "tubular", "flat", "hilar", "vessel tree", "rim", "faint"};
  static_assert(std::size(names) == size_t(Reject::kCount));
  std::printf("A0001: %zu candidates;", stats.candidates);
  size_t total = 0;
  for (size_t r = 0; r < size_t(Reject::kCount); ++r) std::printf(" %s %zu", names[r], stats.by_reason[r]), total += stats.by_reason[r];
  std::printf("\n");
  EXPECT_EQ(total, stats.candidates);
  EXPECT_EQ(stats.candidates, 39u);  // the rules, not the candidate generator, do the work
  const size_t kept = stats.by_reason[size_t(Reject::kNone)];
  EXPECT_EQ(lesions->size(), kept);
  // kept, small, large, enclosed, tubular, flat, hilar, vessel tree (junctions dominate), rim, faint
  const size_t documented[] = {1, 0, 2, 1, 4, 0, 1, 27, 2, 1};
  static_assert(std::size(documented) == size_t(Reject::kCount));
  for (size_t r = 0; r < size_t(Reject::kCount); ++r) EXPECT_EQ(stats.by_reason[r], documented[r]) << names[r];
  ASSERT_FALSE(lesions->empty());
  EXPECT_TRUE(InBox(sv->volume.geometry(), ChestBoxes(), lesions->front().center));
}

TEST(LungLesions, IbsiTumourMaskMatchesTheGtv) {
  const auto* sv = Ibsi();
  ASSERT_NE(sv, nullptr);
  auto gtv = imaging::ReadNiftiMask(testing::IbsiDir() + "/nifti/mask/mask.nii.gz");
  ASSERT_TRUE(gtv.ok()) << gtv.status().message();
  // The NIfTI grid is the DICOM grid (checked by the imaging tests); resample to be safe.
  imaging::ImageVolume gf(gtv->geometry());
  for (size_t n = 0; n < gf.data().size(); ++n) gf.data()[n] = gtv->data()[n];
  const auto on_ct = imaging::Resample(gf, sv->volume.geometry(), imaging::Interpolation::kNearest);
  size_t gtv_n = 0;
  for (float v : on_ct.data()) gtv_n += v > 0.5f;
  ASSERT_GT(gtv_n, 1000u);
  const auto t0 = std::chrono::steady_clock::now();
  auto out = RunLungLesions(InputOf(*sv));
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::printf("IBSI PAT1: %.2f s — %s\n", Seconds(t0), out->summary.c_str());
  double best = 0;
  for (const auto& f : out->findings) {
    const auto& mask = out->segments[size_t(f.segment_number) - 1].mask;
    size_t both = 0, n = 0;
    for (size_t v = 0; v < mask.data().size(); ++v) {
      n += mask.data()[v] != 0;
      both += mask.data()[v] && on_ct.data()[v] > 0.5f;
    }
    const double dice = 2.0 * double(both) / double(n + gtv_n);
    std::printf("  %.2f %s: %.1f ml, Dice %.3f\n", f.score, f.label.c_str(), f.volume_ml, dice);
    best = std::max(best, dice);
  }
  EXPECT_NEAR(best, 0.704, 0.0005);  // documented Dice 0.704 (0.622 before the enhancing-rim trim)
}

// A synthetic chest: body, two lungs at -850 HU, a 12 mm solid sphere in the right lung.
imaging::ImageVolume Phantom(double nodule_diameter_mm) {
  imaging::Geometry g;
  g.size = {200, 160, 60};
  g.spacing = {1.5, 1.5, 2.0};
  g.origin = {-150, -120, -60};
  imaging::ImageVolume v(g, -1000.f);
  const imaging::Vec3 nodule{-60, 0, 0};
  for (size_t k = 0; k < g.size[2]; ++k)
    for (size_t j = 0; j < g.size[1]; ++j)
      for (size_t i = 0; i < g.size[0]; ++i) {
        const auto p = g.IndexToPoint(double(i), double(j), double(k));
        const double bx = p[0] / 140, by = p[1] / 100;
        if (bx * bx + by * by > 1) continue;
        float hu = 40;
        for (double cx : {-60.0, 60.0}) {
          const double lx = (p[0] - cx) / 45, ly = p[1] / 70, lz = p[2] / 55;
          if (lx * lx + ly * ly + lz * lz <= 1) hu = -850;
        }
        const double d = std::sqrt((p[0] - nodule[0]) * (p[0] - nodule[0]) + p[1] * p[1] + p[2] * p[2]);
        if (d <= nodule_diameter_mm / 2) hu = 30;
        v.at(i, j, k) = hu;
      }
  return v;
}

TEST(LungLesions, PhantomSphereIsMeasured) {
  ai::AppInput in;
  in.image = Phantom(12);
  in.threads = 2;
  auto out = RunLungLesions(in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->findings.size(), 1u) << out->summary;
  const auto& f = out->findings[0];
  std::printf("phantom 12 mm: %s, %.3f ml, axes %.1f/%.1f mm\n", f.label.c_str(), f.volume_ml,
              f.measurements[1].value, f.measurements[2].value);
  EXPECT_NEAR(f.center[0], -60, 1.5);
  EXPECT_NEAR(f.center[1], 0, 1.5);
  EXPECT_NEAR(f.center[2], 0, 1.5);
  // Documented: long axis 12.75 mm (8.5 pixels of 1.5 mm), 0.851 ml (true 0.905 ml: the
  // > -500 HU voxels of a 12 mm sphere on 1.5 mm voxels, -6 %).
  EXPECT_NEAR(f.measurements[1].value, 12.75, 0.005);
  EXPECT_NEAR(f.volume_ml, 0.851, 0.0005);
  // The app's volume tolerance against the truth, ±0.25 ml, is what docs/ai-results.md
  // (Tolerances), lesion_tracking and similar-cases build on; here -0.054 ml.
  EXPECT_NEAR(f.volume_ml, M_PI / 6 * 12 * 12 * 12 / 1000, 0.25);
  EXPECT_EQ(f.type.value, "27925004");
  EXPECT_EQ(f.severity, "high");  // 12 mm solid: Lung-RADS 4A by size
  EXPECT_EQ(out->segments[1].type.value, "3341006");
  EXPECT_GT(out->segments.size(), 2u);
}

// A solid nodule (40 HU) of `diameter_mm` blended into `v` with partial volume: each voxel
// takes the fraction of it inside the sphere (4×4×4 sub-samples), so thick slices blur it
// as a scanner would; vessels it touches stay.
void InsertNodule(imaging::ImageVolume* v, const imaging::Vec3& c, double diameter_mm) {
  const auto& g = v->geometry();
  const double r = diameter_mm / 2;
  const auto lo = g.PointToIndex({c[0] - r - 3, c[1] - r - 3, c[2] - r - g.spacing[2]});
  const auto hi = g.PointToIndex({c[0] + r + 3, c[1] + r + 3, c[2] + r + g.spacing[2]});
  for (long k = std::min(lo[2], hi[2]); k <= std::max(lo[2], hi[2]); ++k)
    for (long j = lo[1]; j <= hi[1]; ++j)
      for (long i = lo[0]; i <= hi[0]; ++i) {
        int in = 0;
        for (int s = 0; s < 64; ++s) {
          const double di = (s % 4 + 0.5) / 4 - 0.5, dj = (s / 4 % 4 + 0.5) / 4 - 0.5, dk = (s / 16 + 0.5) / 4 - 0.5;
          const auto p = g.IndexToPoint(double(i) + di, double(j) + dj, double(k) + dk);
          const double dx = p[0] - c[0], dy = p[1] - c[1], dz = p[2] - c[2];
          in += dx * dx + dy * dy + dz * dz <= r * r;
        }
        float& hu = v->at(size_t(i), size_t(j), size_t(k));
        hu = std::max(hu, float(hu + (40.0 - hu) * in / 64.0));
      }
}

// Small solid nodules must survive false-positive reduction: an 8 mm one in the right lung
// close to vessels and a 10 mm one in the left lung touching vessels, inserted into the real
// 5 mm chest CT away from the tumour, are both reported (and the tumour stays on top).
TEST(LungLesions, InsertedSmallNodulesAreReported) {
  const auto* sv = Chest();
  ASSERT_NE(sv, nullptr);
  const imaging::Vec3 nodules[] = {{-72.4, 146.7, -260}, {70, 135, -290}};
  const double diameters[] = {8, 10};
  ai::AppInput in = InputOf(*sv);
  for (int n = 0; n < 2; ++n) {
    // Lung parenchyma there: the nodule's neighbourhood is mostly air before insertion.
    const auto c = in.image.geometry().PointToIndex(nodules[n]);
    EXPECT_LT(in.image.at(size_t(c[0]), size_t(c[1]), size_t(c[2])), -600.f);
    InsertNodule(&in.image, nodules[n], diameters[n]);
  }
  auto out = RunLungLesions(in);
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::printf("inserted 8 + 10 mm nodules: %s\n", out->summary.c_str());
  ASSERT_FALSE(out->findings.empty());
  EXPECT_TRUE(InBox(sv->volume.geometry(), ChestBoxes(), out->findings.front().center));
  EXPECT_EQ(out->findings.size(), 3u);  // documented: the tumour and the two nodules
  const double documented_long_axis[] = {10.2, 13.3};  // > -500 HU extent with partial volume
  for (int n = 0; n < 2; ++n) {
    bool found = false;
    for (const auto& f : out->findings) {
      const double d = std::hypot(f.center[0] - nodules[n][0], f.center[1] - nodules[n][1], f.center[2] - nodules[n][2]);
      if (d > 4) continue;
      found = true;
      std::printf("  %.0f mm nodule: %s, score %.2f, %.2f ml, long axis %.2f mm, %.2f mm off\n", diameters[n],
                  f.label.c_str(), f.score, f.volume_ml, f.size_mm, d);
      EXPECT_EQ(f.type.value, "27925004");  // a nodule, not a mass
      EXPECT_NEAR(d, 1.0, 0.05);            // documented: 1 mm from the true centre
      EXPECT_NEAR(f.size_mm, documented_long_axis[n], 0.05);
    }
    EXPECT_TRUE(found) << diameters[n] << " mm nodule not reported";
  }
}

// The same CT resampled to 1 mm slices (316): same top finding, the 8 mm nodule inserted
// there found too, and (documented) 1 other finding. The time is printed only.
TEST(LungLesions, ThinSliceChestCtKeepsTheTumourOnTopAndFindsANodule) {
  const auto* sv = Chest();
  ASSERT_NE(sv, nullptr);
  auto g = sv->volume.geometry();
  g.spacing[2] = 1.0;
  g.size[2] = (sv->volume.geometry().size[2] - 1) * 5 + 1;
  ai::AppInput in;
  in.image = imaging::Resample(sv->volume, g, imaging::Interpolation::kLinear);
  in.threads = 2;
  const imaging::Vec3 nodule{-72.4, 146.7, -260};
  InsertNodule(&in.image, nodule, 8);
  const auto t0 = std::chrono::steady_clock::now();
  auto out = RunLungLesions(in);
  const double secs = Seconds(t0);
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::printf("1 mm slices (%zu): %.2f s — %s\n", g.size[2], secs, out->summary.c_str());
  ASSERT_FALSE(out->findings.empty());
  EXPECT_EQ(out->findings.size(), 3u);
  EXPECT_TRUE(InBox(sv->volume.geometry(), ChestBoxes(), out->findings.front().center));
  bool found = false;
  for (const auto& f : out->findings)
    found = found || std::hypot(f.center[0] - nodule[0], f.center[1] - nodule[1], f.center[2] - nodule[2]) < 4;
  EXPECT_TRUE(found);
}

// Sensitivity of the whole pipeline to small solid nodules inserted into the real 5 mm CT
// (partial volume, next to whatever vessels are there), 8 at a time: false-positive
// reduction keeps the documented 46/49 (8 mm) and 45/49 (10 mm) and adds no new findings.
TEST(LungLesions, InsertedNoduleSensitivity) {
  const auto* sv = Chest();
  ASSERT_NE(sv, nullptr);
  const auto& g = sv->volume.geometry();
  LungMasks lungs;
  ASSERT_TRUE(DetectLesions(sv->volume, 2, 1000, &lungs).ok());
  // Positions on a grid: inside the lungs (±7 mm, ±1 slice), centre < -750 HU (not on a
  // vessel), > 70 mm from the tumour, > 35 mm apart.
  std::vector<imaging::Vec3> pos;
  for (size_t k = 8; k + 8 < g.size[2]; k += 3)
    for (size_t j = 40; j < g.size[1]; j += 37)
      for (size_t i = 40; i < g.size[0]; i += 37) {
        if (!(lungs.left.at(i, j, k) || lungs.right.at(i, j, k))) continue;
        const auto p = g.IndexToPoint(double(i), double(j), double(k));
        if (std::hypot(p[0] - 24, p[1] - 180, p[2] + 228) < 70) continue;
        bool ok = true;
        for (long dk = -1; dk <= 1 && ok; ++dk)
          for (long dj = -8; dj <= 8 && ok; dj += 2)
            for (long di = -8; di <= 8 && ok; di += 2) {
              const long x = long(i) + di, y = long(j) + dj, z = long(k) + dk;
              ok = lungs.left.at(x, y, z) || lungs.right.at(x, y, z);
            }
        if (!ok || sv->volume.at(i, j, k) > -750) continue;
        bool far = true;
        for (const auto& q : pos) far = far && std::hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]) > 35;
        if (far) pos.push_back(p);
      }
  ASSERT_EQ(pos.size(), 49u);
  for (auto [d, documented_found] : {std::pair{8.0, size_t(46)}, std::pair{10.0, size_t(45)}}) {
    size_t found = 0, extra = 0;
    for (size_t start = 0; start < pos.size(); start += 8) {
      auto v = sv->volume;
      const size_t end = std::min(pos.size(), start + 8);
      for (size_t n = start; n < end; ++n) InsertNodule(&v, pos[n], d);
      LesionStats st;
      auto r = DetectLesions(v, 2, 1000, nullptr, &st);
      for (size_t n = start; n < end; ++n) {
        bool f = false;
        for (const auto& l : *r) f = f || std::hypot(l.center[0] - pos[n][0], l.center[1] - pos[n][1], l.center[2] - pos[n][2]) < 5;
        found += f;
        if (!f) std::printf("  missed %.0f mm at (%.0f, %.0f, %.0f)\n", d, pos[n][0], pos[n][1], pos[n][2]);
      }
      extra += r->size() - 1 - size_t(std::count_if(r->begin(), r->end(), [&](const Lesion& l) {
                 for (size_t n = start; n < end; ++n)
                   if (std::hypot(l.center[0] - pos[n][0], l.center[1] - pos[n][1], l.center[2] - pos[n][2]) < 5) return true;
                 return false;
               }));
      EXPECT_TRUE(InBox(g, ChestBoxes(), r->front().center));
    }
    std::printf("%.0f mm nodules inserted at %zu positions (8 per scan): %zu reported (%.0f %%), %zu other findings besides the tumour\n",
                d, pos.size(), found, 100.0 * double(found) / double(pos.size()), extra);
    EXPECT_EQ(found, documented_found);
    EXPECT_EQ(extra, 0u);
  }
}

// The false-positive rules on hand-built features: one change at a time from an isolated
// 10 mm solid nodule on 5 mm slices.
TEST(LungLesionRules, EachRuleOnHandBuiltFeatures) {
  Lesion n;
  n.long_axis_mm = 10, n.short_axis_mm = 9, n.elongation = 1.1, n.mean_hu = -60, n.solid_fraction = 0.8;
  Features f;
  f.contact = 0.9, f.z_extent_mm = 10, f.slice_mm = 5, f.attached = 1.3;
  f.shape.slices = 2, f.shape.p90_hu = 40;
  EXPECT_EQ(Classify(n, f), Reject::kNone);
  auto with = [&](auto change) {
    Lesion l = n;
    Features g = f;
    change(l, g);
    return Classify(l, g);
  };
  EXPECT_EQ(with([](Lesion& l, Features&) { l.long_axis_mm = 2.5, l.short_axis_mm = 2; }), Reject::kSmall);
  EXPECT_EQ(with([](Lesion&, Features& g) { g.contact = 0.1; }), Reject::kEnclosed);
  EXPECT_EQ(with([](Lesion& l, Features&) { l.elongation = 3.5; }), Reject::kTubular);
  // Against the mediastinum and elongated: a hilar vessel; a 40 mm mass there is kept.
  EXPECT_EQ(with([](Lesion& l, Features& g) { g.medial = g.wall = 0.6, l.elongation = 2; }), Reject::kHilar);
  EXPECT_EQ(with([](Lesion&, Features& g) { g.medial = g.wall = 0.5; }), Reject::kNone);  // juxtamediastinal nodule
  EXPECT_EQ(with([](Lesion&, Features& g) { g.medial = g.wall = 0.7; }), Reject::kHilar);
  EXPECT_EQ(with([](Lesion& l, Features& g) { g.medial = g.wall = 0.6, l.elongation = 2, l.long_axis_mm = 40, g.z_extent_mm = 40; }),
            Reject::kNone);
  // Tied into the vessel tree: rejected on one slice; a sphere-like nodule touching a
  // vessel (attachment <= 6 over >= 2 slices) is kept, a larger attachment is not.
  EXPECT_EQ(with([](Lesion&, Features& g) { g.attached = 4, g.shape.slices = 1, g.z_extent_mm = 5; }), Reject::kVesselTree);
  EXPECT_EQ(with([](Lesion&, Features& g) { g.attached = 4; }), Reject::kNone);
  EXPECT_EQ(with([](Lesion&, Features& g) { g.attached = 8; }), Reject::kVesselTree);
  // Partial volume along the chest wall / diaphragm; no solid core.
  EXPECT_EQ(with([](Lesion& l, Features& g) { g.wall = 0.5, l.mean_hu = -180; }), Reject::kRim);
  EXPECT_EQ(with([](Lesion&, Features& g) { g.shape.p90_hu = -150; }), Reject::kFaint);
  // Score: the isolated nodule outranks the same nodule tied into vessels.
  Features tied = f;
  tied.attached = 2.4;
  EXPECT_GT(Suspicion(n, f), Suspicion(n, tied));
}

TEST(LungLesions, EmptyAndFlatInputsAreErrors) {
  ai::AppInput in;
  EXPECT_FALSE(RunLungLesions(in).ok());
  imaging::Geometry g;
  g.size = {64, 64, 10};
  in.image = imaging::ImageVolume(g, 40.f);  // no air at all
  auto out = RunLungLesions(in);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace radflow::apps::lung
