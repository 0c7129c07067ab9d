// The OP photograph in, the fundus SEG out (DCMTK dcmdata, dcmseg, dcmfg).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <memory>

#include "ai/codes.h"
#include "apps/ophthalmic/fundus_codes.h"
#include "apps/ophthalmic/fundus_dicom.h"
#include "base/clock.h"
#include "dicom/instance.h"
#include "pixel/pixel_data.h"

namespace radflow::apps::ophthalmic {
namespace {

// PS3.4 B.5: Ophthalmic Photography 8 Bit / 16 Bit Image Storage.
constexpr const char* kOp8 = "1.2.840.10008.5.1.4.1.1.77.1.5.1";
constexpr const char* kOp16 = "1.2.840.10008.5.1.4.1.1.77.1.5.2";

std::string Get(DcmItem& ds, const DcmTagKey& tag) {
  OFString v;
  ds.findAndGetOFString(tag, v);
  return v.c_str();
}

std::string Err(const std::string& what, const OFCondition& c) { return what + ": " + c.text(); }

using dicom::NewUid;

uint8_t Clamp8(double v) { return uint8_t(std::lround(std::clamp(v, 0.0, 255.0))); }

// Decoded native pixels -> 8-bit RGB.
Result<FundusImage> ToRgb(const std::string& pixels, const pixel::ImageInfo& info) {
  FundusImage im;
  im.width = info.columns;
  im.height = info.rows;
  const size_t n = size_t(info.rows) * size_t(info.columns);
  const int bytes = info.bits_allocated == 16 ? 2 : info.bits_allocated == 8 ? 1 : 0;
  if (bytes == 0) return Status(ErrorCode::kUnsupported, "BitsAllocated " + std::to_string(info.bits_allocated));
  if (pixels.size() < n * size_t(info.samples_per_pixel) * size_t(bytes)) {
    return Status(ErrorCode::kInvalidDicom, "decoded frame shorter than Rows x Columns");
  }
  const double full = bytes == 2 ? double((1u << std::clamp(info.bits_stored, 1, 16)) - 1) : 255.0;
  auto sample = [&](size_t i) {  // little endian (pixel::DecodeFrame), scaled to 0..255
    const auto* p = reinterpret_cast<const unsigned char*>(pixels.data());
    const double v = bytes == 2 ? double(p[2 * i] | (p[2 * i + 1] << 8)) : double(p[i]);
    return 255.0 * v / full;
  };
  im.rgb.resize(n * 3);
  const std::string& pi = info.photometric_interpretation;
  if (info.samples_per_pixel == 1 && (pi == "MONOCHROME2" || pi == "MONOCHROME1")) {
    for (size_t i = 0; i < n; ++i) {
      double v = sample(i);
      if (pi == "MONOCHROME1") v = 255 - v;
      im.rgb[3 * i] = im.rgb[3 * i + 1] = im.rgb[3 * i + 2] = Clamp8(v);
    }
  } else if (info.samples_per_pixel == 3 && pi == "RGB") {
    for (size_t i = 0; i < 3 * n; ++i) im.rgb[i] = Clamp8(sample(i));
  } else if (info.samples_per_pixel == 3 && pi == "YBR_FULL") {
    // PS3.3 C.7.6.3.1.2: Y = .2990R + .5870G + .1140B, CB = -.1687R - .3313G + .5000B + 128,
    // CR = .5000R - .4187G - .0813B + 128 (8 bits; the offset is half the range), inverted.
    const double offset = bytes == 2 ? 255.0 * double(1u << (std::clamp(info.bits_stored, 1, 16) - 1)) / full : 128.0;
    for (size_t i = 0; i < n; ++i) {
      const double y = sample(3 * i), cb = sample(3 * i + 1) - offset, cr = sample(3 * i + 2) - offset;
      im.rgb[3 * i] = Clamp8(y + 1.402 * cr);
      im.rgb[3 * i + 1] = Clamp8(y - 0.344136 * cb - 0.714136 * cr);
      im.rgb[3 * i + 2] = Clamp8(y + 1.772 * cb);
    }
  } else {
    return Status(ErrorCode::kUnsupported, "photometric interpretation " + pi + " with " +
                                               std::to_string(info.samples_per_pixel) +
                                               " samples in transfer syntax " + info.transfer_syntax_uid);
  }
  return im;
}

// pixel::DecodeFrame converts colour only in the JPEG family (PS3.5 8.2.1, 8.2.4): JPEG's
// YBR_FULL / YBR_FULL_422 through DCMTK, JPEG 2000's YBR_ICT / YBR_RCT (the inverse component
// transform). JPEG-LS (8.2.3) has none; native, RLE and deflated YBR_FULL come as stored and
// ToRgb converts them.
bool DecoderGivesRgb(const pixel::ImageInfo& info) {
  const std::string& ts = info.transfer_syntax_uid;
  const std::string& pi = info.photometric_interpretation;
  if (info.samples_per_pixel != 3 || ts.rfind("1.2.840.10008.1.2.4.", 0) != 0) return false;
  if (ts == "1.2.840.10008.1.2.4.80" || ts == "1.2.840.10008.1.2.4.81") return false;  // JPEG-LS
  return pi == "YBR_FULL" || pi == "YBR_FULL_422" || pi == "YBR_ICT" || pi == "YBR_RCT";
}

// ContributingEquipmentSequence naming the algorithm, purpose (Newcode1, 99IHE,
// "Processing Algorithm") as IHE AIR asks (the convention of src/ai/results).
void AddContributingEquipment(DcmItem& ds, const ai::Algorithm& a) {
  DcmItem* item = nullptr;
  ds.findOrCreateSequenceItem(DCM_ContributingEquipmentSequence, item, -2);
  if (!item) return;
  item->putAndInsertString(DCM_Manufacturer, a.manufacturer.c_str());
  item->putAndInsertString(DCM_ManufacturerModelName, a.name.substr(0, 64).c_str());
  item->putAndInsertString(DCM_SoftwareVersions, a.version.c_str());
  item->putAndInsertString(DCM_ContributionDateTime, UtcNow("%Y%m%d%H%M%S").c_str());
  item->putAndInsertString(DCM_ContributionDescription, ("AI app " + a.id).c_str());
  DcmItem* purpose = nullptr;
  item->findOrCreateSequenceItem(DCM_PurposeOfReferenceCodeSequence, purpose, -2);
  if (purpose) {
    purpose->putAndInsertString(DCM_CodeValue, "Newcode1");
    purpose->putAndInsertString(DCM_CodingSchemeDesignator, "99IHE");
    purpose->putAndInsertString(DCM_CodeMeaning, "Processing Algorithm");
  }
}

}  // namespace

Result<Photo> ReadOphthalmicPhoto(const std::vector<std::string>& files) {
  if (files.empty()) return Status(ErrorCode::kInvalidArgument, "fundus-quality: no files in the series");
  Photo best;
  long best_number = 0;
  Uint16 best_rows = 0, best_columns = 0;
  double spacing = 0;
  std::string first_error;
  for (const auto& path : files) {
    DcmFileFormat ff;
    OFCondition c = ff.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096);
    if (c.bad()) {
      if (first_error.empty()) first_error = path + ": " + c.text();
      continue;
    }
    DcmDataset& ds = *ff.getDataset();
    const std::string sop_class = Get(ds, DCM_SOPClassUID);
    if (sop_class != kOp8 && sop_class != kOp16) continue;
    Sint32 number = 0;
    ds.findAndGetSint32(DCM_InstanceNumber, number);
    if (!best.path.empty() && number >= best_number) continue;
    best.path = path;
    best.sop_class_uid = sop_class;
    best.sop_instance_uid = Get(ds, DCM_SOPInstanceUID);
    best_number = number;
    best_rows = best_columns = 0;
    ds.findAndGetUint16(DCM_Rows, best_rows);
    ds.findAndGetUint16(DCM_Columns, best_columns);
    Float64 row = 0, col = 0;
    spacing = 0;
    if (ds.findAndGetFloat64(DCM_PixelSpacing, row, 0).good() &&
        ds.findAndGetFloat64(DCM_PixelSpacing, col, 1).good() &&
        row > 0 && std::abs(row - col) <= 1e-3 * row) {
      spacing = row;
    }
  }
  if (best.path.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "fundus-quality: none of the " + std::to_string(files.size()) +
                      " files is an Ophthalmic Photography image" +
                      (first_error.empty() ? "" : " (unreadable: " + first_error + ")"));
  }
  // Rows and Columns are untrusted: the decoded frame and the analysis' planes grow with them.
  if (size_t(best_rows) * size_t(best_columns) > kMaxFundusPixels) {
    return Status(ErrorCode::kInvalidArgument, best.path + ": " + std::to_string(best_columns) + " x " +
                                                   std::to_string(best_rows) +
                                                   " pixels is over fundus-quality's 64-megapixel limit");
  }
  auto info = pixel::ReadImageInfo(best.path);
  if (!info.ok()) return info.status();
  if (size_t(info->rows) * size_t(info->columns) > kMaxFundusPixels) {
    return Status(ErrorCode::kInvalidArgument, best.path + ": image over the 64-megapixel limit");
  }
  auto frame = pixel::DecodeFrame(best.path, 0);
  if (!frame.ok()) return frame.status();
  pixel::ImageInfo decoded = *info;
  if (DecoderGivesRgb(decoded)) decoded.photometric_interpretation = "RGB";
  auto rgb = ToRgb(*frame, decoded);
  if (!rgb.ok()) return Status(rgb.status().code(), best.path + ": " + rgb.status().message());
  best.image = std::move(*rgb);
  best.image.pixel_spacing_mm = spacing;
  return best;
}

