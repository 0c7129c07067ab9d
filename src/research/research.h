// ResearchService: the research hub (docs/research.md) — cohorts selected by criteria, saved
// as named versions with their study list frozen, and de-identified exports of a version
// (DICOM through deid::Deidentifier, NIfTI images and SEG masks, findings.csv, manifest.json)
// written by one background thread, one export at a time, with progress kept in the store.
//
// Thread-safe. The server creates it from the Hub (index, blobs, data dir), calls Start()
// once its routes are registered and Stop() before the Hub closes; the CLI calls ExportNow.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_event.h"
#include "base/status.h"
#include "deid/deidentify.h"
#include "research/criteria.h"
#include "research/exporter.h"  // ProgressFn
#include "research/selection.h"
#include "storage/research_store.h"

namespace radflow::storage {
class Index;
class BlobStore;
}  // namespace radflow::storage

namespace radflow::research {

struct ResearchConfig {
  std::string data_dir;     // DATA: deid-secret, exports/<id>/
  std::string index;        // the index (file or postgresql:// URI); "" → DATA/index.db
  audit::AuditSink audit;   // an "export" event per finished export (may be empty)
};

struct ExportRequest {
  std::string cohort;
  int version = 0;                 // <= 0: the newest
  deid::DeidOptions options;       // the secret is the site's (set by the service)
  std::vector<std::string> formats{"dicom", "nifti", "csv"};
};

// Who asked (for the store and the audit).
struct Requester {
  std::string user, role, source;
  std::string interface = "http";  // http | cli
};

// "dicom,nifti,csv" → the formats, InvalidArgument naming an unknown one or an empty list.
Result<std::vector<std::string>> ParseFormats(const std::vector<std::string>& formats);

class ResearchService {
 public:
  // Opens the research, job and AI stores on config.index (the Index has migrated it) and the
  // site secret (deid::LoadOrCreateSiteSecret); exports left running by a previous process are
  // marked failed ("interrupted by a restart").
  static Result<std::unique_ptr<ResearchService>> Open(storage::Index& index, storage::BlobStore& blobs,
                                                       ResearchConfig config);
  ~ResearchService();  // Stop()

  // The export thread: runs queued exports, oldest first, one at a time.
  void Start();
  // Finishes the running export's current file, marks it failed ("stopped"), joins the thread.
  void Stop();

  Result<Counts> Preview(const Criteria& criteria);
  // A new version of `name` (1 for a new name) with the study set selected now.
  Result<storage::CohortRow> CreateCohort(const std::string& name, const std::string& description,
                                          const Criteria& criteria, const std::string& created_by);
  // The newest version of every cohort.
  Result<std::vector<storage::CohortRow>> Cohorts();
  struct CohortDetail {
    storage::CohortRow cohort;
    std::vector<storage::CohortRow> versions;  // every version, oldest first
  };
  // version <= 0: the newest; nullopt for an unknown name or version.
  Result<std::optional<CohortDetail>> Cohort(const std::string& name, int version);

  // Queues an export into DATA/exports/<id>/. NotFound for an unknown cohort (version),
  // InvalidArgument for bad formats.
  Result<storage::ExportRow> QueueExport(const ExportRequest& request, const Requester& who);
  Result<std::vector<storage::ExportRow>> Exports();
  Result<std::optional<storage::ExportRow>> Export(int64_t id);
  // DATA/exports/<id>
  std::string ExportFolder(int64_t id) const;

  // Runs an export now on the calling thread into `out_dir` (created; must be empty or
  // absent); returns manifest.json's text. The CLI's `radflow export`.
  Result<std::string> ExportNow(const ExportRequest& request, const std::string& out_dir, const Requester& who,
                                const ProgressFn& progress);

 private:
  struct Impl;
  explicit ResearchService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::research
