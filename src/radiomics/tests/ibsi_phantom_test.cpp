// IBSI chapter 1 compliance on the digital phantom (IBSI reference manual, section 5.1):
// every reference row is compared with radflow's value by the one rule of
// radiomics/ibsi_reference.h (tolerance + half a unit of the last printed digit).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "imaging/nifti_io.h"
#include "radiomics/ibsi_reference.h"
#include "radiomics/radiomics.h"

namespace radflow::radiomics {
namespace {

const std::string kData = RADFLOW_SHARED_DATA;

TEST(IbsiPhantom, FeaturesWithinTolerance) {
  const std::string dir = kData + "/ibsi/ibsi1_digital_phantom/";
  auto image = imaging::ReadNifti(dir + "image.nii.gz");
  auto mask = imaging::ReadNiftiMask(dir + "mask.nii.gz");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ASSERT_TRUE(mask.ok()) << mask.status().ToString();
  ASSERT_EQ(image->geometry().size, (std::array<size_t, 3>{5, 4, 4}));
  size_t roi = 0;
  for (const auto v : mask->data()) roi += v != 0;
  ASSERT_EQ(roi, 74u);

  auto table = ReadIbsiReferenceTable(IbsiReferencePath(kData, "phantom"));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_GT(table->size(), 400u);
  std::map<std::string, double> ours;
  for (const auto& f : ComputeAll(*image, *mask, Settings{})) ours[f.tag] = f.value;

  // One line per reference row (docs/ibsi-compliance.md); any miss fails with its numbers.
  int within = 0, missing = 0;
  std::set<std::string> referenced;
  std::printf("%-32s %14s %12s %10s %10s  %s\n", "tag", "ours", "reference", "tolerance", "allowed", "ok");
  for (const auto& c : CompareWithIbsi(ours, *table)) {
    const auto& r = c.reference;
    referenced.insert(r.tag);
    if (!c.ours) {
      ++missing;
      std::printf("%-32s %14s %12s %10g %10g  MISSING\n", r.tag.c_str(), "-", r.printed.c_str(),
                  r.tolerance, c.allowed);
      ADD_FAILURE() << r.tag << ": no value (reference " << r.printed << ")";
      continue;
    }
    within += c.within;
    std::printf("%-32s %14.6g %12s %10g %10g  %s\n", r.tag.c_str(), *c.ours, r.printed.c_str(),
                r.tolerance, c.allowed, c.within ? "ok" : "MISMATCH");
    EXPECT_TRUE(c.within) << r.tag << ": ours " << *c.ours << ", reference " << r.printed << " +- "
                          << r.tolerance << ", |deviation| " << c.deviation << " > allowed " << c.allowed;
  }
  for (const auto& [tag, value] : ours) {
    if (!referenced.count(tag)) std::printf("%-32s %14.6g  (no reference value)\n", tag.c_str(), value);
  }
  std::printf("IBSI digital phantom: %d of %zu reference values within tolerance, %d missing\n", within,
              table->size(), missing);
}

TEST(IbsiPhantom, EmptyRoiGivesNoFeatures) {
  imaging::Geometry g;
  g.size = {3, 3, 3};
  const imaging::ImageVolume image(g, 1.0f);
  const imaging::Mask mask(g, 0);
  EXPECT_TRUE(ComputeAll(image, mask, Settings{}).empty());
}

// Degenerate ROIs (one voxel, one grey level, a flat slab) must not crash; every feature
// reported must be a finite number.
TEST(Radiomics, DegenerateRoisGiveFiniteFeatures) {
  imaging::Geometry g;
  g.size = {6, 5, 4};
  g.spacing = {0.8, 0.8, 3.0};
  imaging::ImageVolume image(g, 2.0f);
  for (size_t v = 0; v < image.data().size(); ++v)
    image.data()[v] = 1.0f + static_cast<float>(v % 3);
  std::vector<imaging::Mask> masks;
  masks.emplace_back(g, 0);
  masks.back().at(2, 2, 1) = 1;  // one voxel
  masks.emplace_back(g, 0);
  for (size_t x = 0; x < 6; ++x)
    for (size_t y = 0; y < 5; ++y) masks.back().at(x, y, 2) = 1;  // one slice
  masks.emplace_back(g, 1);                                       // everything
  for (const auto& mask : masks) {
    for (const auto& f : ComputeAll(image, mask, Settings{})) {
      EXPECT_TRUE(std::isfinite(f.value)) << f.tag << " = " << f.value;
    }
  }
  imaging::ImageVolume flat(g, 3.0f);  // a single grey level
  for (const auto& f : ComputeAll(flat, masks.back(), Settings{})) {
    EXPECT_TRUE(std::isfinite(f.value)) << f.tag << " = " << f.value;
  }
}

double Value(const std::vector<Feature>& features, const std::string& tag) {
  for (const auto& f : features) {
    if (f.tag == tag) return f.value;
  }
  ADD_FAILURE() << tag << " not computed";
  return std::nan("");
}

// One voxel: the marching-cubes surface is the octahedron through its face centres.
TEST(Radiomics, SingleVoxelMeshIsAnOctahedron) {
  imaging::Geometry g;
  g.size = {3, 3, 3};
  g.spacing = {2, 2, 2};
  const imaging::ImageVolume image(g, 1.0f);
  imaging::Mask mask(g, 0);
  mask.at(1, 1, 1) = 1;
  const auto f = Morphology(image, mask);
  EXPECT_NEAR(Value(f, "morph_volume"), 8.0 / 6.0, 1e-9);
  // Eight equilateral faces of edge sqrt(2) mm.
  EXPECT_NEAR(Value(f, "morph_area_mesh"), 8 * std::sqrt(3.0) / 4 * 2, 1e-9);
  EXPECT_NEAR(Value(f, "morph_vol_approx"), 8.0, 1e-9);
  EXPECT_NEAR(Value(f, "morph_diam"), 2.0, 1e-9);
}

// A box's mesh (a box with chamfered edges and corners) is convex: it is its own hull.
TEST(Radiomics, BoxIsItsOwnConvexHull) {
  imaging::Geometry g;
  g.size = {6, 5, 4};
  g.spacing = {0.7, 0.9, 2.5};
  const imaging::ImageVolume image(g, 1.0f);
  imaging::Mask mask(g, 0);
  for (size_t z = 1; z < 3; ++z)
    for (size_t y = 1; y < 4; ++y)
      for (size_t x = 1; x < 5; ++x) mask.at(x, y, z) = 1;
  const auto f = Morphology(image, mask);
  EXPECT_NEAR(Value(f, "morph_vol_dens_conv_hull"), 1.0, 1e-9);
  EXPECT_NEAR(Value(f, "morph_area_dens_conv_hull"), 1.0, 1e-9);
  // Between the box through the outer voxel centres and the box of the voxels themselves.
  EXPECT_GT(Value(f, "morph_volume"), 3 * 2 * 1 * 0.7 * 0.9 * 2.5);
  EXPECT_LT(Value(f, "morph_volume"), 4 * 3 * 2 * 0.7 * 0.9 * 2.5);
}

}  // namespace
}  // namespace radflow::radiomics
