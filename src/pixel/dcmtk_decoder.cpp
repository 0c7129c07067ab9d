// JPEG (ISO 10918-1) and JPEG-LS (ISO 14495-1) through DCMTK's registered decoders: the
// frame becomes the single fragment of a small dataset holding the Image Pixel attributes,
// which DCMTK decompresses to Explicit VR Little Endian (PS3.5 8.2.1, 8.2.3).
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <mutex>
#include <optional>

#include "pixel/codecs.h"
#include "pixel/frames.h"
#include "pixel/pixel_object.h"

namespace radflow::pixel {

namespace {

void RegisterDecoders() {
  static std::once_flag once;
  std::call_once(once, [] {
    // YBR_FULL/YBR_FULL_422 converted to RGB per PhotometricInterpretation, as dcmdjpeg does.
    DJDecoderRegistration::registerCodecs(EDC_photometricInterpretation, EUC_never,
                                          EPC_colorByPixel);
    DJLSDecoderRegistration::registerCodecs(EJLSUC_never, EJLSPC_colorByPixel);
  });
}

struct StartOfFrame {
  int precision = 0;
  int rows = 0;
  int columns = 0;
  int components = 0;
};

// The first SOFn (ISO 10918-1 B.2.2) or SOF55 (ISO 14495-1 C.2.2) header, if the stream
// reaches one before its first scan.
std::optional<StartOfFrame> FindStartOfFrame(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(s[i])); };
  auto be16 = [&](size_t i) { return (byte(i) << 8) | byte(i + 1); };
  if (s.size() < 4 || byte(0) != 0xFF || byte(1) != 0xD8) return std::nullopt;
  size_t i = 2;
  while (i + 4 <= s.size()) {
    if (byte(i) != 0xFF) return std::nullopt;
    const unsigned m = byte(i + 1);
    if (m == 0xFF) {
      ++i;
      continue;
    }  // fill byte
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
      i += 2;
      continue;
    }                                                 // no length
    if (m == 0xD9 || m == 0xDA) return std::nullopt;  // EOI or SOS before any SOF
    const size_t len = be16(i + 2);
    if (len < 2 || i + 2 + len > s.size()) return std::nullopt;
    const bool sof = (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) || m == 0xF7;
    if (sof) {
      if (len < 8) return std::nullopt;
      return StartOfFrame{static_cast<int>(byte(i + 4)), static_cast<int>(be16(i + 5)),
                          static_cast<int>(be16(i + 7)), static_cast<int>(byte(i + 9))};
    }
    i += 2 + len;
  }
  return std::nullopt;
}

// How a 3-component JPEG stream codes its colour, by the conventions libjpeg follows
// (jdapimin.c default_decompress_parms): an Adobe APP14 marker's transform (0 RGB, 1 YCbCr),
// else a JFIF APP0 (YCbCr), else component identifiers 'R','G','B' (RGB); kUnknown otherwise.
// Datasets label such streams wrongly both ways: tiles copied from Aperio SVS files (RGB)
// as YBR_FULL_422 by OrthancWSIDicomizer, JFIF YCbCr frames as RGB in pathml's slide.
enum class StreamColour { kUnknown, kRgb, kYcbcr };

StreamColour ColourOfStream(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(s[i])); };
  if (s.size() < 4 || byte(0) != 0xFF || byte(1) != 0xD8) return StreamColour::kUnknown;
  bool jfif = false, three = false, rgb_ids = false;
  std::optional<unsigned> adobe_transform;
  size_t i = 2;
  while (i + 4 <= s.size()) {
    if (byte(i) != 0xFF) return StreamColour::kUnknown;
    const unsigned m = byte(i + 1);
    if (m == 0xFF) {
      ++i;
      continue;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
      i += 2;
      continue;
    }
    if (m == 0xD9) return StreamColour::kUnknown;
    if (m == 0xDA) break;  // the markers before the first scan are what libjpeg goes by
    const size_t len = (byte(i + 2) << 8) | byte(i + 3);
    if (len < 2 || i + 2 + len > s.size()) return StreamColour::kUnknown;
    if (m == 0xE0 && len >= 7 && s.substr(i + 4, 5) == std::string_view("JFIF\0", 5)) jfif = true;
    if (m == 0xEE && len >= 14 && s.substr(i + 4, 5) == "Adobe") adobe_transform = byte(i + 15);
    const bool sof = (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC);
    if (sof) {
      if (len < 8 + 9 || byte(i + 9) != 3) return StreamColour::kUnknown;
      rgb_ids = byte(i + 10) == 'R' && byte(i + 13) == 'G' && byte(i + 16) == 'B';
      three = true;
    }
    i += 2 + len;
  }
  if (!three) return StreamColour::kUnknown;
  if (adobe_transform) {
    if (*adobe_transform == 0) return StreamColour::kRgb;
    if (*adobe_transform == 1) return StreamColour::kYcbcr;
    return StreamColour::kUnknown;
  }
  if (jfif) return StreamColour::kYcbcr;
  return rgb_ids ? StreamColour::kRgb : StreamColour::kUnknown;
}

}  // namespace

