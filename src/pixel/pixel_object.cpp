#include "pixel/pixel_object.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/oflog/oflog.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <system_error>

namespace radflow::pixel {

namespace {

// Values longer than this stay in the file until read (pixel data): a frame request reads
// one frame, not the whole object.
constexpr Uint32 kMaxLoadedValue = 4096;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::string GetString(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  if (item.findAndGetOFStringArray(tag, v).bad()) return "";
  return Trim(v.c_str());
}

// US attributes; `fallback` when absent.
Result<int> GetUs(DcmItem& item, const DcmTagKey& tag, const char* name,
                  std::optional<int> fallback) {
  Uint16 v = 0;
  if (item.findAndGetUint16(tag, v).good()) return static_cast<int>(v);
  if (fallback) return *fallback;
  return Status(ErrorCode::kInvalidDicom, std::string("missing ") + name);
}

}  // namespace

TransferSyntax ClassifyTransferSyntax(std::string_view uid) {
  constexpr std::string_view kJpegPrefix = "1.2.840.10008.1.2.4.";
  if (uid == "1.2.840.10008.1.2" || uid == "1.2.840.10008.1.2.1" ||
      uid == "1.2.840.10008.1.2.1.99") {
    return {Encoding::kNative, false, false};
  }
  if (uid == "1.2.840.10008.1.2.2") return {Encoding::kNative, true, false};
  if (uid == "1.2.840.10008.1.2.1.98") return {Encoding::kEncapsulatedRaw, false, false};
  if (uid == "1.2.840.10008.1.2.8.1") return {Encoding::kDeflatedFrame, false, false};
  if (uid == "1.2.840.10008.1.2.5") return {Encoding::kRle, false, false};
  if (uid.substr(0, kJpegPrefix.size()) != kJpegPrefix) return {};
  const std::string_view p = uid.substr(kJpegPrefix.size());
  // The JPEG processes DCMTK's dcmjpeg registers decoders for.
  if (p == "50" || p == "51" || p == "53" || p == "55") return {Encoding::kJpeg, false, true};
  if (p == "57" || p == "70") return {Encoding::kJpeg, false, false};
  if (p == "80" || p == "81") return {Encoding::kJpegLs, false, false};
  if (p == "90" || p == "91") return {Encoding::kJpeg2000, false, false};
  if (p == "201" || p == "202" || p == "203") return {Encoding::kHtj2k, false, false};
  return {};
}

uint64_t NativeFrameBits(const ImageInfo& info, bool as_stored) {
  uint64_t samples =
      uint64_t(info.rows) * uint64_t(info.columns) * uint64_t(info.samples_per_pixel);
  const bool subsampled = info.photometric_interpretation == "YBR_FULL_422" ||
                          info.photometric_interpretation == "YBR_PARTIAL_422";
  if (as_stored && subsampled && info.samples_per_pixel == 3) {
    // Two chroma samples per two pixels: Y1 Y2 Cb Cr (PS3.3 C.7.6.3.1.2).
    samples = uint64_t(info.rows) * uint64_t(info.columns) * 2;
  }
  return samples * uint64_t(info.bits_allocated);
}

uint64_t NativeFrameBytes(const ImageInfo& info, bool as_stored) {
  return (NativeFrameBits(info, as_stored) + 7) / 8;
}

PixelObject::~PixelObject() = default;

DcmDataset& PixelObject::dataset() { return *file_->getDataset(); }

Result<std::unique_ptr<PixelObject>> PixelObject::Open(const std::string& path) {
  // DCMTK logs parse and codec problems itself; radflow reports them once, as a Status.
  static std::once_flag quiet;
  std::call_once(quiet, [] { OFLog::configure(OFLogger::FATAL_LOG_LEVEL); });

  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status(ErrorCode::kNotFound, "no such file: " + path);
  }
  const uintmax_t file_size = std::filesystem::file_size(path, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot read " + path + ": " + ec.message());

  std::unique_ptr<PixelObject> obj(new PixelObject());
  obj->path_ = path;
  obj->file_size_ = file_size;
  obj->file_ = std::make_unique<DcmFileFormat>();
  // A Part-10 file has the preamble, "DICM" and File Meta (PS3.10 7.1); like DCMTK, File
  // Meta without the preamble is accepted. Checked here, not with ERM_fileOnly: DCMTK 3.6.7
  // then refuses transfer syntaxes it does not know (HTJ2K, Deflated Image Frame
  // Compression), which ERM_autoDetect reads.
  {
    char head[132] = {};
    std::ifstream in(path, std::ios::binary);
    in.read(head, sizeof head);
    const bool preamble = in.gcount() == sizeof head && std::memcmp(head + 128, "DICM", 4) == 0;
    const bool bare_meta = in.gcount() >= 8 && head[0] == 0x02 && head[1] == 0x00;  // (0002,xxxx)
    if (!preamble && !bare_meta) {
      return Status(ErrorCode::kInvalidDicom,
                    "not a DICOM Part-10 file (no File Meta Information, PS3.10 7.1)");
    }
  }
  OFCondition cond = obj->file_->loadFile(path.c_str(), EXS_Unknown, EGL_noChange, kMaxLoadedValue,
                                          ERM_autoDetect);
  if (cond.bad()) {
    return Status(ErrorCode::kInvalidDicom, std::string("cannot parse DICOM: ") + cond.text());
  }
  ImageInfo& info = obj->info_;
  info.transfer_syntax_uid = GetString(*obj->file_->getMetaInfo(), DCM_TransferSyntaxUID);
  if (info.transfer_syntax_uid.empty()) {
    return Status(ErrorCode::kInvalidDicom,
                  "File Meta Information lacks TransferSyntaxUID (0002,0010)");
  }
  obj->syntax_ = ClassifyTransferSyntax(info.transfer_syntax_uid);

  DcmDataset& ds = obj->dataset();
  DcmElement* pixel = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, pixel).bad() || pixel == nullptr) {
    pixel = nullptr;
    obj->float_pixels_ = ds.findAndGetElement(DCM_FloatPixelData, pixel).good() ||
                         ds.findAndGetElement(DCM_DoubleFloatPixelData, pixel).good();
    if (!obj->float_pixels_ || pixel == nullptr) {
      return Status(
          ErrorCode::kInvalidArgument,
          "not an image: no Pixel Data (7FE0,0010) in SOP Class " + GetString(ds, DCM_SOPClassUID));
    }
  }
  obj->pixel_ = pixel;

  // Image Pixel Module, PS3.3 C.7.6.3.
  auto rows = GetUs(ds, DCM_Rows, "Rows (0028,0010)", std::nullopt);
  if (!rows.ok()) return rows.status();
  auto cols = GetUs(ds, DCM_Columns, "Columns (0028,0011)", std::nullopt);
  if (!cols.ok()) return cols.status();
  auto spp = GetUs(ds, DCM_SamplesPerPixel, "SamplesPerPixel", 1);
  auto ba = GetUs(ds, DCM_BitsAllocated, "BitsAllocated (0028,0100)", std::nullopt);
  if (!ba.ok()) return ba.status();
  info.rows = *rows;
  info.columns = *cols;
  info.samples_per_pixel = *spp;
  info.bits_allocated = *ba;
  info.bits_stored = *GetUs(ds, DCM_BitsStored, "", info.bits_allocated);
  info.high_bit = *GetUs(ds, DCM_HighBit, "", info.bits_stored - 1);
  info.pixel_representation = *GetUs(ds, DCM_PixelRepresentation, "", 0);
  info.planar_configuration =
      info.samples_per_pixel > 1 ? *GetUs(ds, DCM_PlanarConfiguration, "", 0) : 0;
  info.photometric_interpretation = GetString(ds, DCM_PhotometricInterpretation);
  if (info.photometric_interpretation.empty()) {
    info.photometric_interpretation = info.samples_per_pixel == 1 ? "MONOCHROME2" : "RGB";
  }
  // NumberOfFrames is IS; a value that is not a number (seen: "1A") counts as 1.
  const std::string frames = GetString(ds, DCM_NumberOfFrames);
  int n = 1;
  if (!frames.empty()) {
    auto [end, err] = std::from_chars(frames.data(), frames.data() + frames.size(), n);
    if (err != std::errc() || end != frames.data() + frames.size() || n < 1) n = 1;
  }
  info.number_of_frames = n;

  const int b = info.bits_allocated;
  if (info.rows < 1 || info.columns < 1) {
    return Status(ErrorCode::kInvalidDicom, "Rows and Columns must be at least 1");
  }
  if (info.samples_per_pixel < 1 || info.samples_per_pixel > 4) {
    return Status(ErrorCode::kInvalidDicom,
                  "SamplesPerPixel " + std::to_string(info.samples_per_pixel) + " not in 1..4");
  }
  if (b != 1 && b != 8 && b != 16 && b != 32 && b != 64) {
    return Status(ErrorCode::kUnsupported, "BitsAllocated " + std::to_string(b) + " not supported");
  }
  if (info.bits_stored < 1 || info.bits_stored > b || info.high_bit >= b ||
      info.pixel_representation > 1 || info.planar_configuration > 1) {
    return Status(ErrorCode::kInvalidDicom,
                  "inconsistent Image Pixel attributes (BitsStored/HighBit/PixelRepresentation/"
                  "PlanarConfiguration)");
  }
  if (obj->float_pixels_ && b != 32 && b != 64) {
    return Status(ErrorCode::kInvalidDicom, "Float Pixel Data needs BitsAllocated 32 or 64");
  }
  if (NativeFrameBytes(info, false) > kMaxFrameBytes) {
    return Status(ErrorCode::kUnsupported, "frame larger than 1 GiB");
  }
  // A value DCMTK left on disk is only checked when read: refuse lengths the file cannot
  // hold (a deflated dataset, PS3.5 A.5, is longer than its file and was read whole).
  const Uint32 len = pixel->getLengthField();
  if (len != DCM_UndefinedLength && info.transfer_syntax_uid != "1.2.840.10008.1.2.1.99" &&
      uint64_t(len) > file_size) {
    return Status(ErrorCode::kInvalidDicom,
                  "file truncated: Pixel Data length exceeds the file size");
  }
  return obj;
}

}  // namespace radflow::pixel
