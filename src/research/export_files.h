// The export's tables and manifest (docs/research.md, "Export layout"): findings.csv (one row
// per finding, pseudonymous keys, then the IBSI features), manifest.json (cohort, counts,
// de-identification options with their DICOM codes, radflow version, every file with its size
// and SHA-256). Pure except Sha256File and ListFiles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "deid/deidentify.h"

namespace radflow::research {

// One findings.csv row. Keys are the export's pseudonyms (the de-identified DICOM's
// PatientID and mapped UIDs), never the originals.
struct FindingCsvRow {
  std::string patient, study, series;
  int64_t finding = 0;  // 1-based within the export
  std::string app, app_version;
  std::string type_code, type_meaning, label, site;
  double x = 0, y = 0, z = 0;
  double size_mm = 0, volume_ml = 0, score = 0;
  std::string severity;
  std::string mask_file;        // nifti/... of its SEG segment ('' none written)
  std::string features_source;  // ibsi | '' (none cached)
  std::vector<double> ibsi;     // IbsiFeatureNames() order; empty or NaN: blank cells
  // The app's measurements (details_json "measurements"): column "<name> [<unit>]" → value.
  std::vector<std::pair<std::string, double>> measurements;
};

// The header line's column names, in order: the fixed columns, the IBSI features, then one
// column per measurement name any row has (in order of first appearance).
std::vector<std::string> FindingsCsvColumns(const std::vector<FindingCsvRow>& rows = {});
// RFC 4180: the header and one line per row, CRLF line ends, fields quoted when they hold a
// comma, quote or line break.
std::string FindingsCsv(const std::vector<FindingCsvRow>& rows);

// A code of CID 7050 "De-identification Method" (PS3.16): the Basic Application Level
// Confidentiality Profile (113100) and one per option selected.
struct DeidCode {
  std::string value, scheme = "DCM", meaning;
};
std::vector<DeidCode> DeidMethodCodes(const deid::DeidOptions& options);

struct ManifestFile {
  std::string path;  // relative to the export folder, '/'-separated
  uint64_t size = 0;
  std::string sha256;  // lower-case hex
};

struct ManifestInput {
  std::string radflow_version;
  int64_t created_at_ms = 0;
  std::string cohort_name, cohort_description, criteria_json;
  int cohort_version = 0;
  int64_t patients = 0, studies = 0, series = 0, instances = 0, lesions = 0;  // the cohort's counts
  deid::DeidOptions options;
  std::vector<std::string> formats;
  int64_t dicom_files = 0, dicom_skipped = 0, nifti_images = 0, nifti_masks = 0, csv_rows = 0;
  std::vector<std::string> skipped_reasons;  // why objects were left out (no identifiers)
  std::vector<std::string> warnings;         // e.g. a series that could not be converted
  std::vector<ManifestFile> files;
};
// manifest.json's text (pretty-printed).
std::string ManifestJson(const ManifestInput& input);

// Lower-case hex SHA-256 of a file's bytes (FIPS 180-4). IoError when unreadable.
Result<std::string> Sha256File(const std::string& path);
// Every regular file under `folder`, relative '/'-separated paths, sorted.
Result<std::vector<std::string>> ListFiles(const std::string& folder);

}  // namespace radflow::research
