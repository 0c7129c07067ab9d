#include "pixel/pixel_data.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcwcache.h>

#include <bit>
#include <exception>

#include "pixel/codecs.h"
#include "pixel/frames.h"
#include "pixel/pixel_object.h"

namespace radflow::pixel {

static_assert(std::endian::native == std::endian::little,
              "decoded pixels are handed to DCMTK in host byte order");

namespace {

// Untrusted bytes reach DCMTK and OpenJPEG: an exception from any of them ends
// the call with a Status, never the process.
template <typename F>
auto Guard(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kInternal, std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInvalidDicom, std::string(what) + ": " + e.what());
  } catch (...) {
    return Status(ErrorCode::kInvalidDicom, std::string(what) + ": decoder error");
  }
}

Status CheckFrameIndex(const ImageInfo& info, int index) {
  if (index < 0 || index >= info.number_of_frames) {
    return Status(ErrorCode::kNotFound, "frame " + std::to_string(index + 1) + " of " +
                                            std::to_string(info.number_of_frames) +
                                            " does not exist");
  }
  return Status::Ok();
}

// Appends `bits` bits of `frame` (packed LSB first) to `out`, which holds `*bit_length` bits.
void AppendBits(const std::string& frame, uint64_t bits, std::string& out, uint64_t* bit_length) {
  const int shift = static_cast<int>(*bit_length % 8);
  if (shift == 0) {
    out.append(frame, 0, (bits + 7) / 8);
  } else {
    for (uint64_t i = 0; i < (bits + 7) / 8; ++i) {
      const auto v = static_cast<unsigned>(static_cast<unsigned char>(frame[i]));
      out.back() =
          static_cast<char>(static_cast<unsigned char>(out.back()) | ((v << shift) & 0xFF));
      out.push_back(static_cast<char>(v >> (8 - shift)));
    }
  }
  *bit_length += bits;
  out.resize((*bit_length + 7) / 8);
  if (*bit_length % 8) out.back() = static_cast<char>(out.back() & ((1u << (*bit_length % 8)) - 1));
}

Result<std::string> Transcode(const std::string& path, E_TransferSyntax xfer) {
  auto opened = PixelObject::Open(path);
  if (!opened.ok()) return opened.status();
  PixelObject& obj = *opened.value();
  const ImageInfo& info = obj.info();
  DcmDataset& ds = obj.dataset();

  if (!obj.float_pixels()) {
    // Every frame decoded, concatenated; 1-bit frames are not padded (PS3.5 8.1.1).
    std::string pixels;
    uint64_t bit_length = 0;
    std::string photometric = info.photometric_interpretation;
    const uint64_t frame_bits = NativeFrameBits(info, true);
    if (NativeFrameBits(info, false) * uint64_t(info.number_of_frames) > uint64_t{0xFFFFFFFE} * 8) {
      return Status(ErrorCode::kUnsupported, "decoded Pixel Data would exceed 4 GiB");
    }
    for (int f = 0; f < info.number_of_frames; ++f) {
      auto frame = DecodeOne(obj, f);
      if (!frame.ok()) return frame.status();
      photometric = frame->photometric_interpretation;
      if (info.bits_allocated == 1) {
        AppendBits(frame->pixels, frame_bits, pixels, &bit_length);
      } else {
        pixels += frame->pixels;
      }
    }
    if (pixels.size() % 2) pixels.push_back('\0');  // even length (PS3.5 7.1.1)
    DcmElement* old = ds.remove(DCM_PixelData);
    delete old;
    auto* pd = new DcmPixelData(DcmTag(DCM_PixelData, info.bits_allocated > 8 ? EVR_OW : EVR_OB));
    pd->putUint8Array(reinterpret_cast<const Uint8*>(pixels.data()),
                      static_cast<unsigned long>(pixels.size()));
    ds.insert(pd, OFTrue);
    // The offset tables describe fragments only (PS3.5 A.4).
    delete ds.remove(DCM_ExtendedOffsetTable);
    delete ds.remove(DCM_ExtendedOffsetTableLengths);
    if (photometric != info.photometric_interpretation) {
      ds.putAndInsertString(DCM_PhotometricInterpretation, photometric.c_str());
    }
    if (info.samples_per_pixel > 1) ds.putAndInsertUint16(DCM_PlanarConfiguration, 0);
    // Once lossy, always flagged lossy (PS3.3 C.7.6.1.1.5).
    if (obj.syntax().lossy && !ds.tagExists(DCM_LossyImageCompression)) {
      ds.putAndInsertString(DCM_LossyImageCompression, "01");
    }
  }

  DcmFileFormat& ff = obj.file();
  if (!ds.canWriteXfer(xfer))
    return Status(ErrorCode::kInternal, "DCMTK cannot write the dataset in the target syntax");
  std::string out;
  std::string buffer(64 * 1024, '\0');
  DcmOutputBufferStream stream(buffer.data(), buffer.size());
  DcmWriteCache cache;
  ff.transferInit();
  OFCondition c = EC_StreamNotifyClient;
  while (c == EC_StreamNotifyClient) {
    c = ff.write(stream, xfer, EET_ExplicitLength, &cache, EGL_recalcGL, EPD_noChange, 0, 0, 0,
                 EWM_updateMeta);
    void* data = nullptr;
    offile_off_t length = 0;
    stream.flushBuffer(data, length);
    out.append(static_cast<const char*>(data), static_cast<size_t>(length));
  }
  ff.transferEnd();
  if (c.bad())
    return Status(ErrorCode::kInvalidDicom,
                  std::string("cannot write the transcoded object: ") + c.text());
  return out;
}

}  // namespace

