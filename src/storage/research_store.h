// ResearchStore: the research hub's cohorts (named, versioned, the study list frozen into each
// version) and its export jobs, in the index database (schema 011_research.sql;
// docs/research.md).
//
// What a cohort selects and how an export is written belongs to research::ResearchService:
// this store keeps rows and makes each change one transaction. Two connections: reads never
// wait for a write. Every write is one BEGIN IMMEDIATE transaction with synchronous=FULL.
// Times are unix ms. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

struct CohortCounts {
  int64_t patients = 0, studies = 0, series = 0, instances = 0, lesions = 0;
};

struct CohortRow {
  int64_t id = 0;
  std::string name;
  int version = 0;
  std::string description;
  std::string criteria_json = "{}";
  std::string created_by;
  int64_t created_at = 0;
  CohortCounts counts;
};

// One study of a frozen cohort version: the series and the AI findings (ai_findings.id) the
// selection included.
struct CohortStudyRow {
  std::string study_uid;
  std::vector<std::string> series_uids;
  std::vector<int64_t> finding_ids;
};

struct ExportRow {
  int64_t id = 0;
  std::string cohort_name;
  int cohort_version = 0;
  std::string options;  // de-identification options, comma-separated (deid::FormatDeidOptions)
  std::string formats = "dicom,nifti,csv";
  std::string out_dir;
  std::string status = "queued";  // queued | running | done | failed
  int64_t done = 0, total = 0;
  std::string error;
  std::string manifest_json;  // '' until done
  std::string created_by;
  int64_t created_at = 0, started_at = 0, finished_at = 0;
};

class ResearchStore {
 public:
  // Opens index.db (the Index must have applied the migrations first). NotFound when the
  // file is missing; DatabaseError when the schema lacks the tables (011_research.sql).
  static Result<std::unique_ptr<ResearchStore>> Open(const std::string& index_path);
  ~ResearchStore();

  // --- cohorts
  // Inserts `cohort` as the next version of its name (1 for a new name) with its studies,
  // in one transaction; returns the row written (id, version, created_at set; created_at 0
  // means now). InvalidArgument without a name.
  Result<CohortRow> CreateCohort(const CohortRow& cohort, const std::vector<CohortStudyRow>& studies);
  // The newest version of every name, by name.
  Result<std::vector<CohortRow>> LatestCohorts();
  // One version (version <= 0: the newest); nullopt when unknown.
  Result<std::optional<CohortRow>> Cohort(const std::string& name, int version);
  // Every version of a name, oldest first.
  Result<std::vector<CohortRow>> CohortVersions(const std::string& name);
  // The frozen studies of a version (cohort id), in StudyInstanceUID byte order (the order the
  // selection gives them in).
  Result<std::vector<CohortStudyRow>> CohortStudies(int64_t cohort_id);

  // --- exports
  // Inserts a queued export (id and created_at set when 0); returns the id.
  Result<int64_t> InsertExport(const ExportRow& row);
  Result<std::optional<ExportRow>> Export(int64_t id);
  // Newest first; limit <= 0: no limit.
  Result<std::vector<ExportRow>> Exports(int limit = 100);
  // The oldest queued export; nullopt when none.
  Result<std::optional<ExportRow>> NextQueued();
  // queued → running (started_at = now). Conflict when it is not queued.
  Status MarkRunning(int64_t id, int64_t now_ms);
  Status SetProgress(int64_t id, int64_t done, int64_t total);
  // running → done (manifest kept) or failed (error kept), finished_at = now.
  Status Finish(int64_t id, bool ok, const std::string& error, const std::string& manifest_json,
                int64_t now_ms);
  // At start-up: every export left running by a previous process is marked failed
  // ("interrupted by a restart"); returns how many.
  Result<int> FailInterrupted(int64_t now_ms);

 private:
  class Impl;
  explicit ResearchStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::storage
