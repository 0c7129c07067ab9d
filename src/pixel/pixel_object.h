// Internal: one opened Part-10 file with its Image Pixel attributes, validated, and the
// shapes derived from them. Not thread-safe; each API call opens its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "pixel/pixel_data.h"

class DcmFileFormat;
class DcmDataset;
class DcmElement;

namespace radflow::pixel {

struct FragmentIndex;  // frames.cpp

// How a transfer syntax stores its pixels (PS3.5 8 and A.4).
enum class Encoding {
  kNative,           // uncompressed, explicit/implicit VR, LE/BE, or deflated dataset
  kEncapsulatedRaw,  // 1.2.840.10008.1.2.1.98: native frames, one fragment each
  kDeflatedFrame,    // 1.2.840.10008.1.2.8.1 Deflated Image Frame Compression (RFC 1951)
  kRle,              // PS3.5 8.2.2, Annex G
  kJpeg,             // PS3.5 8.2.1 (ISO 10918-1), DCMTK dcmjpeg
  kJpegLs,           // PS3.5 8.2.3 (ISO 14495-1), DCMTK dcmjpls
  kJpeg2000,         // PS3.5 8.2.4 (ISO 15444-1), OpenJPEG
  kHtj2k,            // High-Throughput JPEG 2000 (ISO 15444-15), OpenJPEG 2.5
  kUnsupported,      // MPEG/HEVC video, JPIP, JPEG XL, unknown UIDs
};

struct TransferSyntax {
  Encoding encoding = Encoding::kUnsupported;
  bool big_endian = false;
  bool lossy = false;  // always lossy (JPEG baseline/extended): LossyImageCompression "01"
};

TransferSyntax ClassifyTransferSyntax(std::string_view uid);

// Frames larger than this are refused (kUnsupported), whatever the header declares.
constexpr uint64_t kMaxFrameBytes = uint64_t{1} << 30;

// Bytes of one frame in native encoding, color-by-pixel: 1-bit data packed (rounded up to
// whole bytes), YBR_FULL_422 as stored when `as_stored` (two samples per pixel, PS3.3
// C.7.6.3.1.2).
uint64_t NativeFrameBytes(const ImageInfo& info, bool as_stored);
// Bits one frame occupies in a native Pixel Data value (frames are not padded, PS3.5 8.1.1).
uint64_t NativeFrameBits(const ImageInfo& info, bool as_stored);

class PixelObject {
 public:
  // Loads the file (large values stay on disk until read) and validates the Image Pixel
  // attributes. Errors: see ReadImageInfo.
  static Result<std::unique_ptr<PixelObject>> Open(const std::string& path);
  ~PixelObject();

  const ImageInfo& info() const { return info_; }
  const TransferSyntax& syntax() const { return syntax_; }
  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }
  DcmFileFormat& file() { return *file_; }
  DcmDataset& dataset();
  // (7FE0,0010) Pixel Data, or Float / Double Float Pixel Data (7FE0,0008/0009).
  DcmElement& pixel_element() { return *pixel_; }
  bool float_pixels() const { return float_pixels_; }
  // The fragment layout of encapsulated Pixel Data, built once per object (frames.cpp).
  std::shared_ptr<FragmentIndex>& fragment_index() { return fragment_index_; }

 private:
  PixelObject() = default;

  std::string path_;
  uint64_t file_size_ = 0;
  std::unique_ptr<DcmFileFormat> file_;
  DcmElement* pixel_ = nullptr;
  bool float_pixels_ = false;
  ImageInfo info_;
  TransferSyntax syntax_;
  std::shared_ptr<FragmentIndex> fragment_index_;
};

}  // namespace radflow::pixel
