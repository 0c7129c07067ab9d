// A derived image series (e.g. a denoised CT): one CT Image Storage instance per slice
// (PS3.3 A.3), ImageType DERIVED\SECONDARY, HU stored as signed 16-bit with the identity
// rescale, slice geometry from the volume's Geometry.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ai/results/results_internal.h"

namespace radflow::ai {
using namespace results_internal;

namespace {

void PutCode(DcmItem& item, const char* value, const char* scheme, const char* meaning) {
  item.putAndInsertString(DCM_CodeValue, value);
  item.putAndInsertString(DCM_CodingSchemeDesignator, scheme);
  item.putAndInsertString(DCM_CodeMeaning, meaning);
}

}  // namespace

Result<std::vector<WrittenObject>> results_internal::WriteDerivedSeries(const DerivedSeries& derived,
                                                                        const LoadedSource& src,
                                                                        const Algorithm& algorithm,
                                                                        const std::string& out_dir,
                                                                        int series_number) {
  const imaging::ImageVolume& image = derived.image;
  const imaging::Geometry& g = image.geometry();
  if (image.empty() || g.size[0] > 65535 || g.size[1] > 65535) {
    return Status(ErrorCode::kInvalidArgument, "derived image is empty or too large");
  }
  DcmDataset& first = *src.first->getDataset();

  const std::string series_uid = NewUid();
  const std::string date = Today(), time = NowTime();
  const Equipment equipment = EquipmentOf(algorithm);
  const auto& di = g.direction[0];
  const auto& dj = g.direction[1];
  std::string iop;
  for (double v : {di[0], di[1], di[2], dj[0], dj[1], dj[2]}) {
    if (!iop.empty()) iop += '\\';
    iop += FormatDS(v);
  }
  const std::string pixel_spacing = FormatDS(g.spacing[1]) + "\\" + FormatDS(g.spacing[0]);
  const size_t cols = g.size[0], rows = g.size[1], plane = cols * rows;

  std::vector<WrittenObject> written;
  std::vector<Sint16> pixels(plane);
  for (size_t k = 0; k < g.size[2]; ++k) {
    DcmFileFormat file;
    DcmDataset& ds = *file.getDataset();
    const std::string sop_uid = NewUid();
    // SOP Common (C.12.1)
    ds.putAndInsertString(DCM_SOPClassUID, UID_CTImageStorage);
    ds.putAndInsertString(DCM_SOPInstanceUID, sop_uid.c_str());
    ds.putAndInsertString(DCM_InstanceCreationDate, date.c_str());
    ds.putAndInsertString(DCM_InstanceCreationTime, time.c_str());
    CopyPatientStudy(first, ds);
    // General Series (C.7.3.1)
    ds.putAndInsertString(DCM_Modality, "CT");
    ds.putAndInsertString(DCM_SeriesInstanceUID, series_uid.c_str());
    ds.putAndInsertString(DCM_SeriesNumber, std::to_string(series_number).c_str());
    ds.putAndInsertString(DCM_SeriesDate, date.c_str());
    ds.putAndInsertString(DCM_SeriesTime, time.c_str());
    ds.putAndInsertString(DCM_SeriesDescription, derived.series_description.substr(0, 64).c_str());
    OFString v;
    // Laterality (2C): dciodvfy cannot tell whether the body part is paired, so it stays
    // present: the source's value, else empty (a warning, not an error).
    v.clear();
    first.findAndGetOFString(DCM_Laterality, v);
    ds.putAndInsertString(DCM_Laterality, v.c_str());
    if (first.findAndGetOFString(DCM_PatientPosition, v).good()) ds.putAndInsertString(DCM_PatientPosition, v.c_str());
    // Frame of Reference (C.7.4.1): the source's, as the planes are in its patient space.
    ds.putAndInsertString(DCM_FrameOfReferenceUID,
                          (src.frame_of_reference_uid.empty() ? NewUid() : src.frame_of_reference_uid).c_str());
    ds.putAndInsertString(DCM_PositionReferenceIndicator, "");
    // General Equipment (C.7.5.1)
    ds.putAndInsertString(DCM_Manufacturer, equipment.manufacturer.c_str());
    ds.putAndInsertString(DCM_ManufacturerModelName, equipment.model_name.c_str());
    ds.putAndInsertString(DCM_SoftwareVersions, equipment.software_versions.c_str());
    AddContributingEquipment(ds, algorithm);
    // General Image (C.7.6.1) and CT Image (C.8.2.1)
    ds.putAndInsertString(DCM_InstanceNumber, std::to_string(k + 1).c_str());
    ds.putAndInsertString(DCM_ImageType, "DERIVED\\SECONDARY\\AXIAL");
    ds.putAndInsertString(DCM_ContentDate, date.c_str());
    ds.putAndInsertString(DCM_ContentTime, time.c_str());
    ds.putAndInsertString(DCM_AcquisitionNumber, "");
    ds.putAndInsertString(DCM_KVP, "");
    ds.putAndInsertString(DCM_DerivationDescription, derived.derivation_description.substr(0, 1024).c_str());
    DcmItem* deriv = nullptr;
    if (ds.findOrCreateSequenceItem(DCM_DerivationCodeSequence, deriv, -2).good() && deriv) {
      PutCode(*deriv, "113086", "DCM", "Image Processing");  // CID 7203
    }
    if (const SourceInstance* inst = MatchSlice(src, g, k)) {
      DcmItem* ref = nullptr;
      if (ds.findOrCreateSequenceItem(DCM_SourceImageSequence, ref, -2).good() && ref) {
        ref->putAndInsertString(DCM_ReferencedSOPClassUID, inst->sop_class_uid.c_str());
        ref->putAndInsertString(DCM_ReferencedSOPInstanceUID, inst->sop_instance_uid.c_str());
        DcmItem* purpose = nullptr;
        ref->findOrCreateSequenceItem(DCM_PurposeOfReferenceCodeSequence, purpose, -2);
        if (purpose) PutCode(*purpose, "121322", "DCM", "Source image for image processing operation");
      }
    }
    // Image Plane (C.7.6.2)
    const imaging::Vec3 pos = g.IndexToPoint(0, 0, static_cast<double>(k));
    ds.putAndInsertString(DCM_ImagePositionPatient,
                          (FormatDS(pos[0]) + "\\" + FormatDS(pos[1]) + "\\" + FormatDS(pos[2])).c_str());
    ds.putAndInsertString(DCM_ImageOrientationPatient, iop.c_str());
    ds.putAndInsertString(DCM_PixelSpacing, pixel_spacing.c_str());
    ds.putAndInsertString(DCM_SliceThickness, FormatDS(g.spacing[2]).c_str());
    // Image Pixel (C.7.6.3): HU as signed 16-bit, identity rescale (C.11.1.1.2).
    ds.putAndInsertUint16(DCM_SamplesPerPixel, 1);
    ds.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
    ds.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(rows));
    ds.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(cols));
    ds.putAndInsertUint16(DCM_BitsAllocated, 16);
    ds.putAndInsertUint16(DCM_BitsStored, 16);
    ds.putAndInsertUint16(DCM_HighBit, 15);
    ds.putAndInsertUint16(DCM_PixelRepresentation, 1);
    ds.putAndInsertString(DCM_RescaleIntercept, "0");
    ds.putAndInsertString(DCM_RescaleSlope, "1");
    ds.putAndInsertString(DCM_RescaleType, "HU");
    ds.putAndInsertString(DCM_WindowCenter, "40");
    ds.putAndInsertString(DCM_WindowWidth, "400");
    const float* slice = image.data().data() + k * plane;
    for (size_t p = 0; p < plane; ++p) {
      const double hu = std::round(static_cast<double>(slice[p]));
      pixels[p] = static_cast<Sint16>(std::clamp(std::isfinite(hu) ? hu : 0.0, -32768.0, 32767.0));
    }
    ds.putAndInsertUint16Array(DCM_PixelData, reinterpret_cast<const Uint16*>(pixels.data()),
                               static_cast<unsigned long>(plane));

    char name[64];
    std::snprintf(name, sizeof name, "/derived-%d-%04zu.dcm", series_number, k + 1);
    const std::string path = out_dir + name;
    if (Status st = SaveDataset(file, path); !st.ok()) return st;
    written.push_back({path, "derived", UID_CTImageStorage, sop_uid, series_uid});
  }
  return written;
}

Result<std::vector<WrittenObject>> WriteDerivedSeries(const DerivedSeries& derived,
                                                      const SourceSeries& source,
                                                      const Algorithm& algorithm,
                                                      const std::string& out_dir,
                                                      int series_number) {
  auto src = LoadSource(source);
  if (!src.ok()) return src.status();
  return results_internal::WriteDerivedSeries(derived, *src, algorithm, out_dir, series_number);
}

}  // namespace radflow::ai
