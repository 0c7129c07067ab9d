#include "compress/lossless.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>

#include <bit>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>

namespace radflow::compress {

static_assert(std::endian::native == std::endian::little,
              "native Pixel Data is compared as DCMTK holds it in memory (host order)");

namespace {

void RegisterCodecs() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Lossless only ever: no new SOP Instance UID (the pixels are the same), no Secondary
    // Capture conversion. Decoders as the pixel module registers them (a second
    // registration is a no-op in DCMTK), colour by pixel.
    // Raw encoding: the stored sample bits go to CharLS as they are (the "cooked" path goes
    // through DicomImage and mishandled signed 12-bit data here).
    DJLSEncoderRegistration::registerCodecs(0, 0, 0, 0, OFFalse, 0, OFTrue, EJLSUC_never, OFFalse);
    DJLSDecoderRegistration::registerCodecs(EJLSUC_never, EJLSPC_colorByPixel);
  });
}

Status Unsupported(const std::string& why) { return Status(ErrorCode::kUnsupported, why); }

Uint16 GetUint16(DcmItem& item, const DcmTagKey& key, Uint16 fallback) {
  Uint16 v = fallback;
  return item.findAndGetUint16(key, v).good() ? v : fallback;
}

// The bytes of native Pixel Data as DCMTK holds them (host order), or nullptr.
const uint8_t* NativeBytes(DcmElement* pixel, size_t* length) {
  *length = pixel->getLength();
  if (pixel->getVR() == EVR_OW) {
    Uint16* words = nullptr;
    if (pixel->getUint16Array(words).bad()) return nullptr;
    return reinterpret_cast<const uint8_t*>(words);
  }
  Uint8* bytes = nullptr;
  if (pixel->getUint8Array(bytes).bad()) return nullptr;
  return bytes;
}

// Every attribute of the dataset but Pixel Data compares equal in both (DCMTK's value
// comparison), and neither has one the other lacks: the codec must not have touched them.
Status SameAttributes(DcmDataset& original, DcmDataset& encoded) {
  auto count_other = [](DcmDataset& d) {
    unsigned long n = 0;
    for (unsigned long i = 0; i < d.card(); ++i) {
      if (d.getElement(i)->getTag() != DCM_PixelData) ++n;
    }
    return n;
  };
  if (count_other(original) != count_other(encoded)) {
    return Unsupported("the encoder added or removed attributes");
  }
  for (unsigned long i = 0; i < original.card(); ++i) {
    DcmElement* a = original.getElement(i);
    if (a->getTag() == DCM_PixelData) continue;
    DcmElement* b = nullptr;
    if (encoded.findAndGetElement(a->getTag(), b, OFFalse).bad() || !b) {
      return Unsupported("attribute " + std::string(a->getTag().toString().c_str()) + " lost in encoding");
    }
    // An Implicit VR file holds unknown (private) attributes with no VR, written as UN in
    // an explicit syntax: the same bytes.
    const bool unknown_vr = a->getVR() != b->getVR() &&
                            (a->getVR() == EVR_UNKNOWN || a->getVR() == EVR_UN) &&
                            (b->getVR() == EVR_UNKNOWN || b->getVR() == EVR_UN);
    if (unknown_vr) {
      Uint8* va = nullptr;
      Uint8* vb = nullptr;
      const Uint32 n = a->getLength();
      if (n != b->getLength() || (n > 0 && (a->getUint8Array(va).bad() || b->getUint8Array(vb).bad() ||
                                            std::memcmp(va, vb, n) != 0))) {
        return Unsupported("attribute " + std::string(a->getTag().toString().c_str()) + " changed in encoding");
      }
      continue;
    }
    if (a->compare(*b) != 0) {
      return Unsupported("attribute " + std::string(a->getTag().toString().c_str()) + " changed in encoding");
    }
  }
  return Status::Ok();
}

// The proof holds the original, the encoded and the decoded pixels in memory at once (about
// 3.5x the file): larger instances (whole-slide levels) are left as they are.
constexpr uint64_t kMaxSourceBytes = uint64_t{512} << 20;

