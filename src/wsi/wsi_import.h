// Vendor whole-slide images (Aperio SVS, generic tiled TIFF, through OpenSlide and libtiff)
// converted into a DICOM VL Whole Slide Microscopy pyramid (PS3.3 A.32.8) and stored
// through IngestService::Store (docs/wsi-import.md).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::ingest {
class IngestService;
}

namespace radflow::wsi {

struct ImportOptions {
  std::string patient_id;         // empty: "WSI-" + container identifier
  std::string patient_name;
  std::string accession_number;
  std::string study_instance_uid;  // empty: a new one
  std::string container_identifier;  // empty: the slide file's name without extension
  // ImagedVolumeDepth and SliceThickness (Type 1C, PS3.3 C.8.12.4): vendor files do not
  // record the section thickness; 4 um is the usual paraffin section (docs/wsi-import.md).
  double section_thickness_um = 4;
  // Microns per pixel at level 0; > 0 overrides the file's resolution. An import of a slide
  // whose file records none (or an editor's 72/96 dpi) is refused unless it is given.
  double mpp = 0;
  int jpeg_quality = 90;           // computed levels and associated images
  int threads = 2;                 // decoders/encoders; clamped to 1..4 x hardware threads
};

struct WrittenInstance {
  std::string path;
  std::string kind;  // VOLUME, THUMBNAIL, LABEL, OVERVIEW
  std::string sop_instance_uid;
  uint32_t total_columns = 0, total_rows = 0, frames = 0;
  bool copied = false;  // tiles copied from the source's JPEG (no re-encoding)
  std::string photometric;
  uint64_t bytes = 0;
};

struct ConversionReport {
  std::string study_instance_uid, series_instance_uid, frame_of_reference_uid, container_identifier;
  std::vector<WrittenInstance> instances;  // VOLUME finest first, then THUMBNAIL, LABEL, OVERVIEW
};

// Converts `slide` into Part-10 files; new_path() gives each file's path (e.g. a blob store
// temp path). kInvalidArgument naming the file when it is not a slide this can read.
Result<ConversionReport> ConvertSlide(const std::string& slide, const ImportOptions& options,
                                      const std::function<std::string()>& new_path);

struct ImportSummary {
  ConversionReport report;
  int stored = 0, already_present = 0;
};
// ConvertSlide into the ingest service's temp files, each stored by IngestService::Store.
Result<ImportSummary> ImportSlide(const std::string& slide, const ImportOptions& options,
                                  ingest::IngestService& ingest);

}  // namespace radflow::wsi
