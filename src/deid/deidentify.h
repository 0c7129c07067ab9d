// De-identification by the Basic Application Level Confidentiality Profile and its options
// (DICOM PS3.15 Annex E, Table E.1-1) (docs/deidentification.md). Owner: H6.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace radflow::deid {

// The profile options of PS3.15 E.3 a research export selects. The Basic Profile is always
// applied; each flag relaxes (retain_*) or tightens (clean_*) it.
struct DeidOptions {
  bool retain_dates = false;  // Retain Longitudinal Temporal Information with Modified Dates (E.3.6)
  bool retain_patient_chars = false;  // Retain Patient Characteristics (E.3.5)
  bool retain_device = false;         // Retain Device Identity (E.3.4)
  bool clean_descriptors = false;     // Clean Descriptors (E.3.11)
  bool clean_structured = false;      // Clean Structured Content (E.3.12)
  bool clean_graphics = false;        // Clean Graphics (E.3.3)
  bool clean_pixels = false;          // Clean Pixel Data (E.3.1), burned-in text by OCR
  std::string secret;                 // site secret bytes (keys every hash); must not be empty
};

// "retain-dates,retain-patient-chars,retain-device,clean-descriptors,clean-structured,
// clean-graphics,clean-pixels" (any subset, any order; empty = Basic Profile only).
// Returns InvalidArgument naming an unknown option.
Result<DeidOptions> ParseDeidOptions(std::string_view csv);
// The options as the same comma-separated names (for manifests and reports).
std::string FormatDeidOptions(const DeidOptions& options);

// The CID 7050 codes (scheme DCM) an output carries for these options, in the order
// written to De-identification Method Code Sequence: 113100 Basic, 113101 Clean Pixel Data
// (only when pixels were cleaned), 113103, 113104, 113105, 113107, 113108, 113109 for the
// options set, and 113111 Retain Safe Private (always: radflow keeps the E.3.10 safe list).
struct MethodCode {
  std::string value, meaning;
};
std::vector<MethodCode> MethodCodes(const DeidOptions& options, bool pixels_cleaned);

// DATA/deid-secret: 32 random bytes, created with mode 0600 when missing.
Result<std::string> LoadOrCreateSiteSecret(const std::string& data_dir);
// Reads a secret file (any length >= 16 bytes).
Result<std::string> LoadSecretFile(const std::string& path);

// Whether the file starts like DICOM: "DICM" at offset 128 (PS3.10 7.1), or a data set with
// no preamble whose first tag is in group 0002 or 0008. Used to skip other files in folders.
bool LooksLikeDicomFile(const std::string& path);

struct DeidFileReport {
  std::string in, out;
  bool skipped = false;        // not written: the profile cannot make it safe (reason says why)
  std::string reason;
  int pixels_masked_regions = 0;
  std::string sop_class_uid;   // of the input (for reports)
  std::string patient_pseudonym;  // PatientID written
};

// Thread-safe after construction (const methods only; Tesseract is created per call).
class Deidentifier {
 public:
  explicit Deidentifier(DeidOptions options);

  // Reads a DICOM file, writes the de-identified object to out (parent folders created).
  // Returns InvalidDicom for unreadable input; a skipped report (nothing written) for objects
  // the options cannot make safe (burned-in text without clean_pixels, encapsulated documents).
  Result<DeidFileReport> DeidentifyFile(const std::string& in, const std::string& out) const;

  // Stable keyed-hash pseudonym for a PatientID: "RF" + 16 upper-case hex digits.
  std::string PseudonymFor(std::string_view patient_id) const;
  // "2.25.<decimal of the first 128 bits of HMAC-SHA256(secret, uid)>" (PS3.5 B.2), at most
  // 44 characters, the same for the same uid and secret everywhere.
  std::string MapUid(std::string_view uid) const;
  // Days, in [-3650, -365], by which the dates of this patient are shifted under
  // retain_dates: keyed hash of the original PatientID, the same for every file.
  int DateShiftDays(std::string_view patient_id) const;

  const DeidOptions& options() const { return options_; }

 private:
  DeidOptions options_;
};

}  // namespace radflow::deid
