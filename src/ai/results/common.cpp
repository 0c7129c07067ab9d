// Shared by the SEG, SR and derived-series writers: source headers, plane matching, UIDs
// and the attributes each written object carries.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "ai/results/results_internal.h"
#include "imaging/dicom_helpers.h"

namespace radflow::ai::results_internal {

using imaging::internal::Cross;
using imaging::internal::Dot;
using imaging::internal::GetDoubles;
using imaging::internal::GetString;
using imaging::internal::Sub;

Result<LoadedSource> LoadSource(const SourceSeries& source) {
  if (source.files.empty()) return Status(ErrorCode::kInvalidArgument, "no source files");
  LoadedSource out;
  for (const auto& path : source.files) {
    auto ff = std::make_shared<DcmFileFormat>();
    // Values over 4 KiB (the pixel data) stay on disk until accessed (DCM_MaxReadLength).
    RADFLOW_RETURN_IF_ERROR(imaging::internal::LoadDicom(path, *ff));
    DcmDataset* ds = ff->getDataset();
    SourceInstance inst;
    inst.sop_class_uid = GetString(ds, DCM_SOPClassUID);
    inst.sop_instance_uid = GetString(ds, DCM_SOPInstanceUID);
    if (inst.sop_class_uid.empty() || inst.sop_instance_uid.empty()) {
      return Status(ErrorCode::kMissingAttribute, "no SOP Class/Instance UID in " + path);
    }
    double iop[6];
    if (GetDoubles(ds, DCM_ImagePositionPatient, inst.position.data(), 3) &&
        GetDoubles(ds, DCM_ImageOrientationPatient, iop, 6)) {
      inst.row = {iop[0], iop[1], iop[2]};
      inst.col = {iop[3], iop[4], iop[5]};
      inst.has_geometry = true;
    }
    out.instances.push_back(inst);
    if (!out.first) {
      out.study_instance_uid = GetString(ds, DCM_StudyInstanceUID);
      out.series_instance_uid = GetString(ds, DCM_SeriesInstanceUID);
      out.frame_of_reference_uid = GetString(ds, DCM_FrameOfReferenceUID);
      if (out.study_instance_uid.empty() || out.series_instance_uid.empty()) {
        return Status(ErrorCode::kMissingAttribute, "no Study/Series Instance UID in " + path);
      }
      out.first = ff;
    }
  }
  return out;
}

const SourceInstance* MatchSlice(const LoadedSource& src, const imaging::Geometry& grid, size_t k) {
  const imaging::Vec3 p = grid.IndexToPoint(0, 0, static_cast<double>(k));
  const auto& di = grid.direction[0];
  const auto& dj = grid.direction[1];
  const imaging::Vec3 n = Cross(di, dj);
  const double half_slice = 0.5 * grid.spacing[2];
  const double half_pixel = 0.5 * std::min(grid.spacing[0], grid.spacing[1]);
  for (const auto& inst : src.instances) {
    if (!inst.has_geometry) continue;
    if (Dot(inst.row, di) < 0.9999 || Dot(inst.col, dj) < 0.9999) continue;
    const imaging::Vec3 d = Sub(inst.position, p);
    const double along = Dot(d, n);
    if (std::abs(along) >= half_slice) continue;
    // In-plane offset: a tilted stack's slices are shifted within the plane.
    const double in_plane = std::sqrt(std::max(0.0, Dot(d, d) - along * along));
    if (in_plane < half_pixel) return &inst;
  }
  return nullptr;
}


static std::tm UtcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

std::string Today() {
  std::tm tm = UtcNow();
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return buf;
}

std::string NowTime() {
  std::tm tm = UtcNow();
  char buf[16];
  std::strftime(buf, sizeof buf, "%H%M%S", &tm);
  return buf;
}

std::string FormatDS(double v) {
  if (std::abs(v) < 1e-9) v = 0;
  char buf[32];
  for (int prec = 10; prec > 1; --prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::char_traits<char>::length(buf) <= 16) break;
  }
  return buf;
}

