#include "deid/deidentify.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcobject.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "crypto/crypto.h"
#include "deid/dataset_cleaner.h"
#include "deid/keyed_hash.h"
#include "deid/pixel_cleaner.h"
#include "pixel/pixel_data.h"

namespace fs = std::filesystem;

namespace radflow::deid {

namespace {

struct OptionName {
  const char* name;
  bool DeidOptions::*flag;
};
constexpr OptionName kOptionNames[] = {
    {"retain-dates", &DeidOptions::retain_dates},
    {"retain-patient-chars", &DeidOptions::retain_patient_chars},
    {"retain-device", &DeidOptions::retain_device},
    {"clean-descriptors", &DeidOptions::clean_descriptors},
    {"clean-structured", &DeidOptions::clean_structured},
    {"clean-graphics", &DeidOptions::clean_graphics},
    {"clean-pixels", &DeidOptions::clean_pixels},
};

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kIoError, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The Part-10 bytes in memory as a DcmFileFormat (for the transcoded copy).
Status ReadFromBuffer(const std::string& bytes, DcmFileFormat& ff) {
  DcmInputBufferStream stream;
  stream.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  stream.setEos();
  ff.transferInit();
  OFCondition cond = ff.read(stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  ff.transferEnd();
  if (cond.bad()) return Status(ErrorCode::kInvalidDicom, std::string("decoded copy: ") + cond.text());
  return Status::Ok();
}

}  // namespace

Result<DeidOptions> ParseDeidOptions(std::string_view csv) {
  DeidOptions o;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t p = csv.find(',', start);
    std::string name = Trim(csv.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (!name.empty()) {
      bool found = false;
      for (const auto& n : kOptionNames) {
        if (name == n.name) {
          o.*(n.flag) = true;
          found = true;
        }
      }
      if (!found) {
        std::string known;
        for (const auto& n : kOptionNames) known += std::string(known.empty() ? "" : ", ") + n.name;
        return Status(ErrorCode::kInvalidArgument,
                      "unknown de-identification option '" + name + "' (known: " + known + ")");
      }
    }
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return o;
}

std::string FormatDeidOptions(const DeidOptions& o) {
  std::string out;
  for (const auto& n : kOptionNames) {
    if (o.*(n.flag)) out += std::string(out.empty() ? "" : ",") + n.name;
  }
  return out;
}

std::vector<MethodCode> MethodCodes(const DeidOptions& o, bool pixels_cleaned) {
  std::vector<MethodCode> codes{{"113100", "Basic Application Confidentiality Profile"}};
  if (pixels_cleaned) codes.push_back({"113101", "Clean Pixel Data Option"});
  if (o.clean_graphics) codes.push_back({"113103", "Clean Graphics Option"});
  if (o.clean_structured) codes.push_back({"113104", "Clean Structured Content Option"});
  if (o.clean_descriptors) codes.push_back({"113105", "Clean Descriptors Option"});
  if (o.retain_dates) {
    codes.push_back({"113107", "Retain Longitudinal Temporal Information Modified Dates Option"});
  }
  if (o.retain_patient_chars) codes.push_back({"113108", "Retain Patient Characteristics Option"});
  if (o.retain_device) codes.push_back({"113109", "Retain Device Identity Option"});
  codes.push_back({"113111", "Retain Safe Private Option"});
  return codes;
}

Result<std::string> LoadSecretFile(const std::string& path) {
  auto bytes = ReadAll(path);
  if (!bytes.ok()) return bytes.status();
  if (bytes->size() < 16) {
    return Status(ErrorCode::kInvalidArgument, "secret file " + path + " holds fewer than 16 bytes");
  }
  return bytes;
}

Result<std::string> LoadOrCreateSiteSecret(const std::string& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  const std::string path = (fs::path(data_dir) / "deid-secret").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno != EEXIST) return Status(ErrorCode::kIoError, "cannot create " + path);
    return LoadSecretFile(path);
  }
  auto random = crypto::RandomBytes(32);
  const std::string secret = random.ok() ? random.value() : std::string();
  bool ok = secret.size() == 32 &&
            ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status(ErrorCode::kIoError, "cannot write " + path);
  }
  return secret;
}

bool LooksLikeDicomFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[132] = {};
  in.read(head, sizeof head);
  const auto n = in.gcount();
  if (n >= 132 && std::string_view(head + 128, 4) == "DICM") return true;
  if (n < 8) return false;
  const unsigned le = static_cast<unsigned char>(head[0]) | (static_cast<unsigned char>(head[1]) << 8);
  const unsigned be = (static_cast<unsigned char>(head[0]) << 8) | static_cast<unsigned char>(head[1]);
  return le == 0x0002 || le == 0x0008 || be == 0x0008;
}

Deidentifier::Deidentifier(DeidOptions options) : options_(std::move(options)) {
  // Standard attributes stored as UN (explicit VR files written without a dictionary) are
  // read with their dictionary VR, so the profile can replace their values (PS3.5 6.2.2).
  static std::once_flag once;
  std::call_once(once, [] { dcmEnableUnknownVRConversion.set(OFTrue); });
}

std::string Deidentifier::PseudonymFor(std::string_view patient_id) const {
  const Digest d = KeyedHash(options_.secret, "patient", patient_id);
  static const char* hex = "0123456789ABCDEF";
  std::string out = "RF";
  for (int i = 0; i < 8; ++i) {
    out.push_back(hex[d[i] >> 4]);
    out.push_back(hex[d[i] & 0xF]);
  }
  return out;
}

