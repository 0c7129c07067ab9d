// JPEG helpers: marker parsing, table splicing against a real Aperio tile, encode/decode.
#include <gtest/gtest.h>

#include <cstdlib>

#include "wsi/jpeg_stream.h"
#include "wsi/openslide_source.h"
#include "wsi/tiff_tiles.h"

namespace radflow::wsi {
namespace {

const std::string kCmu = std::string(RADFLOW_SHARED_DATA) + "/wsi/cmu1_small_region_svs/CMU-1-Small-Region.svs";

Bytes Gradient(int w, int h) {
  Bytes rgb(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgb[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / (w - 1));
      p[1] = static_cast<uint8_t>(y * 255 / (h - 1));
      p[2] = 128;
    }
  return rgb;
}

TEST(JpegStream, ParseRejectsNonJpeg) {
  const uint8_t junk[] = {1, 2, 3, 4, 5, 6};
  EXPECT_FALSE(ParseJpeg(junk, sizeof junk).ok());
  const uint8_t soi_only[] = {0xFF, 0xD8, 0xFF, 0xD9};
  auto r = ParseJpeg(soi_only, sizeof soi_only);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("SOF"), std::string::npos);
}

TEST(JpegStream, EncodeRgbCarriesAdobeTransformZero) {
  const Bytes rgb = Gradient(64, 48);
  auto j = EncodeJpeg(rgb.data(), 64, 48, 90, JpegColour::kRgb);
  ASSERT_TRUE(j.ok());
  auto info = ParseJpeg(j->data(), j->size());
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->baseline);
  EXPECT_EQ(info->width, 64);
  EXPECT_EQ(info->height, 48);
  EXPECT_TRUE(info->has_adobe);
  EXPECT_EQ(info->adobe_transform, 0);
  EXPECT_FALSE(info->chroma_subsampled);
}

TEST(JpegStream, EncodeYbr422IsSubsampledAndRoundTrips) {
  const Bytes rgb = Gradient(64, 48);
  auto j = EncodeJpeg(rgb.data(), 64, 48, 95, JpegColour::kYbr422);
  ASSERT_TRUE(j.ok());
  auto info = ParseJpeg(j->data(), j->size());
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->chroma_subsampled);
  EXPECT_EQ(info->max_h, 2);
  EXPECT_EQ(info->max_v, 1);
  EXPECT_FALSE(info->has_jfif);
  int w = 0, h = 0;
  auto back = DecodeJpeg(*j, &w, &h);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(w, 64);
  ASSERT_EQ(h, 48);
  // Quality 95 on a smooth gradient: every sample within 8 of the input (claim, not slack:
  // measured maximum 3).
  int worst = 0;
  for (size_t i = 0; i < rgb.size(); ++i) worst = std::max(worst, std::abs(int(rgb[i]) - int((*back)[i])));
  EXPECT_LE(worst, 8);
}

TEST(JpegStream, SpliceRejectsNonJpegTile) {
  EXPECT_FALSE(SpliceTables({}, Bytes{1, 2, 3, 4}, false).ok());
  EXPECT_FALSE(SpliceTables(Bytes{1, 2, 3, 4}, Bytes{0xFF, 0xD8, 0xFF, 0xD9}, false).ok());
}

// An Aperio tile with its JPEGTables decodes to exactly OpenSlide's pixels.
TEST(JpegStream, SplicedAperioTileEqualsOpenSlide) {
  auto tiff = TiffTiles::Open(kCmu);
  ASSERT_TRUE(tiff.ok()) << tiff.status().message();
  const TiffDirectory& d = tiff.value()->directories()[0];
  ASSERT_EQ(d.compression, 7);
  ASSERT_EQ(d.photometric, 2);
  ASSERT_FALSE(d.jpeg_tables.empty());
  auto raw = tiff.value()->ReadRawTile(0, 3, 2);
  ASSERT_TRUE(raw.ok());
  auto frame = SpliceTables(d.jpeg_tables, *raw, true);
  ASSERT_TRUE(frame.ok());
  // SOI, then APP14, then the tables, then the tile after its SOI.
  ASSERT_EQ(frame->size(), raw->size() + 16 + d.jpeg_tables.size() - 4);
  EXPECT_TRUE(std::equal(raw->begin() + 2, raw->end(), frame->end() - (raw->size() - 2)));
  int w = 0, h = 0;
  auto pixels = DecodeJpeg(*frame, &w, &h);
  ASSERT_TRUE(pixels.ok()) << pixels.status().message();
  ASSERT_EQ(w, 240);
  ASSERT_EQ(h, 240);
  auto os = OpenSlideSource::Open(kCmu);
  ASSERT_TRUE(os.ok());
  auto region = os.value()->ReadRegion(0, 3 * 240, 2 * 240, 240, 240);
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(region->pixels, *pixels);
}

}  // namespace
}  // namespace radflow::wsi