Result<Compressed> Run(const std::string& source, Codec codec, const std::string& out_path) {
  RegisterCodecs();
  std::error_code size_ec;
  const uint64_t source_size = std::filesystem::file_size(source, size_ec);
  if (size_ec) return Status(ErrorCode::kIoError, "cannot stat " + source + ": " + size_ec.message());
  if (source_size > kMaxSourceBytes) {
    return Unsupported(std::to_string(source_size >> 20) + " MB: larger than the " +
                       std::to_string(kMaxSourceBytes >> 20) + " MB compressed in memory");
  }
  DcmFileFormat ff;
  OFCondition c = ff.loadFile(source.c_str());
  if (c.bad()) return Status(ErrorCode::kInvalidDicom, "cannot read " + source + ": " + c.text());
  DcmDataset& ds = *ff.getDataset();
  const E_TransferSyntax orig_xfer = ds.getOriginalXfer();
  DcmXfer orig(orig_xfer);
  if (orig_xfer != EXS_LittleEndianImplicit && orig_xfer != EXS_LittleEndianExplicit) {
    return Unsupported(std::string("stored as ") + orig.getXferName() +
                       ": only Implicit/Explicit VR Little Endian instances are compressed");
  }
  if (ds.tagExists(DCM_FloatPixelData) || ds.tagExists(DCM_DoubleFloatPixelData)) {
    return Unsupported("float pixel data: JPEG-LS encodes integers only");
  }
  DcmElement* pixel_elem = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixel_elem).bad() || !pixel_elem || pixel_elem->getLength() == 0) {
    return Unsupported("no pixel data");
  }
  const Uint16 rows = GetUint16(ds, DCM_Rows, 0), columns = GetUint16(ds, DCM_Columns, 0);
  const Uint16 samples = GetUint16(ds, DCM_SamplesPerPixel, 1);
  const Uint16 allocated = GetUint16(ds, DCM_BitsAllocated, 0), stored = GetUint16(ds, DCM_BitsStored, 0);
  const Uint16 planar = GetUint16(ds, DCM_PlanarConfiguration, 0);
  Sint32 frames = 1;
  if (ds.findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
  if (allocated != 8 && allocated != 16) {
    return Unsupported("BitsAllocated " + std::to_string(allocated) + ": JPEG-LS here takes 8 or 16");
  }
  if (stored < 2 || stored > allocated) {
    return Unsupported("BitsStored " + std::to_string(stored) + " with BitsAllocated " + std::to_string(allocated));
  }
  if (samples != 1 && samples != 3) return Unsupported("SamplesPerPixel " + std::to_string(samples));
  if (samples == 3 && planar != 0) {
    return Unsupported("colour by plane (PlanarConfiguration 1): decoding would interleave it");
  }
  const uint64_t expected = uint64_t(rows) * columns * samples * (allocated / 8) * uint64_t(frames);
  if (rows == 0 || columns == 0 || pixel_elem->getLength() < expected) {
    return Unsupported("Pixel Data holds " + std::to_string(pixel_elem->getLength()) + " bytes, the image " +
                       std::to_string(expected));
  }
  // CharLS codes BitsStored bits per sample and asserts (aborting the process, in Debian's
  // build) on a sample outside that range: sign-extended negative values of signed data
  // with BitsStored < BitsAllocated, overlays or junk in the high bits. Refused before.
  if (stored < allocated) {
    size_t n = 0;
    const uint8_t* bytes = NativeBytes(pixel_elem, &n);
    if (!bytes) return Unsupported("Pixel Data not readable as native samples");
    const Uint16 high = static_cast<Uint16>(~((1u << stored) - 1) & 0xFFFF);
    const size_t count = static_cast<size_t>(expected / 2);
    for (size_t i = 0; i < count; ++i) {
      Uint16 w;
      std::memcpy(&w, bytes + 2 * i, 2);
      if (w & high) {
        const bool negative = GetUint16(ds, DCM_PixelRepresentation, 0) == 1 && (w & (1u << (stored - 1)));
        return Unsupported(std::string(negative ? "negative signed values" : "pixel bits set") +
                           " beyond BitsStored " + std::to_string(stored) + " of " + std::to_string(allocated) +
                           " (sample " + std::to_string(i) + "): JPEG-LS would not keep them");
      }
    }
  }
  // Keep the original for the comparison: the encoder adds a representation to ds and
  // leaves the native one in place, but the check must read what was written.
  std::unique_ptr<DcmDataset> original(new DcmDataset(ds));

  const E_TransferSyntax target = EXS_JPEGLSLossless;
  DJLSRepresentationParameter params(2, OFTrue);  // NEAR 0: lossless
  c = ds.chooseRepresentation(target, &params);
  if (c.bad() || !ds.canWriteXfer(target)) {
    return Unsupported(std::string("JPEG-LS encoder refused the image: ") + c.text());
  }
  // The meta header's syntax follows the written one; group lengths as DCMTK writes them.
  c = ff.saveFile(out_path.c_str(), target, EET_ExplicitLength, EGL_recalcGL, EPD_noChange, 0, 0, EWM_fileformat);
  if (c.bad()) return Status(ErrorCode::kIoError, "cannot write " + out_path + ": " + c.text());

  // Proof: what was written decodes to the same bytes, and nothing else changed.
  DcmFileFormat back;
  c = back.loadFile(out_path.c_str());
  if (c.bad()) return Status(ErrorCode::kInternal, "re-reading the encoded file: " + std::string(c.text()));
  DcmDataset& bds = *back.getDataset();
  if (bds.getOriginalXfer() != target) return Status(ErrorCode::kInternal, "the encoded file is not JPEG-LS");
  RADFLOW_RETURN_IF_ERROR(SameAttributes(*original, bds));
  c = bds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
  if (c.bad()) return Unsupported(std::string("the encoded pixels do not decode: ") + c.text());
  DcmElement* a = nullptr;
  DcmElement* b = nullptr;
  if (original->findAndGetElement(DCM_PixelData, a).bad() || bds.findAndGetElement(DCM_PixelData, b).bad()) {
    return Status(ErrorCode::kInternal, "Pixel Data missing after decoding");
  }
  size_t la = 0, lb = 0;
  const uint8_t* pa = NativeBytes(a, &la);
  const uint8_t* pb = NativeBytes(b, &lb);
  if (!pa || !pb || lb < expected) return Unsupported("the decoded pixels are shorter than the image");
  if (std::memcmp(pa, pb, expected) != 0) {
    // JPEG-LS codes BitsStored bits per sample: bits set above them (overlays in the high
    // bits, values out of range) do not come back.
    return Unsupported("not bit-exact after decoding (pixel bits set beyond BitsStored " +
                       std::to_string(stored) + "?)");
  }
  Compressed out;
  out.transfer_syntax_uid = CodecTransferSyntax(codec);
  out.original_transfer_syntax_uid = orig.getXferID();
  std::error_code ec;
  out.original_size = std::filesystem::file_size(source, ec);
  out.size = std::filesystem::file_size(out_path, ec);
  if (ec) return Status(ErrorCode::kIoError, "size of " + out_path + ": " + ec.message());
  if (out.size >= out.original_size) {
    return Unsupported("JPEG-LS gives " + std::to_string(out.size) + " bytes, no fewer than the " +
                       std::to_string(out.original_size) + " stored");
  }
  return out;
}

}  // namespace

