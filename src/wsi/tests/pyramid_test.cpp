#include <gtest/gtest.h>

#include "wsi/pyramid.h"

namespace radflow::wsi {
namespace {

RgbRaster Grey(int w, int h, std::initializer_list<int> values) {
  RgbRaster r;
  r.width = w;
  r.height = h;
  for (int v : values) for (int c = 0; c < 3; ++c) r.pixels.push_back(static_cast<uint8_t>(v));
  return r;
}

TEST(Pyramid, HalveAveragesBlocksAndKeepsOddEdges) {
  // 3x3: the 2x2 block, the right column pair, the bottom row pair, the corner pixel.
  RgbRaster in = Grey(3, 3, {0, 100, 50, 200, 101, 51, 10, 20, 7});
  RgbRaster out = Halve(in);
  ASSERT_EQ(out.width, 2);
  ASSERT_EQ(out.height, 2);
  EXPECT_EQ(out.pixels[0], (0 + 100 + 200 + 101 + 2) / 4);
  EXPECT_EQ(out.pixels[3], (50 + 51 + 1) / 2);
  EXPECT_EQ(out.pixels[6], (10 + 20 + 1) / 2);
  EXPECT_EQ(out.pixels[9], 7);
}

TEST(Pyramid, ShrinkIsTheAreaWeightedMean) {
  // 3x1 -> 2x1: each output pixel covers 1.5 source pixels.
  RgbRaster out = Shrink(Grey(3, 1, {0, 90, 180}), 2, 1);
  ASSERT_EQ(out.width, 2);
  ASSERT_EQ(out.height, 1);
  EXPECT_EQ(out.pixels[0], 30);   // (1·0 + 0.5·90) / 1.5
  EXPECT_EQ(out.pixels[3], 150);  // (0.5·90 + 1·180) / 1.5
  RgbRaster same = Shrink(Grey(2, 2, {1, 2, 3, 4}), 5, 5);  // never enlarges
  EXPECT_EQ(same.width, 2);
  EXPECT_EQ(same.pixels[9], 4);
}

TEST(Pyramid, CutTilePadsWhiteBeyondTheEdge) {
  RgbRaster in = Grey(3, 2, {1, 2, 3, 4, 5, 6});
  Bytes t = CutTile(in, 1, 0, 2, 2);  // columns 2..3 of rows 0..1
  ASSERT_EQ(t.size(), 12u);
  EXPECT_EQ(t[0], 3);
  EXPECT_EQ(t[3], 255);
  EXPECT_EQ(t[6], 6);
  EXPECT_EQ(t[9], 255);
}

}  // namespace
}  // namespace radflow::wsi
