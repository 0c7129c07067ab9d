// Pixel data of a stored Part-10 instance: frames as stored, frames decoded, whole-object
// transcoding to an uncompressed syntax, and rendered 8-bit images (WADO-RS frames and
// rendered resources, PS3.18 8.3.5). Codecs (DCMTK, OpenJPEG) stay inside.
//
// Thread-safety: every function may be called from several threads at once; each call
// opens the file itself. Untrusted input: a malformed file yields a Status, never a crash;
// allocations are bounded by the declared image size (and the file size for native data).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::pixel {

// Image Pixel Module attributes (PS3.3 C.7.6.3) and the file's transfer syntax.
struct ImageInfo {
  int rows = 0;
  int columns = 0;
  int samples_per_pixel = 1;
  int bits_allocated = 0;
  int bits_stored = 0;
  int high_bit = 0;
  int pixel_representation = 0;
  int planar_configuration = 0;
  int number_of_frames = 1;
  std::string photometric_interpretation;
  std::string transfer_syntax_uid;
};

// Fails with kNotFound (no such file), kInvalidDicom (not a readable Part-10 file or
// inconsistent Image Pixel attributes), kInvalidArgument (no pixel data: not an image).
Result<ImageInfo> ReadImageInfo(const std::string& path);

// The frame as stored (frame_index is 0-based; kNotFound past the last frame).
// Native syntaxes: the frame's bytes in the file's byte order (frames of 1-bit data are
// shifted to start at bit 0). Encapsulated syntaxes (PS3.5 A.4): the frame's bitstream,
// its fragments joined; frames located by the Extended Offset Table, else the Basic Offset
// Table, else one fragment per frame, else the codec's start-of-image markers.
Result<std::string> EncodedFrame(const std::string& path, int frame_index);

// The frame decoded to native pixels as they appear in Explicit VR Little Endian Pixel
// Data (PS3.5 8.2): little endian, color-by-pixel (planar configuration 0), 1-bit data
// packed LSB first. JPEG YBR_FULL/YBR_FULL_422 output and JPEG 2000 YBR_ICT/YBR_RCT output
// are RGB (as DCMTK and OpenJPEG produce them). kUnsupported names a syntax not handled.
Result<std::string> DecodeFrame(const std::string& path, int frame_index);

// Every frame decoded as DecodeFrame does, the file opened once.
Result<std::vector<std::string>> DecodeFrames(const std::string& path);

class PixelObject;

// One file opened once for several of its frames, each decoded as DecodeFrame does (a slide
// region's tiles: the header, per-frame functional groups included, is parsed once). Not
// thread-safe: one decoder per thread.
class FrameDecoder {
 public:
  // Errors: those of ReadImageInfo.
  static Result<std::unique_ptr<FrameDecoder>> Open(const std::string& path);
  ~FrameDecoder();
  const ImageInfo& info() const;
  Result<std::string> Decode(int frame_index);

 private:
  explicit FrameDecoder(std::unique_ptr<PixelObject> obj);
  std::unique_ptr<PixelObject> obj_;
};

// The Part-10 bytes of a copy of the object in Explicit VR Little Endian
// (1.2.840.10008.1.2.1) or Implicit VR Little Endian (1.2.840.10008.1.2): all frames
// decoded, PlanarConfiguration 0, PhotometricInterpretation as decoded (e.g. YBR_FULL_422
// -> RGB). Other target syntaxes -> kUnsupported.
Result<std::string> TranscodeToUncompressed(const std::string& path, const std::string& target_ts);

// A rendered 8-bit image (PS3.18 8.3.5.1): VOI window from options, else the object's first
// window (or VOI LUT), else min/max; Modality LUT / rescale applied; MONOCHROME1 shown
// inverted; color kept. width/height (0: unset) give a viewport the image is scaled to fit,
// aspect preserved. media_type "image/jpeg" (quality 1-100) or "image/png".
struct RenderOptions {
  std::optional<double> window_center;
  std::optional<double> window_width;
  int width = 0;
  int height = 0;
  int quality = 90;
  std::string media_type = "image/jpeg";
};
Result<std::string> RenderFrame(const std::string& path, int frame_index,
                                const RenderOptions& options);

// 8-bit pixels already rendered (samples 1 or 3, row-major, no padding) scaled to fit
// options.width/height (aspect preserved; area average when shrinking, bilinear when
// enlarging) and encoded as options.media_type. The window options do not apply.
// WADO-RS /rendered?region= of a slide level (docs/wsi.md).
Result<std::string> EncodeRendered(const uint8_t* pixels, int width, int height, int samples,
                                   const RenderOptions& options);

}  // namespace radflow::pixel
