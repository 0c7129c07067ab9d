// Clean Pixel Data on a hand-built frame: a 5x7 bitmap-font text drawn at 3x scale is found
// by Tesseract and masked with the frame minimum; the rest of the frame is untouched.
#include "deid/pixel_cleaner.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "deid/ocr.h"
#include "deid_test_util.h"

namespace radflow::deid {
namespace {

using namespace test_util;  // NOLINT

const std::map<char, std::vector<std::string>>& Glyphs() {
  static const std::map<char, std::vector<std::string>> g = {
      {'H', {"10001", "10001", "10001", "11111", "10001", "10001", "10001"}},
      {'O', {"01110", "10001", "10001", "10001", "10001", "10001", "01110"}},
      {'L', {"10000", "10000", "10000", "10000", "10000", "10000", "11111"}},
      {'M', {"10001", "11011", "10101", "10101", "10001", "10001", "10001"}},
      {'E', {"11111", "10000", "10000", "11110", "10000", "10000", "11111"}},
      {'S', {"01111", "10000", "10000", "01110", "00001", "00001", "11110"}},
      {' ', {"00000", "00000", "00000", "00000", "00000", "00000", "00000"}},
  };
  return g;
}

constexpr int kSize = 256, kScale = 3;

TEST(PixelCleaner, FindsAndMasksBurnedInText) {
  ASSERT_FALSE(FindTessdata().empty()) << "tesseract-ocr-eng is a build dependency";
  std::vector<Uint16> pixels(kSize * kSize);
  for (int y = 0; y < kSize; ++y) {
    for (int x = 0; x < kSize; ++x) pixels[y * kSize + x] = static_cast<Uint16>(100 + (x + y) * 2);
  }
  std::vector<bool> glyph(pixels.size());
  const std::string text = "HOLMES";
  for (size_t c = 0; c < text.size(); ++c) {
    const auto& rows = Glyphs().at(text[c]);
    for (int r = 0; r < 7; ++r) {
      for (int b = 0; b < 5; ++b) {
        if (rows[r][b] != '1') continue;
        for (int dy = 0; dy < kScale; ++dy) {
          for (int dx = 0; dx < kScale; ++dx) {
            const int y = 150 + r * kScale + dy, x = 30 + static_cast<int>(c) * 6 * kScale + b * kScale + dx;
            pixels[y * kSize + x] = 4095;
            glyph[y * kSize + x] = true;
          }
        }
      }
    }
  }
  DcmDataset ds;
  ds.putAndInsertUint16(DCM_Rows, kSize);
  ds.putAndInsertUint16(DCM_Columns, kSize);
  ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
  ds.putAndInsertUint16(DCM_BitsAllocated, 16);
  ds.putAndInsertUint16(DCM_BitsStored, 12);
  ds.putAndInsertUint16(DCM_HighBit, 11);
  ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
  ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), pixels.size());

  auto masked = CleanPixelData(ds);
  ASSERT_TRUE(masked.ok()) << masked.status().ToString();
  EXPECT_GE(*masked, 1);
  DcmElement* px = nullptr;
  Uint16* out = nullptr;
  ASSERT_TRUE(ds.findAndGetElement(DCM_PixelData, px).good());
  ASSERT_TRUE(px->getUint16Array(out).good());
  int unmasked = 0, changed_away = 0;
  for (int y = 0; y < kSize; ++y) {
    for (int x = 0; x < kSize; ++x) {
      const size_t i = static_cast<size_t>(y) * kSize + x;
      if (glyph[i]) unmasked += out[i] != 100;
      const bool near = y >= 150 - 12 && y < 150 + 7 * kScale + 12 && x >= 30 - 12 &&
                        x < 30 + static_cast<int>(text.size()) * 6 * kScale + 12;
      if (!near) changed_away += out[i] != pixels[i];
    }
  }
  EXPECT_EQ(unmasked, 0);       // every glyph pixel now holds the frame minimum (100)
  EXPECT_EQ(changed_away, 0);   // nothing away from the text was touched
}

TEST(PixelCleaner, RefusesLayoutsItCannotRender) {
  DcmDataset ds;
  ds.putAndInsertUint16(DCM_Rows, 4);
  ds.putAndInsertUint16(DCM_Columns, 4);
  ds.putAndInsertUint16(DCM_BitsAllocated, 32);
  ds.putAndInsertUint16(DCM_BitsStored, 32);
  std::vector<Uint16> pixels(32);
  ds.putAndInsertUint16Array(DCM_PixelData, pixels.data(), pixels.size());
  auto r = CleanPixelData(ds);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace radflow::deid