Result<Codec> ParseCodec(const std::string& name) {
  if (name == "jpeg-ls" || name == "jpegls" || name == "jpeg-ls-lossless") return Codec::kJpegLs;
  return Status(ErrorCode::kInvalidArgument, "unknown compression codec '" + name + "' (known: jpeg-ls)");
}

const char* CodecName(Codec) { return "jpeg-ls"; }
const char* CodecTransferSyntax(Codec) { return UID_JPEGLSLosslessTransferSyntax; }

Result<std::map<std::string, Codec>> ParseCompressSpecs(const std::vector<std::string>& specs) {
  std::map<std::string, Codec> out;
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return Status(ErrorCode::kInvalidArgument, "--compress '" + spec + "': expected MODALITY=CODEC, e.g. CT=jpeg-ls");
    }
    auto codec = ParseCodec(spec.substr(eq + 1));
    if (!codec.ok()) return Status(ErrorCode::kInvalidArgument, "--compress '" + spec + "': " + codec.status().message());
    out[spec.substr(0, eq)] = codec.value();
  }
  return out;
}

Result<Compressed> CompressLossless(const std::string& source, Codec codec, const std::string& out_path) {
  Result<Compressed> r = Status(ErrorCode::kInternal, "not run");
  try {
    r = Run(source, codec, out_path);
  } catch (const std::bad_alloc&) {
    r = Status(ErrorCode::kInternal, "CompressLossless: out of memory");
  } catch (const std::exception& e) {
    r = Status(ErrorCode::kInvalidDicom, std::string("CompressLossless: ") + e.what());
  }
  if (!r.ok()) {
    std::error_code ec;
    std::filesystem::remove(out_path, ec);
  }
  return r;
}

Result<bool> SameAsCompressed(const std::string& candidate, const std::string& stored) {
  try {
    RegisterCodecs();
    DcmFileFormat a, b;
    if (a.loadFile(candidate.c_str()).bad()) return false;
    OFCondition c = b.loadFile(stored.c_str());
    if (c.bad()) return Status(ErrorCode::kIoError, "cannot read " + stored + ": " + c.text());
    DcmDataset& da = *a.getDataset();
    DcmDataset& db = *b.getDataset();
    if (DcmXfer(da.getOriginalXfer()).isEncapsulated()) return false;  // compacted only from native
    RADFLOW_RETURN_IF_ERROR(DecodeToNative(db));
    if (!SameAttributes(da, db).ok()) return false;
    DcmElement* pa = nullptr;
    DcmElement* pb = nullptr;
    const bool has_a = da.findAndGetElement(DCM_PixelData, pa).good() && pa;
    const bool has_b = db.findAndGetElement(DCM_PixelData, pb).good() && pb;
    if (has_a != has_b) return false;
    if (!has_a) return true;
    size_t la = 0, lb = 0;
    const uint8_t* ba = NativeBytes(pa, &la);
    const uint8_t* bb = NativeBytes(pb, &lb);
    return ba && bb && la == lb && std::memcmp(ba, bb, la) == 0;
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInvalidDicom, std::string("SameAsCompressed: ") + e.what());
  }
}

Status DecodeToNative(DcmDataset& dataset) {
  RegisterCodecs();
  if (!DcmXfer(dataset.getOriginalXfer()).isEncapsulated()) return Status::Ok();
  OFCondition c = dataset.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
  if (c.bad() || !dataset.canWriteXfer(EXS_LittleEndianExplicit)) {
    return Status(ErrorCode::kUnsupported, std::string("cannot decode the stored pixel data: ") + c.text());
  }
  return Status::Ok();
}

}  // namespace radflow::compress