std::string Deidentifier::MapUid(std::string_view uid) const {
  return UidFromDigest(KeyedHash(options_.secret, "uid", uid));
}

int Deidentifier::DateShiftDays(std::string_view patient_id) const {
  const Digest d = KeyedHash(options_.secret, "date-shift", patient_id);
  const uint32_t v = (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | d[3];
  return -static_cast<int>(365 + v % 3286);  // 1 to 9 years back
}

Result<DeidFileReport> Deidentifier::DeidentifyFile(const std::string& in,
                                                    const std::string& out) const {
  DeidFileReport report;
  report.in = in;
  std::error_code ec;
  if (!fs::is_regular_file(in, ec)) return Status(ErrorCode::kNotFound, "no such file: " + in);
  if (!LooksLikeDicomFile(in)) {
    return Status(ErrorCode::kInvalidDicom, "not a DICOM file (no DICM preamble or data set start)");
  }
  DcmFileFormat ff;
  OFCondition cond = ff.loadFile(in.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect);
  if (cond.bad()) return Status(ErrorCode::kInvalidDicom, std::string("unreadable DICOM: ") + cond.text());
  if (ff.loadAllDataIntoMemory().bad()) return Status(ErrorCode::kInvalidDicom, "unreadable DICOM values");
  DcmDataset* ds = ff.getDataset();
  OFString sop_class;
  ds->findAndGetOFString(DCM_SOPClassUID, sop_class);
  report.sop_class_uid = sop_class.c_str();

  if (std::string why = UnsafeReason(*ds, options_.clean_pixels); !why.empty()) {
    report.skipped = true;
    report.reason = why;
    return report;
  }

  bool pixels_cleaned = false;
  bool transcoded = false;
  DcmFileFormat decoded;
  const bool has_pixels = ds->tagExists(DCM_PixelData);
  // Pixel data in a syntax DCMTK cannot write (HTJ2K, Deflated Image Frame Compression) is
  // decoded by radflow_pixel and written uncompressed, as cleaned pixels are.
  OFString ts_uid;
  ff.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, ts_uid);
  const bool foreign_syntax =
      has_pixels && (ds->getOriginalXfer() == EXS_Unknown ||
                     (!ts_uid.empty() && DcmXfer(ts_uid.c_str()).getXfer() == EXS_Unknown));
  if ((options_.clean_pixels && has_pixels && DcmXfer(ds->getOriginalXfer()).isEncapsulated()) ||
      foreign_syntax) {
    auto bytes = pixel::TranscodeToUncompressed(in, UID_LittleEndianExplicitTransferSyntax);
    if (!bytes.ok()) {
      report.skipped = true;
      report.reason = "pixel data cannot be decoded: " + bytes.status().message();
      return report;
    }
    if (Status st = ReadFromBuffer(*bytes, decoded); !st.ok()) {
      report.skipped = true;
      report.reason = st.message();
      return report;
    }
    transcoded = true;
    ds = decoded.getDataset();
  }
  if (options_.clean_pixels && has_pixels) {
    auto masked = CleanPixelData(*ds);
    if (!masked.ok()) {
      report.skipped = true;
      report.reason = "pixel data not cleaned: " + masked.status().message();
      return report;
    }
    report.pixels_masked_regions = *masked;
    pixels_cleaned = true;
  }

  CleanDataset(*ds, *this, pixels_cleaned);
  OFString pseudonym, sop_instance;
  ds->findAndGetOFString(DCM_PatientID, pseudonym);
  report.patient_pseudonym = pseudonym.c_str();

  DcmFileFormat& target = transcoded ? decoded : ff;
  DcmMetaInfo* meta = target.getMetaInfo();
  for (const DcmTagKey& k : {DCM_SourceApplicationEntityTitle, DCM_SendingApplicationEntityTitle,
                             DCM_ReceivingApplicationEntityTitle, DCM_PrivateInformationCreatorUID,
                             DCM_PrivateInformation}) {
    meta->findAndDeleteElement(k);
  }
  if (ds->findAndGetOFString(DCM_SOPInstanceUID, sop_instance).good()) {
    meta->putAndInsertString(DCM_MediaStorageSOPInstanceUID, sop_instance.c_str());
  }
  if (!sop_class.empty()) meta->putAndInsertString(DCM_MediaStorageSOPClassUID, sop_class.c_str());

  E_TransferSyntax xfer = pixels_cleaned || transcoded ? EXS_LittleEndianExplicit : ds->getOriginalXfer();
  if (xfer == EXS_Unknown) xfer = EXS_LittleEndianExplicit;
  const fs::path out_path(out);
  if (out_path.has_parent_path()) fs::create_directories(out_path.parent_path(), ec);
  // Written beside the target and renamed: never a half-written output.
  const std::string tmp = out + ".radflow-tmp";
  cond = target.saveFile(tmp.c_str(), xfer, EET_ExplicitLength, EGL_withoutGL, EPD_noChange, 0, 0,
                         EWM_updateMeta);
  if (cond.bad()) {
    fs::remove(tmp, ec);
    return Status(ErrorCode::kIoError, "cannot write " + out + ": " + cond.text());
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status(ErrorCode::kIoError, "cannot write " + out + ": " + ec.message());
  }
  report.out = out;
  return report;
}

}  // namespace radflow::deid
