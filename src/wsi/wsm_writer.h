// Writes one VL Whole Slide Microscopy Image instance (PS3.3 A.32.8) as a Part-10 file with
// JPEG Baseline frames (Transfer Syntax 1.2.840.10008.1.2.4.50), streamed: the header is
// written first, then each frame as one fragment (PS3.5 A.4), and the Basic Offset Table
// reserved up front is filled at the end, so a level is never held in memory.
#pragma once

#include <array>
#include <cstdio>
#include <memory>
#include <string>

#include "base/status.h"
#include "wsi/jpeg_stream.h"

namespace radflow::wsi {

// What all instances of one slide share (one study, series, frame of reference, container).
struct SlideContext {
  std::string patient_id, patient_name, accession_number;
  std::string study_instance_uid, study_date, study_time;
  std::string series_instance_uid;
  std::string frame_of_reference_uid;
  std::string dimension_organization_uid;
  std::string container_identifier;
  std::string specimen_uid;
  std::string acquisition_datetime;  // DT
  std::string manufacturer, model_name, device_serial_number, software_versions;
  Bytes icc_profile;
  double origin_x_mm = 0, origin_y_mm = 0;          // TotalPixelMatrixOriginSequence
  double imaged_width_mm = 0, imaged_height_mm = 0;  // level 0 extent
  double imaged_depth_um = 0;                        // 0: unknown
  std::string content_date, content_time;
};

struct InstanceDescription {
  std::array<std::string, 4> image_type;  // e.g. ORIGINAL PRIMARY VOLUME NONE
  std::string sop_instance_uid;
  int instance_number = 1;
  uint32_t total_columns = 0, total_rows = 0;
  uint32_t tile_columns = 0, tile_rows = 0;
  uint32_t frames = 0;
  std::string photometric;  // RGB, YBR_FULL_422, YBR_FULL
  double spacing_row_mm = 0, spacing_column_mm = 0;  // PixelSpacing; 0: unknown
  bool specimen_label_in_image = false;
  bool burned_in_annotation = false;
};

class WsmWriter {
 public:
  ~WsmWriter();
  static Result<std::unique_ptr<WsmWriter>> Begin(const std::string& path, const SlideContext& slide,
                                                  const InstanceDescription& instance);
  Status AddFrame(const Bytes& jpeg);
  // Closes the pixel data; kInternal when fewer or more frames came than announced.
  // Returns the file's size in bytes.
  Result<uint64_t> Finish();

 private:
  WsmWriter() = default;
  std::string path_;
  std::FILE* f_ = nullptr;
  uint32_t frames_expected_ = 0;
  std::vector<uint32_t> offsets_;
  uint64_t bot_at_ = 0;       // file offset of the Basic Offset Table's value
  uint64_t first_item_ = 0;   // file offset of the first fragment item
  uint64_t ratio_at_ = 0;     // file offset of LossyImageCompressionRatio's value
  uint64_t uncompressed_ = 0;
};

}  // namespace radflow::wsi

namespace radflow::wsi {
// A new UID under DCMTK's site root (as the other writers of radflow).
std::string NewUid();
}  // namespace radflow::wsi