void CopyPatientStudy(DcmItem& from, DcmItem& to) {
  // Type 2 attributes stay present (empty) when the source lacks them (PS3.3 C.7.1.1, C.7.2.1).
  const DcmTagKey kTags[] = {DCM_PatientName,  DCM_PatientID,   DCM_PatientBirthDate,
                             DCM_PatientSex,   DCM_StudyInstanceUID, DCM_StudyDate,
                             DCM_StudyTime,    DCM_ReferringPhysicianName, DCM_StudyID,
                             DCM_AccessionNumber};
  for (const auto& tag : kTags) {
    OFString v;
    from.findAndGetOFStringArray(tag, v);
    to.putAndInsertOFStringArray(tag, v);
  }
  // Optional: keep what the source has.
  const DcmTagKey kOptional[] = {DCM_IssuerOfPatientID, DCM_PatientAge, DCM_PatientSize,
                                 DCM_PatientWeight, DCM_StudyDescription,
                                 DCM_SpecificCharacterSet};
  for (const auto& tag : kOptional) {
    OFString v;
    if (from.findAndGetOFStringArray(tag, v).good() && !v.empty()) to.putAndInsertOFStringArray(tag, v);
  }
}

Equipment EquipmentOf(const Algorithm& algorithm) {
  Equipment e;
  e.manufacturer = algorithm.manufacturer.empty() ? "radflow" : algorithm.manufacturer;
  e.model_name = (algorithm.name.empty() ? algorithm.id : algorithm.name).substr(0, 64);
  e.software_versions = algorithm.version.empty() ? "0" : algorithm.version;
  e.serial_number = (algorithm.id.empty() ? "0" : algorithm.id).substr(0, 64);
  return e;
}

void AddContributingEquipment(DcmItem& dataset, const Algorithm& algorithm) {
  DcmItem* item = nullptr;
  dataset.findOrCreateSequenceItem(DCM_ContributingEquipmentSequence, item, -2);
  if (!item) return;
  const Equipment e = EquipmentOf(algorithm);
  item->putAndInsertString(DCM_Manufacturer, e.manufacturer.c_str());
  item->putAndInsertString(DCM_ManufacturerModelName, e.model_name.c_str());
  item->putAndInsertString(DCM_SoftwareVersions, e.software_versions.c_str());
  item->putAndInsertString(DCM_ContributionDateTime, (Today() + NowTime()).c_str());
  item->putAndInsertString(DCM_ContributionDescription, ("AI app " + algorithm.id).c_str());
  DcmItem* purpose = nullptr;
  item->findOrCreateSequenceItem(DCM_PurposeOfReferenceCodeSequence, purpose, -2);
  if (purpose) {
    purpose->putAndInsertString(DCM_CodeValue, "Newcode1");
    purpose->putAndInsertString(DCM_CodingSchemeDesignator, "99IHE");
    purpose->putAndInsertString(DCM_CodeMeaning, "Processing Algorithm");
  }
}

void AddReferencedSeries(DcmItem& dataset, const LoadedSource& src) {
  dataset.findAndDeleteElement(DCM_ReferencedSeriesSequence);
  DcmItem* series = nullptr;
  dataset.findOrCreateSequenceItem(DCM_ReferencedSeriesSequence, series, -2);
  if (!series) return;
  series->putAndInsertString(DCM_SeriesInstanceUID, src.series_instance_uid.c_str());
  for (const auto& inst : src.instances) {
    DcmItem* ref = nullptr;
    series->findOrCreateSequenceItem(DCM_ReferencedInstanceSequence, ref, -2);
    if (!ref) continue;
    ref->putAndInsertString(DCM_ReferencedSOPClassUID, inst.sop_class_uid.c_str());
    ref->putAndInsertString(DCM_ReferencedSOPInstanceUID, inst.sop_instance_uid.c_str());
  }
}

Status SaveDataset(DcmFileFormat& file, const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  OFCondition c = file.saveFile(path.c_str(), EXS_LittleEndianExplicit);
  if (c.bad()) return Status(ErrorCode::kIoError, "cannot write " + path + ": " + c.text());
  return Status::Ok();
}

}  // namespace radflow::ai::results_internal
