// Standard results for an app's output (IHE AI Results profile): DICOM Segmentation
// (BINARY, PS3.3 A.51), Comprehensive 3D SR with a TID 1500 Measurement Report, and derived
// image series. Each object is a new series in the source study, names the algorithm in
// ContributingEquipmentSequence (purpose (Newcode1, 99IHE, "Processing Algorithm")) and
// references the source instances. Written with DCMTK dcmseg / dcmsr / dcmdata.
#pragma once

#include <string>
#include <vector>

#include "ai/app.h"
#include "base/status.h"

namespace radflow::ai {

struct Algorithm {
  std::string id;            // app id
  std::string name;          // AlgorithmName / Manufacturer's model name
  std::string version;       // AlgorithmVersion / SoftwareVersions
  std::string manufacturer;  // the app's vendor
};

// The source series: its Part-10 files (any order). Patient and study attributes are
// copied from them; each SEG frame references the source image it lies on.
struct SourceSeries {
  std::vector<std::string> files;
};

struct WrittenObject {
  std::string path;            // the Part-10 file written
  std::string kind;            // "seg" | "sr" | "derived"
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string series_instance_uid;
};

// Writes the SEG (when output.segments is not empty), the SR (when measurement_report and
// findings or segments exist; measurement groups reference the SEG's segments; segments
// without findings get one group each), and one series per derived volume, into out_dir:
// seg-1.dcm, sr-1.dcm, derived-<n>/derived-<SeriesNumber>-<slice>.dcm. `series_number_base`
// numbers the new series (SeriesNumber = base, base+1, ...). Returned in that order. Errors: those of the
// writers below; kIoError when out_dir cannot be created.
Result<std::vector<WrittenObject>> WriteResults(const AppOutput& output, const SourceSeries& source,
                                                const Algorithm& algorithm,
                                                const std::string& out_dir,
                                                int series_number_base = 9000,
                                                bool measurement_report = true);

// Lower-level writers, used by WriteResults and tested on their own. All need readable
// source files (kNotFound / kInvalidDicom / kMissingAttribute otherwise).
// SEG: every mask on one grid (the source volume's, or LoadSeries' resampled one), each
// segment with category and type codes (kInvalidArgument otherwise); one frame per
// (segment, slice with a voxel); each frame references the source image on its plane, or,
// when some frame lies on none (resampled grid), the shared Derivation Image group lists
// every source image.
Result<WrittenObject> WriteSegmentation(const std::vector<SegmentOutput>& segments,
                                        const SourceSeries& source, const Algorithm& algorithm,
                                        const std::string& path, int series_number);
// `segmentation` (optional, may be null): the SEG the findings' segment_number refer to.
Result<WrittenObject> WriteMeasurementReport(const std::vector<Finding>& findings,
                                             const SourceSeries& source,
                                             const Algorithm& algorithm,
                                             const WrittenObject* segmentation,
                                             const std::string& path, int series_number);
// One CT Image Storage instance per slice, HU as signed 16-bit (identity rescale), named
// derived-<series_number>-<slice, 1-based, 4 digits>.dcm; returns the instances written.
Result<std::vector<WrittenObject>> WriteDerivedSeries(const DerivedSeries& derived,
                                                      const SourceSeries& source,
                                                      const Algorithm& algorithm,
                                                      const std::string& out_dir,
                                                      int series_number);

// Reading back a TID 1500 SR (ours or another's, e.g. dcmqi's in ../shared/data/seg_sr):
// its measurement groups with their tracking identifiers and numeric measurements.
struct SrMeasurementGroup {
  std::string tracking_identifier;
  std::string tracking_uid;
  Code finding;                        // FindingCode, if present
  std::string referenced_segment;      // "<SEG SOP UID>#<segment number>", if present
  std::vector<Measurement> measurements;
};
struct SrDocument {
  std::string sop_instance_uid;
  std::string template_id;             // "1500" when a TID 1500 report
  Code title;
  std::vector<SrMeasurementGroup> groups;
};
// Groups are the CONTAINERs (125007, DCM, "Measurement Group") in document order; their
// direct NUM children with a value are the measurements (in order). template_id comes from
// the root's ContentTemplateSequence, else "1500" when the title is (126000, DCM).
// Errors: kNotFound, kInvalidDicom (unreadable), kInvalidArgument (not an SR document).
Result<SrDocument> ReadMeasurementReport(const std::string& path);

}  // namespace radflow::ai