Result<ai::WrittenObject> WriteFundusSegmentation(const FundusAnalysis& analysis, const Photo& photo,
                                                  const ai::Algorithm& algorithm, const std::string& path,
                                                  int series_number) {
  const int w = analysis.width, h = analysis.height;
  if (w <= 0 || h <= 0 || w > 65535 || h > 65535 || analysis.vessels.size() != size_t(w) * size_t(h) ||
      (analysis.disc_found && analysis.disc.size() != size_t(w) * size_t(h))) {
    return Status(ErrorCode::kInvalidArgument, "fundus SEG: masks do not match the photograph");
  }
  DcmFileFormat source;
  OFCondition c = source.loadFile(photo.path.c_str(), EXS_Unknown, EGL_noChange, 4096);
  if (c.bad()) return Status(ErrorCode::kInvalidDicom, Err("read " + photo.path, c));
  DcmDataset& src = *source.getDataset();

  const std::string manufacturer = algorithm.manufacturer.empty() ? "radflow" : algorithm.manufacturer;
  const std::string model = (algorithm.name.empty() ? algorithm.id : algorithm.name).substr(0, 64);
  const std::string version = algorithm.version.empty() ? "0" : algorithm.version;
  IODGeneralEquipmentModule::EquipmentInfo equipment(manufacturer.c_str(), model.c_str(),
                                                     algorithm.id.substr(0, 64).c_str(), version.c_str());
  ContentIdentificationMacro ident("1", "FUNDUS_QUALITY", "Retinal vessels and optic disc", "");
  DcmSegmentation* raw = nullptr;
  c = DcmSegmentation::createBinarySegmentation(raw, Uint16(h), Uint16(w), equipment, ident);
  if (c.bad() || !raw) return Status(ErrorCode::kInternal, Err("createBinarySegmentation", c));
  std::unique_ptr<DcmSegmentation> seg(raw);
  // Patient and study from the photograph; it has no Frame of Reference (A.39.1).
  c = seg->importHierarchy(src, OFTrue, OFTrue, OFFalse, OFFalse);
  if (c.bad()) return Status(ErrorCode::kInvalidDicom, Err("import patient/study", c));

  const std::string dim_uid = NewUid();
  seg->getDimensions().addDimensionIndex(DCM_ReferencedSegmentNumber, dim_uid.c_str(),
                                         DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber");

  struct Part {
    const Mask* mask;
    ai::Code type;
    const char* label;
    double rgb[3];
  };
  std::vector<Part> parts{{&analysis.vessels, codes::kRetinalVessels, "Retinal vessels", {1.0, 0.2, 0.2}}};
  if (analysis.disc_found) parts.push_back({&analysis.disc, codes::kOpticDisc, "Optic disc", {0.2, 0.8, 0.2}});

  const CodeSequenceMacro derivation_code("113076", "DCM", "Segmentation");
  const CodeSequenceMacro purpose_code("121322", "DCM", "Source image for image processing operation");
  std::vector<Uint8> frame(size_t(w) * size_t(h));
  for (const Part& part : parts) {
    DcmSegment* segment = nullptr;
    c = DcmSegment::create(segment, part.label,
                           CodeSequenceMacro(ai::codes::kAnatomicalStructure.value.c_str(),
                                             ai::codes::kAnatomicalStructure.scheme.c_str(),
                                             ai::codes::kAnatomicalStructure.meaning.c_str()),
                           CodeSequenceMacro(part.type.value.c_str(), part.type.scheme.c_str(),
                                             part.type.meaning.c_str()),
                           DcmSegTypes::SAT_AUTOMATIC, model.c_str());
    if (c.bad() || !segment) return Status(ErrorCode::kInternal, Err(std::string("segment ") + part.label, c));
    double L = 0, a = 0, b = 0;
    IODCIELabUtil::rgb2DicomLab(L, a, b, part.rgb[0], part.rgb[1], part.rgb[2]);
    segment->setRecommendedDisplayCIELabValue(Uint16(L), Uint16(a), Uint16(b));
    Uint16 number = 0;
    if ((c = seg->addSegment(segment, number)).bad()) {
      delete segment;
      return Status(ErrorCode::kInternal, Err("addSegment", c));
    }
    for (size_t i = 0; i < frame.size(); ++i) frame[i] = (*part.mask)[i] ? 1 : 0;
    FGFrameContent content;
    content.setDimensionIndexValues(number, 0);
    FGDerivationImage derivation;
    DerivationImageItem* item = nullptr;
    if ((c = derivation.addDerivationImageItem(derivation_code, "", item)).bad() || !item) {
      return Status(ErrorCode::kInternal, Err("derivation image", c));
    }
    auto* source_item = new SourceImageItem();
    source_item->getPurposeOfReferenceCode() = purpose_code;
    source_item->getImageSOPInstanceReference().setReferencedSOPClassUID(photo.sop_class_uid.c_str());
    source_item->getImageSOPInstanceReference().setReferencedSOPInstanceUID(photo.sop_instance_uid.c_str());
    item->getSourceImageItems().push_back(source_item);
    OFVector<FGBase*> per_frame{&content, &derivation};
    if ((c = seg->addFrame(frame.data(), number, per_frame)).bad()) {
      return Status(ErrorCode::kInternal, Err("addFrame", c));
    }
  }

  const std::string series_uid = NewUid();
  seg->getSeries().setSeriesInstanceUID(series_uid.c_str());
  seg->getSeries().setSeriesNumber(std::to_string(series_number).c_str());
  seg->getSeries().setSeriesDescription(("AI " + model + " segmentation").substr(0, 64).c_str());
  seg->getGeneralImage().setContentDate(UtcNow("%Y%m%d").c_str());
  seg->getGeneralImage().setContentTime(UtcNow("%H%M%S").c_str());

  // The photograph has no Frame of Reference; a SEG whose frames reference their source
  // image needs none (A.51.3, with no plane position / orientation), but dcmiod's rules
  // make the module's UID Type 1: the rules go.
  seg->getRules()->deleteRule(DCM_FrameOfReferenceUID);
  seg->getRules()->deleteRule(DCM_PositionReferenceIndicator);
  DcmFileFormat file;
  DcmDataset& ds = *file.getDataset();
  if ((c = seg->writeDataset(ds)).bad()) return Status(ErrorCode::kInternal, Err("write SEG", c));
  // Type 2 patient / study attributes stay present when the photograph lacks them.
  for (const DcmTagKey& tag : {DCM_PatientName, DCM_PatientID, DCM_PatientBirthDate, DCM_PatientSex, DCM_StudyDate,
                               DCM_StudyTime, DCM_ReferringPhysicianName, DCM_StudyID, DCM_AccessionNumber}) {
    if (!ds.tagExists(tag)) ds.putAndInsertString(tag, Get(src, tag).c_str());
  }
  // General Image (C.7.6.1): Patient Orientation is Type 2C when there is no Image
  // Orientation (Patient), as here; the photograph's value, often empty.
  if (!ds.tagExists(DCM_PatientOrientation)) {
    ds.putAndInsertString(DCM_PatientOrientation, Get(src, DCM_PatientOrientation).c_str());
  }
  // Segments Overlap (C.8.20.2): YES when a pixel belongs to more than one segment (the
  // vessels crossing the disc), NO otherwise, and always NO with one segment.
  bool overlap = false;
  if (parts.size() > 1) {
    for (size_t i = 0; i < analysis.vessels.size() && !overlap; ++i) {
      overlap = analysis.vessels[i] && analysis.disc[i];
    }
  }
  ds.putAndInsertString(DCM_SegmentsOverlap, overlap ? "YES" : "NO");
  // Common Instance Reference (C.12.2): the photograph's series and instance.
  ds.findAndDeleteElement(DCM_ReferencedSeriesSequence);
  DcmItem* series = nullptr;
  ds.findOrCreateSequenceItem(DCM_ReferencedSeriesSequence, series, -2);
  if (series) {
    series->putAndInsertString(DCM_SeriesInstanceUID, Get(src, DCM_SeriesInstanceUID).c_str());
    DcmItem* ref = nullptr;
    series->findOrCreateSequenceItem(DCM_ReferencedInstanceSequence, ref, -2);
    if (ref) {
      ref->putAndInsertString(DCM_ReferencedSOPClassUID, photo.sop_class_uid.c_str());
      ref->putAndInsertString(DCM_ReferencedSOPInstanceUID, photo.sop_instance_uid.c_str());
    }
  }
  AddContributingEquipment(ds, {algorithm.id, model, version, manufacturer});

  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  c = file.saveFile(path.c_str(), EXS_LittleEndianExplicit);
  if (c.bad()) return Status(ErrorCode::kIoError, "cannot write " + path + ": " + c.text());

  ai::WrittenObject out;
  out.path = path;
  out.kind = "seg";
  out.sop_class_uid = UID_SegmentationStorage;
  out.sop_instance_uid = Get(ds, DCM_SOPInstanceUID);
  out.series_instance_uid = series_uid;
  return out;
}

}  // namespace radflow::apps::ophthalmic
