// JPEG 2000 (ISO 15444-1, PS3.5 8.2.4) and High-Throughput JPEG 2000 (ISO 15444-15, HT
// code-blocks decoded by OpenJPEG since 2.5.0) with OpenJPEG, from a memory buffer. The
// codestream header is checked against the dataset before any sample buffer is allocated.
#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "pixel/codecs.h"

namespace radflow::pixel {

namespace {

struct MemoryStream {
  const unsigned char* data;
  size_t size;
  size_t pos;
};

OPJ_SIZE_T ReadFn(void* buffer, OPJ_SIZE_T n, void* user) {
  auto* m = static_cast<MemoryStream*>(user);
  if (m->pos >= m->size) return static_cast<OPJ_SIZE_T>(-1);
  n = std::min<OPJ_SIZE_T>(n, m->size - m->pos);
  std::memcpy(buffer, m->data + m->pos, n);
  m->pos += n;
  return n;
}

OPJ_OFF_T SkipFn(OPJ_OFF_T n, void* user) {
  auto* m = static_cast<MemoryStream*>(user);
  if (n < 0 || static_cast<uint64_t>(n) > m->size - m->pos) {
    m->pos = m->size;
    return -1;
  }
  m->pos += static_cast<size_t>(n);
  return n;
}

OPJ_BOOL SeekFn(OPJ_OFF_T n, void* user) {
  auto* m = static_cast<MemoryStream*>(user);
  if (n < 0 || static_cast<uint64_t>(n) > m->size) return OPJ_FALSE;
  m->pos = static_cast<size_t>(n);
  return OPJ_TRUE;
}

void CollectError(const char* msg, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->size() < 1000) {
    if (!s->empty()) *s += "; ";
    *s += msg;
    while (!s->empty() && (s->back() == '\n' || s->back() == ' ')) s->pop_back();
  }
}
void Ignore(const char*, void*) {}

struct CodecDeleter {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamDeleter {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageDeleter {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};
struct InfoDeleter {
  void operator()(opj_codestream_info_v2_t* i) const { opj_destroy_cstr_info(&i); }
};

bool IsJp2File(std::string_view s) {
  static const unsigned char kSignature[12] = {0,    0,    0,    0x0C, 0x6A, 0x50,
                                               0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};
  return s.size() >= 12 && std::memcmp(s.data(), kSignature, 12) == 0;
}

}  // namespace

Result<DecodedFrame> DecodeJpeg2000(std::string_view frame, const ImageInfo& info) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(frame.data());
  const bool jp2 = IsJp2File(frame);  // not conformant in DICOM, but written by some tools
  if (!jp2 && (frame.size() < 4 || bytes[0] != 0xFF || bytes[1] != 0x4F || bytes[2] != 0xFF ||
               bytes[3] != 0x51)) {
    return Status(ErrorCode::kInvalidDicom,
                  "JPEG 2000/HTJ2K: frame does not start with SOC/SIZ (FF4F FF51)");
  }
  std::string errors;
  std::unique_ptr<opj_codec_t, CodecDeleter> codec(
      opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  if (!codec) return Status(ErrorCode::kInternal, "OpenJPEG: cannot create decoder");
  opj_set_error_handler(codec.get(), CollectError, &errors);
  opj_set_warning_handler(codec.get(), Ignore, nullptr);
  opj_set_info_handler(codec.get(), Ignore, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(codec.get(), &params))
    return Status(ErrorCode::kInternal, "OpenJPEG: setup failed");
  opj_decoder_set_strict_mode(codec.get(), OPJ_TRUE);  // a truncated codestream is an error

  MemoryStream mem{bytes, frame.size(), 0};
  std::unique_ptr<opj_stream_t, StreamDeleter> stream(
      opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE));
  if (!stream) return Status(ErrorCode::kInternal, "OpenJPEG: cannot create stream");
  opj_stream_set_user_data(stream.get(), &mem, nullptr);
  opj_stream_set_user_data_length(stream.get(), mem.size);
  opj_stream_set_read_function(stream.get(), ReadFn);
  opj_stream_set_skip_function(stream.get(), SkipFn);
  opj_stream_set_seek_function(stream.get(), SeekFn);

  auto fail = [&](const std::string& what) {
    return Status(ErrorCode::kInvalidDicom,
                  "JPEG 2000 (OpenJPEG): " + what + (errors.empty() ? "" : ": " + errors));
  };
  opj_image_t* raw = nullptr;
  if (!opj_read_header(stream.get(), codec.get(), &raw)) {
    if (raw) opj_image_destroy(raw);
    return fail("cannot read the codestream header");
  }
  std::unique_ptr<opj_image_t, ImageDeleter> image(raw);
  const int max_precision = std::max(info.bits_allocated, 8);
  bool fits = image->numcomps == static_cast<OPJ_UINT32>(info.samples_per_pixel) &&
              image->x1 - image->x0 == static_cast<OPJ_UINT32>(info.columns) &&
              image->y1 - image->y0 == static_cast<OPJ_UINT32>(info.rows);
  for (OPJ_UINT32 c = 0; fits && c < image->numcomps; ++c) {
    const opj_image_comp_t& comp = image->comps[c];
    fits = comp.dx == 1 && comp.dy == 1 && comp.prec >= 1 &&
           static_cast<int>(comp.prec) <= max_precision &&
           (info.bits_allocated != 1 || comp.prec <= 8);
  }
  if (!fits) {
    return fail("codestream is " + std::to_string(image->x1 - image->x0) + "x" +
                std::to_string(image->y1 - image->y0) + " with " + std::to_string(image->numcomps) +
                " components; the dataset declares " + std::to_string(info.columns) + "x" +
                std::to_string(info.rows) + " with " + std::to_string(info.samples_per_pixel) +
                " samples of " + std::to_string(info.bits_allocated) + " bits");
  }
  std::unique_ptr<opj_codestream_info_v2_t, InfoDeleter> cinfo(opj_get_cstr_info(codec.get()));
  const bool mct = cinfo && cinfo->m_default_tile_info.mct != 0;
  if (!opj_decode(codec.get(), stream.get(), image.get()) ||
      !opj_end_decompress(codec.get(), stream.get())) {
    return fail("decoding failed");
  }
  NativeFrameWriter writer(info);
  for (OPJ_UINT32 c = 0; c < image->numcomps; ++c) {
    const opj_image_comp_t& comp = image->comps[c];
    if (comp.data == nullptr || comp.w != static_cast<OPJ_UINT32>(info.columns) ||
        comp.h != static_cast<OPJ_UINT32>(info.rows)) {
      return fail("decoded component has an unexpected size");
    }
    for (int y = 0; y < info.rows; ++y)
      writer.PutRow(static_cast<int>(c), y, comp.data + size_t(y) * comp.w);
  }
  DecodedFrame out{writer.Finish(), info.photometric_interpretation};
  // The inverse component transform (ISO 15444-1 G.2/G.3) gives RGB.
  if (mct && (out.photometric_interpretation == "YBR_ICT" ||
              out.photometric_interpretation == "YBR_RCT")) {
    out.photometric_interpretation = "RGB";
  }
  return out;
}

}  // namespace radflow::pixel
