// Deflated Image Frame Compression (1.2.840.10008.1.2.8.1): each frame is the native frame
// compressed with raw deflate (RFC 1951), one fragment per frame.
#include <zlib.h>

#include "pixel/codecs.h"

namespace radflow::pixel {

Result<std::string> InflateFrame(std::string_view frame, size_t expected_size) {
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
    return Status(ErrorCode::kInternal, "inflateInit2 failed");
  // One byte of headroom tells "exactly the frame" from "more than the frame".
  std::string out(expected_size + 1, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(frame.data()));
  z.avail_in = static_cast<uInt>(frame.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const size_t produced = out.size() - z.avail_out;
  const std::string why = z.msg ? z.msg : "corrupt stream";
  inflateEnd(&z);
  if (rc != Z_STREAM_END && rc != Z_BUF_ERROR && rc != Z_OK) {
    return Status(ErrorCode::kInvalidDicom, "deflated frame: " + why);
  }
  if (produced != expected_size) {
    return Status(ErrorCode::kInvalidDicom, "deflated frame inflates to " +
                                                std::to_string(produced) + " bytes, expected " +
                                                std::to_string(expected_size));
  }
  out.resize(expected_size);
  return out;
}

}  // namespace radflow::pixel
