#include "imaging/morphology.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace radflow::imaging {

namespace {
Geometry Grid(size_t n, double sx = 1, double sy = 1, double sz = 1) {
  Geometry g;
  g.size = {n, n, n};
  g.spacing = {sx, sy, sz};
  return g;
}
size_t Count(const Mask& m) { return size_t(std::count(m.data().begin(), m.data().end(), 1)); }
}  // namespace

TEST(Morphology, DilateAVoxelGivesTheBall) {
  Mask m(Grid(7), 0);
  m.at(3, 3, 3) = 1;
  EXPECT_EQ(Count(Dilate(m, 1.0)), 7u);    // the centre and its 6 face neighbours
  EXPECT_EQ(Count(Dilate(m, 1.5)), 19u);   // + 12 edge neighbours (sqrt 2)
  EXPECT_EQ(Count(Dilate(m, 1.8)), 27u);   // + 8 corners (sqrt 3)
  // Anisotropic voxels: 3 mm slices are out of reach of a 2 mm ball.
  Mask a(Grid(7, 1, 1, 3), 0);
  a.at(3, 3, 3) = 1;
  EXPECT_EQ(Count(Dilate(a, 2.0)), 13u);   // in-plane disc of radius 2 voxels only
}

TEST(Morphology, ErodeOpenClose) {
  Mask cube(Grid(9), 0);
  for (size_t k = 2; k < 7; ++k)
    for (size_t j = 2; j < 7; ++j)
      for (size_t i = 2; i < 7; ++i) cube.at(i, j, k) = 1;
  EXPECT_EQ(Count(Erode(cube, 1.0)), 27u);  // 5^3 -> 3^3
  Mask speck = cube;
  speck.at(0, 0, 0) = 1;
  EXPECT_EQ(Count(Open(speck, 1.0)), Count(Open(cube, 1.0)));  // the speck is gone
  Mask gap = cube;
  gap.at(4, 4, 4) = 0;
  EXPECT_EQ(Close(gap, 1.0).at(4, 4, 4), 1);  // the one-voxel gap is closed
}

TEST(Morphology, FillHolesKeepsTheOutside) {
  Mask shell(Grid(7), 0);
  for (size_t k = 1; k < 6; ++k)
    for (size_t j = 1; j < 6; ++j)
      for (size_t i = 1; i < 6; ++i) {
        const bool border = i == 1 || j == 1 || k == 1 || i == 5 || j == 5 || k == 5;
        shell.at(i, j, k) = border ? 1 : 0;
      }
  Mask filled = FillHoles(shell);
  EXPECT_EQ(Count(filled), 125u);  // the 5^3 block, hollow before
  EXPECT_EQ(filled.at(0, 0, 0), 0);
}

TEST(Morphology, NonZeroBoxIsTheTightestIndexBox) {
  Mask mask(Grid(7), 0);
  EXPECT_FALSE(NonZeroBox(mask).has_value());
  mask.at(1, 5, 2) = 1;
  mask.at(4, 2, 6) = 3;  // any non-zero label counts
  const auto box = NonZeroBox(mask);
  ASSERT_TRUE(box.has_value());
  EXPECT_EQ(box->lo, (std::array<size_t, 3>{1, 2, 2}));
  EXPECT_EQ(box->hi, (std::array<size_t, 3>{4, 5, 6}));
}

}  // namespace radflow::imaging