Result<DecodedFrame> DecodeOne(PixelObject& obj, int index) {
  const ImageInfo& info = obj.info();
  RADFLOW_RETURN_IF_ERROR(CheckFrameIndex(info, index));
  const int bytes = info.bits_allocated / 8;
  auto interleave = [&](std::string pixels) -> DecodedFrame {
    if (info.samples_per_pixel > 1 && info.planar_configuration == 1 && bytes > 0) {
      pixels = InterleavePlanes(pixels, info.samples_per_pixel, bytes);
    }
    return {std::move(pixels), info.photometric_interpretation};
  };
  switch (obj.syntax().encoding) {
    case Encoding::kNative: {
      auto f = ReadNativeFrame(obj, index, false);
      if (!f.ok()) return f.status();
      return interleave(std::move(f.value()));
    }
    case Encoding::kEncapsulatedRaw:
    case Encoding::kDeflatedFrame: {
      auto f = ReadEncapsulatedFrame(obj, index);
      if (!f.ok()) return f.status();
      const uint64_t size = NativeFrameBytes(info, true);
      if (obj.syntax().encoding == Encoding::kDeflatedFrame) {
        auto inflated = InflateFrame(f.value(), size);
        if (!inflated.ok()) return inflated.status();
        return interleave(std::move(inflated.value()));
      }
      if (f->size() < size)
        return Status(ErrorCode::kInvalidDicom, "fragment shorter than the frame");
      f->resize(size);
      return interleave(std::move(f.value()));
    }
    case Encoding::kUnsupported:
      break;
    default: {
      auto f = ReadEncapsulatedFrame(obj, index);
      if (!f.ok()) return f.status();
      switch (obj.syntax().encoding) {
        case Encoding::kRle:
          return DecodeRle(f.value(), info);
        case Encoding::kJpeg:
        case Encoding::kJpegLs:
          return DecodeWithDcmtk(f.value(), info);
        case Encoding::kJpeg2000:
        case Encoding::kHtj2k:
          return DecodeJpeg2000(f.value(), info);
        default:
          break;
      }
    }
  }
  return Status(ErrorCode::kUnsupported,
                "transfer syntax " + info.transfer_syntax_uid + " is not supported");
}

