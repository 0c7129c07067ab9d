// Hand-built DICOM files for the de-identification tests.
#pragma once

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "deid/deidentify.h"

namespace radflow::deid::test_util {

inline constexpr const char* kStudyUid = "1.2.826.0.1.3680043.8.498.1001";
inline constexpr const char* kSeriesUid = "1.2.826.0.1.3680043.8.498.1002";
inline constexpr const char* kSopUid = "1.2.826.0.1.3680043.8.498.1003";
inline constexpr const char* kFrameUid = "1.2.826.0.1.3680043.8.498.1004";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "radflow-deid-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A CT-like data set with identifying attributes of every action code.
inline std::unique_ptr<DcmFileFormat> MakeCt() {
  auto ff = std::make_unique<DcmFileFormat>();
  DcmDataset* ds = ff->getDataset();
  ds->putAndInsertString(DCM_SOPClassUID, UID_CTImageStorage);
  ds->putAndInsertString(DCM_SOPInstanceUID, kSopUid);
  ds->putAndInsertString(DCM_StudyInstanceUID, kStudyUid);
  ds->putAndInsertString(DCM_SeriesInstanceUID, kSeriesUid);
  ds->putAndInsertString(DCM_FrameOfReferenceUID, kFrameUid);
  ds->putAndInsertString(DCM_Modality, "CT");
  ds->putAndInsertString(DCM_PatientName, "Holmes^Sherlock");
  ds->putAndInsertString(DCM_PatientID, "PID-221B");
  ds->putAndInsertString(DCM_PatientBirthDate, "18540106");
  ds->putAndInsertString(DCM_PatientSex, "M");
  ds->putAndInsertString(DCM_PatientAge, "060Y");
  ds->putAndInsertString(DCM_PatientWeight, "70");
  ds->putAndInsertString(DCM_PatientAddress, "221B Baker Street");
  ds->putAndInsertString(DCM_AccessionNumber, "ACC778899");
  ds->putAndInsertString(DCM_StudyDate, "20200301");
  ds->putAndInsertString(DCM_StudyTime, "101500");
  ds->putAndInsertString(DCM_SeriesDate, "20200301");
  ds->putAndInsertString(DCM_AcquisitionDateTime, "20200301101600.5");
  ds->putAndInsertString(DCM_ContentTime, "101700");
  ds->putAndInsertString(DCM_InstanceCreationDate, "20200302");
  ds->putAndInsertString(DCM_StationName, "CTSTATION7");
  ds->putAndInsertString(DCM_InstitutionName, "St Bartholomew Hospital");
  ds->putAndInsertString(DCM_InstitutionAddress, "West Smithfield");
  ds->putAndInsertString(DCM_DeviceSerialNumber, "SN-4711");
  ds->putAndInsertString(DCM_ReferringPhysicianName, "Watson^John");
  ds->putAndInsertString(DCM_SeriesDescription, "Chest Holmes follow-up");
  ds->putAndInsertString(DCM_StudyID, "S12345");
  ds->putAndInsertString(DCM_Manufacturer, "ACME");
  ds->putAndInsertString(DCM_SliceThickness, "5");
  auto* refs = new DcmSequenceOfItems(DCM_ReferencedImageSequence);
  auto* item = new DcmItem();
  item->putAndInsertString(DCM_ReferencedSOPClassUID, UID_CTImageStorage);
  item->putAndInsertString(DCM_ReferencedSOPInstanceUID, "1.2.826.0.1.3680043.8.498.1099");
  refs->append(item);
  ds->insert(refs);
  return ff;
}

inline void Save(DcmFileFormat& ff, const std::string& path) {
  ff.saveFile(path.c_str(), EXS_LittleEndianExplicit);
}

inline std::unique_ptr<DcmFileFormat> Load(const std::string& path) {
  auto ff = std::make_unique<DcmFileFormat>();
  if (ff->loadFile(path.c_str()).bad() || ff->loadAllDataIntoMemory().bad()) return nullptr;
  return ff;
}

inline std::string Get(DcmItem* item, const DcmTagKey& key) {
  OFString v;
  if (item->findAndGetOFStringArray(key, v).bad()) return "<absent>";
  return v.c_str();
}

inline DeidOptions Options(const std::string& csv = "") {
  auto o = ParseDeidOptions(csv);
  DeidOptions out = o.ok() ? *o : DeidOptions{};
  out.secret = "0123456789abcdef0123456789abcdef";
  return out;
}

// De-identifies ff with the options; returns the output (nullptr when not written).
inline std::unique_ptr<DcmFileFormat> RunDeid(DcmFileFormat& ff, const DeidOptions& options,
                                          DeidFileReport* report = nullptr) {
  TempDir dir;
  Save(ff, dir.File("in.dcm"));
  Deidentifier d(options);
  auto r = d.DeidentifyFile(dir.File("in.dcm"), dir.File("out/out.dcm"));
  if (!r.ok()) return nullptr;
  if (report) *report = *r;
  if (r->skipped) return nullptr;
  return Load(dir.File("out/out.dcm"));
}

}  // namespace radflow::deid::test_util
