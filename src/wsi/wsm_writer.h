// Writes one VL Whole Slide Microscopy Image instance (PS3.3 A.32.8) as a Part-10 file with
// JPEG Baseline frames (Transfer Syntax 1.2.840.10008.1.2.4.50), streamed: the header is
// written first, then each frame as one fragment (PS3.5 A.4), and the offset table
// reserved up front is filled at the end, so a level is never held in memory. The 32-bit
// Basic Offset Table addresses 4 GiB of fragments; a level that may hold more gets an empty
// Basic Offset Table and an Extended Offset Table (7FE0,0001) with its Lengths (7FE0,0002)
// instead (PS3.5 A.4, PS3.3 C.7.6.3.1.8).
#pragma once

#include <array>
#include <cstdio>
#include <memory>
#include <string>

#include "base/status.h"
#include "dicom/instance.h"
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
  // Upper bound of the fragments' bytes (item headers included); decides the offset table
  // before any frame is written. 0: not known, bounded by twice the uncompressed size.
  uint64_t max_fragment_bytes = 0;
  bool specimen_label_in_image = false;
  bool burned_in_annotation = false;
};

// The most frames one instance holds: NumberOfFrames is IS (at most 2^31-1) and the offset
// tables' sizes (8 bytes a frame) must fit a 32-bit value length.
constexpr uint32_t kMaxFrames = (1u << 29) - 1;
// The Basic Offset Table's reach: offsets are 32-bit (PS3.5 A.4).
constexpr uint64_t kBasicOffsetTableLimit = 0xFFFFFFFFull;

class WsmWriter {
 public:
  ~WsmWriter();
  // `bot_limit`: the largest fragment offset the Basic Offset Table may hold; beyond it
  // (as max_fragment_bytes bounds) the Extended Offset Table is written. A parameter for tests.
  static Result<std::unique_ptr<WsmWriter>> Begin(const std::string& path, const SlideContext& slide,
                                                  const InstanceDescription& instance,
                                                  uint64_t bot_limit = kBasicOffsetTableLimit);
  // kInternal when a frame would lie beyond the Basic Offset Table's reach (max_fragment_bytes
  // was wrong): never kUnsupported, which callers read as "not copyable, compute the level".
  Status AddFrame(const Bytes& jpeg);
  bool extended_offset_table() const { return extended_; }
  // Closes the pixel data; kInternal when fewer or more frames came than announced.
  // Returns the file's size in bytes.
  Result<uint64_t> Finish();

 private:
  WsmWriter() = default;
  std::string path_;
  std::FILE* f_ = nullptr;
  uint32_t frames_expected_ = 0;
  std::vector<uint64_t> offsets_;
  std::vector<uint64_t> lengths_;  // fragment value lengths, for the Extended Offset Table Lengths
  bool extended_ = false;
  uint64_t bot_limit_ = kBasicOffsetTableLimit;
  uint64_t bot_at_ = 0;       // file offset of the offset table's value (basic or extended)
  uint64_t eotl_at_ = 0;      // file offset of the Extended Offset Table Lengths' value
  uint64_t first_item_ = 0;   // file offset of the first fragment item
  uint64_t ratio_at_ = 0;     // file offset of LossyImageCompressionRatio's value
  uint64_t uncompressed_ = 0;
};

}  // namespace radflow::wsi

namespace radflow::wsi {
// New UIDs: the one definition in dicom/instance.h.
using dicom::NewUid;
}  // namespace radflow::wsi