Result<DecodedFrame> DecodeWithDcmtk(std::string_view frame, const ImageInfo& info) {
  RegisterDecoders();
  const E_TransferSyntax xfer = DcmXfer(info.transfer_syntax_uid.c_str()).getXfer();
  const std::string codec =
      ClassifyTransferSyntax(info.transfer_syntax_uid).encoding == Encoding::kJpegLs ? "JPEG-LS"
                                                                                     : "JPEG";
  if (info.bits_allocated != 8 && info.bits_allocated != 16) {
    return Status(ErrorCode::kUnsupported,
                  codec + " with BitsAllocated " + std::to_string(info.bits_allocated));
  }
  // The frame's own header must agree with the dataset: DCMTK sizes its buffer from the
  // dataset, the codec from the bitstream.
  auto sof = FindStartOfFrame(frame);
  if (!sof)
    return Status(ErrorCode::kInvalidDicom, codec + ": no start-of-frame header in the frame");
  if (sof->columns != info.columns || (sof->rows != info.rows && sof->rows != 0) ||
      sof->components != info.samples_per_pixel || sof->precision > info.bits_allocated) {
    return Status(ErrorCode::kInvalidDicom,
                  codec + ": frame is " + std::to_string(sof->columns) + "x" +
                      std::to_string(sof->rows) + " with " + std::to_string(sof->components) +
                      " components of " + std::to_string(sof->precision) +
                      " bits, the dataset declares " + std::to_string(info.columns) + "x" +
                      std::to_string(info.rows) + " with " +
                      std::to_string(info.samples_per_pixel));
  }

  DcmDataset ds;
  ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(info.rows));
  ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(info.columns));
  ds.putAndInsertUint16(DCM_SamplesPerPixel, static_cast<Uint16>(info.samples_per_pixel));
  ds.putAndInsertUint16(DCM_BitsAllocated, static_cast<Uint16>(info.bits_allocated));
  ds.putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(info.bits_stored));
  ds.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(info.high_bit));
  ds.putAndInsertUint16(DCM_PixelRepresentation, static_cast<Uint16>(info.pixel_representation));
  if (info.samples_per_pixel > 1) {
    ds.putAndInsertUint16(DCM_PlanarConfiguration, static_cast<Uint16>(info.planar_configuration));
  }
  // The colour conversion follows the stream, not a label that contradicts it: DCMTK's
  // EDC_photometricInterpretation converts YCbCr->RGB exactly when the dataset says YBR_FULL*.
  std::string coded = info.photometric_interpretation;
  if (codec == "JPEG" && info.samples_per_pixel == 3) {
    const StreamColour colour = ColourOfStream(frame);
    if (coded.rfind("YBR_FULL", 0) == 0 && colour == StreamColour::kRgb) coded = "RGB";
    if (coded == "RGB" && colour == StreamColour::kYcbcr) coded = "YBR_FULL";
  }
  ds.putAndInsertString(DCM_PhotometricInterpretation, coded.c_str());
  ds.putAndInsertString(DCM_SOPClassUID, UID_SecondaryCaptureImageStorage);
  auto* seq = new DcmPixelSequence(DCM_PixelSequenceTag);
  seq->insert(new DcmPixelItem(DCM_PixelItemTag));  // empty Basic Offset Table
  auto* item = new DcmPixelItem(DCM_PixelItemTag);
  item->putUint8Array(reinterpret_cast<const Uint8*>(frame.data()),
                      static_cast<unsigned long>(frame.size()));
  seq->insert(item);
  auto* pd = new DcmPixelData(DCM_PixelData);
  pd->putOriginalRepresentation(xfer, nullptr, seq);
  ds.insert(pd, OFTrue);

  OFCondition c = ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
  if (c.bad()) return Status(ErrorCode::kInvalidDicom, codec + " decoder (DCMTK): " + c.text());
  Uint8* data = nullptr;
  const size_t expected = NativeFrameBytes(info, false);
  if (pd->getUint8Array(data).bad() || data == nullptr || pd->getLength() < expected) {
    return Status(ErrorCode::kInvalidDicom, codec + " decoder (DCMTK) produced too few pixels");
  }
  DecodedFrame out;
  out.pixels.assign(reinterpret_cast<const char*>(data), expected);
  OFString pi;
  out.photometric_interpretation = ds.findAndGetOFString(DCM_PhotometricInterpretation, pi).good()
                                       ? pi.c_str()
                                       : info.photometric_interpretation;
  Uint16 planar = 0;
  if (info.samples_per_pixel > 1 && ds.findAndGetUint16(DCM_PlanarConfiguration, planar).good() &&
      planar == 1) {
    out.pixels = InterleavePlanes(out.pixels, info.samples_per_pixel, info.bits_allocated / 8);
  }
  return out;
}

}  // namespace radflow::pixel
