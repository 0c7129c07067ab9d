#include "deid/ocr.h"

#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

namespace radflow::deid {

std::string FindTessdata() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (const char* env = std::getenv("TESSDATA_PREFIX"); env && *env) {
    fs::path p(env);
    if (fs::exists(p / "eng.traineddata", ec)) return p.string();
    if (fs::exists(p / "tessdata" / "eng.traineddata", ec)) return (p / "tessdata").string();
  }
  for (const char* p : {"/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                        "/usr/share/tessdata"}) {
    if (fs::exists(fs::path(p) / "eng.traineddata", ec)) return p;
  }
  return {};
}

namespace {

// Every word with a letter or digit; those with confidence >= min_confidence get the box of
// their whole text line: Tesseract often reads part of a burned-in line only (a low
// confidence word beside a sure one), and the line's box covers the rest.
void Recognize(tesseract::TessBaseAPI& api, const std::vector<uint8_t>& gray, int width,
               int height, int scale, float min_confidence, std::vector<TextBox>& out) {
  api.SetImage(gray.data(), width, height, 1, width);
  if (api.Recognize(nullptr) != 0) return;
  std::unique_ptr<tesseract::ResultIterator> it(api.GetIterator());
  if (!it) return;
  const auto level = tesseract::RIL_WORD;
  const bool debug = std::getenv("RADFLOW_DEID_OCR_DEBUG") != nullptr;
  do {
    std::unique_ptr<char[]> word(it->GetUTF8Text(level));
    if (!word) continue;
    std::string text(word.get());
    bool alnum = false;
    for (unsigned char ch : text) alnum |= std::isalnum(ch) != 0;
    const float conf = it->Confidence(level);
    int x1, y1, x2, y2, lx1, ly1, lx2, ly2;
    if (!it->BoundingBox(level, &x1, &y1, &x2, &y2)) continue;
    if (debug) {
      std::fprintf(stderr, "ocr: '%s' conf %.0f box %d,%d %dx%d\n", text.c_str(), conf, x1 / scale,
                   y1 / scale, (x2 - x1) / scale, (y2 - y1) / scale);
    }
    if (!alnum) continue;
    if (conf >= min_confidence && it->BoundingBox(tesseract::RIL_TEXTLINE, &lx1, &ly1, &lx2, &ly2)) {
      x1 = std::min(x1, lx1);
      y1 = std::min(y1, ly1);
      x2 = std::max(x2, lx2);
      y2 = std::max(y2, ly2);
    }
    // Back to image coordinates, rounded outwards.
    out.push_back({x1 / scale, y1 / scale, (x2 + scale - 1) / scale - x1 / scale,
                   (y2 + scale - 1) / scale - y1 / scale, text, conf});
  } while (it->Next(level));
}

}  // namespace

Result<std::vector<TextBox>> FindText(const std::vector<uint8_t>& gray, int width, int height,
                                      float min_confidence) {
  if (width <= 0 || height <= 0 || gray.size() < static_cast<size_t>(width) * height) {
    return Status(ErrorCode::kInvalidArgument, "image size does not match its pixels");
  }
  const std::string tessdata = FindTessdata();
  if (tessdata.empty()) {
    return Status(ErrorCode::kUnavailable,
                  "no Tesseract eng.traineddata (install tesseract-ocr-eng or set TESSDATA_PREFIX)");
  }
  tesseract::TessBaseAPI api;
  if (api.Init(tessdata.c_str(), "eng", tesseract::OEM_LSTM_ONLY) != 0) {
    return Status(ErrorCode::kUnavailable, "Tesseract could not start with " + tessdata);
  }
  api.SetPageSegMode(tesseract::PSM_SPARSE_TEXT);  // text anywhere, no page layout
  api.SetVariable("debug_file", "/dev/null");
  // Small frames are enlarged (nearest neighbour) to give Tesseract text of its preferred
  // height (20-30 px for 10-15 px text).
  const int scale = std::max(width, height) <= 512 ? 2 : 1;
  const int sw = width * scale, sh = height * scale;
  std::vector<uint8_t> scaled(static_cast<size_t>(sw) * sh);
  for (int y = 0; y < sh; ++y) {
    for (int x = 0; x < sw; ++x) {
      scaled[static_cast<size_t>(y) * sw + x] = gray[static_cast<size_t>(y / scale) * width + x / scale];
    }
  }
  std::vector<TextBox> boxes;
  Recognize(api, scaled, sw, sh, scale, min_confidence, boxes);
  for (auto& v : scaled) v = static_cast<uint8_t>(255 - v);
  Recognize(api, scaled, sw, sh, scale, min_confidence, boxes);
  api.End();
  // Accepted: sure words, then (repeatedly) unsure words beside an accepted one on the same
  // line (vertical overlap of half the height, gap under twice the height, height at most
  // 1.5 times), which is how a partly read line of burned-in text shows up.
  std::vector<bool> accepted(boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) accepted[i] = boxes[i].confidence >= min_confidence;
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t i = 0; i < boxes.size(); ++i) {
      if (accepted[i]) continue;
      const TextBox& u = boxes[i];
      for (size_t j = 0; j < boxes.size() && !accepted[i]; ++j) {
        if (!accepted[j]) continue;
        const TextBox& a = boxes[j];
        const int overlap = std::min(u.y + u.height, a.y + a.height) - std::max(u.y, a.y);
        const int gap = std::max(u.x, a.x) - std::min(u.x + u.width, a.x + a.width);
        if (overlap * 2 >= std::min(u.height, a.height) && gap <= 2 * a.height &&
            u.height * 2 <= 3 * a.height) {
          accepted[i] = grew = true;
        }
      }
    }
  }
  std::vector<TextBox> out;
  for (size_t i = 0; i < boxes.size(); ++i) {
    if (accepted[i]) out.push_back(boxes[i]);
  }
  return out;
}

}  // namespace radflow::deid
