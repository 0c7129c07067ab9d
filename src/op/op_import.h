// Fundus photographs (JPEG, PNG) wrapped as DICOM Ophthalmic Photography (PS3.3 A.39.1
// 8 Bit, A.41 16 Bit Image), with coded laterality, device and anatomy, stored through
// IngestService::Store (docs/ophthalmic.md).
//   JPEG baseline / extended 8-bit: the file's stream becomes the single frame, not
//     re-encoded (JPEG Baseline 1.2.840.10008.1.2.4.50 / Extended 4.51); metadata
//     segments (EXIF, XMP, COM …) and bytes after EOI are left out (jpeg_header.h).
//   PNG 8-bit: OP 8 Bit; PNG 16-bit: OP 16 Bit; Explicit VR Little Endian, lossless.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "ingest/ingest_service.h"

namespace radflow::op {

struct OpOptions {
  std::string laterality;  // ImageLaterality (0020,0062): R, L or B (both eyes)
  std::string patient_id;  // required
  std::string patient_name, study_instance_uid, accession_number, series_description;
  std::string device = "fundus-camera";  // op_codes.h: CID 4202
  std::string anatomy = "retina";        // CID 4209
};

struct OpObject {
  std::string path;  // the Part-10 file written
  std::string sop_class_uid, sop_instance_uid, study_instance_uid, series_instance_uid;
  std::string transfer_syntax_uid, photometric_interpretation;
  std::string source_format;  // "jpeg" | "png"
  int rows = 0, columns = 0, samples_per_pixel = 0, bits_allocated = 0;
  bool copied = false;  // the JPEG stream is stored as it came
  uint64_t bytes = 0;   // size of the Part-10 file
  std::vector<std::string> removed_segments;  // JPEG APPn/COM/trailer not stored (jpeg_header.h)
  int exif_orientation = 0;                   // EXIF Orientation of the JPEG, 0 if none
  uint64_t icc_profile_bytes = 0;             // its APP2 ICC profile, written as ICCProfile
};

// Checks the options (laterality, codes, each value against its VR) before any file is read.
Status CheckOptions(const OpOptions& options);

// Writes the photograph at image_path as an OP Part-10 file at out_path. Errors name the
// reason (not a JPEG or PNG, progressive JPEG, 12-bit JPEG, unreadable PNG …).
Result<OpObject> WriteOphthalmicPhotograph(const std::string& image_path, const OpOptions& options,
                                           const std::string& out_path);

struct OpImportResult {
  OpObject object;
  ingest::StoreOutcome outcome = ingest::StoreOutcome::kStored;
};

// Writes into a temp file of the blob store and stores it through ingest.
Result<OpImportResult> ImportPhotograph(const std::string& image_path, const OpOptions& options,
                                        ingest::IngestService& ingest);

}  // namespace radflow::op
