// ct-head-bleed on the real GE head CT (negative) and on that head with synthetic
// haemorrhages inserted into the parenchyma (positive, volume within 15 %).
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
  EXPECT_GT(ml, 500);   // an adult brain is 1100–1500 mL; the slab and the margins take some
  EXPECT_LT(ml, 1600);
  EXPECT_GT(hu / double(n), 20);  // parenchyma and CSF, no bone
  EXPECT_LT(hu / double(n), 45);
}

TEST(HeadBleed, RealHeadCtIsNegative) {
  const Head& h = LoadHead();
  HeadBleedSettings s;
  const ImageVolume work = WorkingGrid(h.input.image, s);
  for (const auto& c : DetectHyperdense(work, h.brain, s)) {
    std::printf("candidate %.2f mL %.0f mm mean %.1f HU skull %.1f mm thick %.1f mm calc %.2f at (%.0f, %.0f, %.0f): %s\n",
                c.volume_ml, c.longest_axial_mm, c.mean_hu, c.skull_distance_mm, c.thickness_mm,
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
  EXPECT_LT(t, 2.0);
}

}  // namespace
}  // namespace radflow::apps::head
