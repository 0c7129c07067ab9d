// The frame header of a JPEG file (ITU-T T.81 B.2.2) read without decoding, to copy the
// stream into DICOM as it is (PS3.5 8.2.1, A.4.1) and to name why a stream cannot be.
#pragma once

#include <string>
#include <string_view>
#include <vector>

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

// The stream to store, from a whole JPEG file. Kept: SOI, the marker segments decoding
// needs (DQT, DHT, DRI, SOFn, SOS, DNL …), APP0 "JFIF" and APP14 "Adobe" (the colour
// transform depends on them, PS3.5 8.2.1), the entropy-coded data unchanged, EOI. Removed:
// APP1–APP13, APP15, other APP0/APP14 segments and COM (EXIF, XMP, IPTC, ICC, comments,
// thumbnails: text and pictures that de-identification does not look at inside Pixel
// Data), and every byte after EOI. A stream without EOI (cut inside its scan) is refused.
struct JpegStream {
  std::string bytes;
  std::vector<std::string> removed;  // "APP1 'Exif' (2048 bytes)", "312 bytes after EOI"
  int exif_orientation = 0;          // EXIF tag 0x0112 of an APP1 'Exif' (1 = as stored), 0 if none
  // The colour profile of APP2 'ICC_PROFILE' chunks (ICC.1 B.4), joined in their order; empty
  // when there is none or its chunks are incomplete. For ICCProfile (0028,2000), PS3.3 C.11.15.
  std::string icc_profile;
};
Result<JpegStream> CleanJpegStream(std::string_view bytes);

// "baseline" … "lossless" for SOF n, for messages.
std::string JpegProcessName(int sof);

}  // namespace radflow::op
