// Writes one export of a frozen cohort version into a folder (docs/research.md, "Export
// layout"):
//   dicom/<patient>/<study>/<series>/<instance>.dcm   de-identified (deid::Deidentifier)
//   nifti/<patient>/<study>/<series>.nii.gz           each image series as a volume
//   nifti/<patient>/<study>/<series>_seg_<seg>_<n>.nii.gz  segment n of a SEG on that grid
//   findings.csv                                      one row per finding of the cohort
//   manifest.json                                     what is included, options, hashes
// <patient> is the pseudonym (Deidentifier::PseudonymFor), the others the mapped UIDs
// (Deidentifier::MapUid): the same keys the de-identified DICOM carries.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "deid/deidentify.h"
#include "storage/research_store.h"

namespace radflow::storage {
class Index;
class BlobStore;
class JobStore;
class AiAdminStore;
}  // namespace radflow::storage

namespace radflow::research {

// done / total: files written of the export's files (DICOM instances, one NIfTI step per
// image series and per SEG series, findings.csv, manifest.json).
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

struct ExportSources {
  storage::Index* index = nullptr;
  storage::BlobStore* blobs = nullptr;
  storage::JobStore* jobs = nullptr;
  storage::AiAdminStore* features = nullptr;
};

struct ExportPlan {
  storage::CohortRow cohort;
  std::vector<storage::CohortStudyRow> studies;
  deid::DeidOptions options;     // with the site secret
  std::set<std::string> formats;  // dicom | nifti | csv
};

// Writes the export into out_dir (created; an existing non-empty folder is Conflict). Calls
// progress after each file; `cancelled` is checked between files (→ Cancelled). Returns
// manifest.json's text.
Result<std::string> WriteExport(const ExportPlan& plan, const ExportSources& sources, const std::string& out_dir,
                                const ProgressFn& progress, const std::function<bool()>& cancelled);

}  // namespace radflow::research
