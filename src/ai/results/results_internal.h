// Internal to radflow_ai_results: the source series as the writers need it, and the
// attributes every written object shares. Not a public header (it shows DCMTK types).
#pragma once

#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>

#include <memory>
#include <string>
#include <vector>

#include "ai/results/results.h"
#include "base/status.h"
#include "dicom/instance.h"
#include "imaging/volume.h"

namespace radflow::ai::results_internal {

// One source image (single-frame) with the geometry needed to match it to a grid plane.
struct SourceInstance {
  std::string sop_class_uid;
  std::string sop_instance_uid;
  imaging::Vec3 position{};   // ImagePositionPatient
  imaging::Vec3 row{}, col{};  // ImageOrientationPatient
  bool has_geometry = false;
};

struct LoadedSource {
  std::shared_ptr<DcmFileFormat> first;  // the first file, for patient / study attributes
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string frame_of_reference_uid;
  std::vector<SourceInstance> instances;
};

// Reads every file's header (pixel data skipped). kNotFound / kInvalidDicom /
// kMissingAttribute (no StudyInstanceUID or SOP UIDs).
Result<LoadedSource> LoadSource(const SourceSeries& source);

// The source instance whose plane is the grid's slice k: same orientation, within half the
// slice spacing along the normal and half a pixel in-plane (PS3.3 C.7.6.2.1.1). Null when
// none coincides (a resampled grid, e.g. a tilted series).
const SourceInstance* MatchSlice(const LoadedSource& src, const imaging::Geometry& grid, size_t k);

// The writers on a source read once (WriteResults writes several objects from one series).
Result<WrittenObject> WriteSegmentation(const std::vector<SegmentOutput>& segments,
                                        const LoadedSource& src, const Algorithm& algorithm,
                                        const std::string& path, int series_number);
Result<WrittenObject> WriteMeasurementReport(const std::vector<Finding>& findings,
                                             const LoadedSource& src, const Algorithm& algorithm,
                                             const WrittenObject* segmentation,
                                             const std::string& path, int series_number);
Result<std::vector<WrittenObject>> WriteDerivedSeries(const DerivedSeries& derived,
                                                      const LoadedSource& src,
                                                      const Algorithm& algorithm,
                                                      const std::string& out_dir, int series_number);

using dicom::NewUid;
// "YYYYMMDD" and "HHMMSS" now (UTC).
std::string Today();
std::string NowTime();
// Decimal string for DS (at most 16 characters, PS3.5 6.2).
std::string FormatDS(double v);

// How every object an app writes names its maker (General Equipment, PS3.3 C.7.5.1; SR
// device observer context, TID 1004): the app's manifest, with defaults for what it omits.
struct Equipment {
  std::string manufacturer;       // "radflow" unless the manifest names a vendor
  std::string model_name;         // the app's name, else its id (LO: at most 64 characters)
  std::string software_versions;  // the app's version, else "0"
  std::string serial_number;      // the app's id, else "0" (LO)
};
Equipment EquipmentOf(const Algorithm& algorithm);

// Patient, General Study and Patient Study attributes copied from the source's first file.
void CopyPatientStudy(DcmItem& from, DcmItem& to);
// ContributingEquipmentSequence (PS3.3 C.7.5.1) naming the algorithm, purpose
// (Newcode1, 99IHE, "Processing Algorithm") as the IHE AIR profile asks.
void AddContributingEquipment(DcmItem& dataset, const Algorithm& algorithm);
// ReferencedSeriesSequence (PS3.3 C.12.2, Common Instance Reference) listing the source.
void AddReferencedSeries(DcmItem& dataset, const LoadedSource& src);
// Writes dataset as Explicit VR Little Endian Part-10; kIoError on failure.
Status SaveDataset(DcmFileFormat& file, const std::string& path);

}  // namespace radflow::ai::results_internal