Result<ImageInfo> ReadImageInfo(const std::string& path) {
  return Guard("ReadImageInfo", [&]() -> Result<ImageInfo> {
    auto obj = PixelObject::Open(path);
    if (!obj.ok()) return obj.status();
    return obj.value()->info();
  });
}

Result<std::string> EncodedFrame(const std::string& path, int frame_index) {
  return Guard("EncodedFrame", [&]() -> Result<std::string> {
    auto opened = PixelObject::Open(path);
    if (!opened.ok()) return opened.status();
    PixelObject& obj = *opened.value();
    RADFLOW_RETURN_IF_ERROR(CheckFrameIndex(obj.info(), frame_index));
    if (obj.syntax().encoding == Encoding::kNative) return ReadNativeFrame(obj, frame_index, true);
    if (obj.syntax().encoding == Encoding::kUnsupported &&
        obj.pixel_element().getLengthField() != DCM_UndefinedLength) {
      return Status(ErrorCode::kUnsupported,
                    "transfer syntax " + obj.info().transfer_syntax_uid + " is not supported");
    }
    return ReadEncapsulatedFrame(obj, frame_index);
  });
}

Result<std::string> DecodeFrame(const std::string& path, int frame_index) {
  return Guard("DecodeFrame", [&]() -> Result<std::string> {
    auto opened = PixelObject::Open(path);
    if (!opened.ok()) return opened.status();
    auto frame = DecodeOne(*opened.value(), frame_index);
    if (!frame.ok()) return frame.status();
    return std::move(frame->pixels);
  });
}

FrameDecoder::FrameDecoder(std::unique_ptr<PixelObject> obj) : obj_(std::move(obj)) {}
FrameDecoder::~FrameDecoder() = default;
const ImageInfo& FrameDecoder::info() const { return obj_->info(); }

Result<std::unique_ptr<FrameDecoder>> FrameDecoder::Open(const std::string& path) {
  return Guard("FrameDecoder", [&]() -> Result<std::unique_ptr<FrameDecoder>> {
    auto opened = PixelObject::Open(path);
    if (!opened.ok()) return opened.status();
    return std::unique_ptr<FrameDecoder>(new FrameDecoder(std::move(opened.value())));
  });
}

Result<std::string> FrameDecoder::Decode(int frame_index) {
  return Guard("DecodeFrame", [&]() -> Result<std::string> {
    auto frame = DecodeOne(*obj_, frame_index);
    if (!frame.ok()) return frame.status();
    return std::move(frame->pixels);
  });
}

Result<std::vector<std::string>> DecodeFrames(const std::string& path) {
  return Guard("DecodeFrames", [&]() -> Result<std::vector<std::string>> {
    auto opened = PixelObject::Open(path);
    if (!opened.ok()) return opened.status();
    std::vector<std::string> frames;
    for (int f = 0; f < opened.value()->info().number_of_frames; ++f) {
      auto frame = DecodeOne(*opened.value(), f);
      if (!frame.ok()) return frame.status();
      frames.push_back(std::move(frame->pixels));
    }
    return frames;
  });
}

Result<std::string> TranscodeToUncompressed(const std::string& path, const std::string& target_ts) {
  E_TransferSyntax xfer = EXS_Unknown;
  if (target_ts == "1.2.840.10008.1.2.1") xfer = EXS_LittleEndianExplicit;
  if (target_ts == "1.2.840.10008.1.2") xfer = EXS_LittleEndianImplicit;
  if (xfer == EXS_Unknown) {
    return Status(ErrorCode::kUnsupported,
                  "transcoding to " + target_ts +
                      " is not supported (only Explicit/Implicit VR Little Endian)");
  }
  return Guard("TranscodeToUncompressed", [&] { return Transcode(path, xfer); });
}

}  // namespace radflow::pixel
