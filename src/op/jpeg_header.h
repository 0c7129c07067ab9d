// The frame header of a JPEG file (ITU-T T.81 B.2.2) read without decoding, to copy the
// stream into DICOM as it is (PS3.5 8.2.1, A.4.1) and to name why a stream cannot be.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace radflow::op {

struct JpegHeader {
  int sof = 0;        // the SOFn marker's n: 0 baseline, 1 extended, 2 progressive, 3 lossless …
  int precision = 0;  // P: bits per sample
  int width = 0;
  int height = 0;
  int components = 0;
  int h0 = 1, v0 = 1;              // sampling factors of the first component
  bool chroma_subsampled = false;  // a later component samples fewer than the first
  bool jfif = false;               // APP0 "JFIF": colour is YCbCr (JFIF 1.02)
  int adobe_transform = -1;        // APP14 "Adobe" transform flag: 0 RGB/CMYK, 1 YCbCr, 2 YCCK
  bool rgb_component_ids = false;  // component identifiers 'R','G','B' (libjpeg's RGB marker)
};

// Reads the markers up to the first SOS. Errors name what is wrong (not a JPEG, truncated).
Result<JpegHeader> ReadJpegHeader(std::string_view bytes);

// "baseline" … "lossless" for SOF n, for messages.
std::string JpegProcessName(int sof);

}  // namespace radflow::op
