// Words found in an 8-bit grayscale image by Tesseract OCR (Debian libtesseract-dev with
// tesseract-ocr-eng). Tesseract and Leptonica stay inside ocr.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::deid {

struct TextBox {
  int x = 0, y = 0, width = 0, height = 0;
  std::string text;
  float confidence = 0;  // 0-100
};

// The tessdata folder: $TESSDATA_PREFIX, else the Debian paths
// /usr/share/tesseract-ocr/5/tessdata and /usr/share/tesseract-ocr/4.00/tessdata.
std::string FindTessdata();

// Words (with at least one letter or digit and confidence >= min_confidence) in a
// width x height 8-bit image, rows contiguous. The image is searched as given and inverted
// (burned-in text is usually light on dark). kUnavailable when Tesseract cannot start.
Result<std::vector<TextBox>> FindText(const std::vector<uint8_t>& gray, int width, int height,
                                      float min_confidence = 60.0f);

}  // namespace radflow::deid
