// Internal: one compressed frame -> native pixels. Every decoder returns exactly
// NativeFrameBytes(info, false) bytes, little endian, color-by-pixel, 1-bit data packed,
// and checks the bitstream's own dimensions against `info` before allocating.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "pixel/pixel_data.h"

namespace radflow::pixel {

class PixelObject;

struct DecodedFrame {
  std::string pixels;
  std::string photometric_interpretation;  // after decoding, e.g. RGB for JPEG YBR_FULL_422
};

// Frame `index` of an opened object decoded by the codec of its transfer syntax (the
// DecodeFrame contract); kNotFound past the last frame, kUnsupported for other syntaxes.
Result<DecodedFrame> DecodeOne(PixelObject& obj, int index);

// PS3.5 Annex G (hand-written: DCMTK 3.6.7 refuses 1-bit RLE and trusts the segment
// offsets of the RLE header).
Result<DecodedFrame> DecodeRle(std::string_view frame, const ImageInfo& info);

// JPEG (dcmjpeg) and JPEG-LS (dcmjpls) through DCMTK's registered decoders.
Result<DecodedFrame> DecodeWithDcmtk(std::string_view frame, const ImageInfo& info);

// JPEG 2000 Part 1 codestream (or JP2 file) and High-Throughput JPEG 2000 (Part 15)
// codestream, OpenJPEG 2.5. (OpenJPH 0.9.0 was tried for HTJ2K: a mutated QCD segment made
// its header parser read past its input buffer under AddressSanitizer.)
Result<DecodedFrame> DecodeJpeg2000(std::string_view frame, const ImageInfo& info);

// Deflated Image Frame Compression: raw deflate (RFC 1951) of the native frame.
Result<std::string> InflateFrame(std::string_view frame, size_t expected_size);

// Shared by the JPEG 2000 decoder: collects integer sample rows into a native frame
// (interleaved samples of info.bits_allocated, two's complement, 1-bit packed at the end).
class NativeFrameWriter {
 public:
  explicit NativeFrameWriter(const ImageInfo& info);
  void PutRow(int component, int y, const int32_t* values);
  std::string Finish();

 private:
  const ImageInfo& info_;
  int bytes_;  // per sample; 1 while collecting 1-bit values
  std::string out_;
};

}  // namespace radflow::pixel
