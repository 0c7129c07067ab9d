// AiAdminStore: the app library's administration and the AI engine's reads for people, in
// the index database — pinned versions and the audit of every change (007_reports.sql:
// ai_app_pins, ai_app_audit; the enabled flags of 003_ai.sql's ai_apps), per-app job
// timings, the AI performance aggregates over ai_jobs, ai_findings, finding_decisions and
// reports (docs/app-library.md), and the rows similar-case search indexes (the lesion
// findings with their patient, the feature cache of 008_similar.sql, the signed report of a
// study; docs/similar-cases.md).
//
// Two connections: reads never wait for a write. Every write is one BEGIN IMMEDIATE
// transaction with synchronous=FULL, and a state change is written in the same transaction
// as its audit row. Times are unix ms. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "storage/job_store.h"  // FindingRow

namespace radflow::storage {

// One change of the app library (ai_app_audit).
struct AppAuditRow {
  int64_t id = 0;
  std::string app_id;
  int64_t at = 0;
  std::string actor;   // the signed-in user of the request ('' unknown)
  std::string action;  // enabled | disabled | pinned | unpinned
  std::string version; // the version pinned / unpinned, the running one for enable/disable
  std::string note;
};

// An app's jobs for the app library page: counts by state, and timings over its newest
// succeeded jobs (at most 1000): app_ms = the app itself (results_json timings.app_ms),
// total_ms = finished_at − started_at (worker start, series load, app, results stored).
struct JobTimings {
  std::vector<std::pair<std::string, int64_t>> by_state;  // the five states, zeros included
  int64_t timed = 0;  // succeeded jobs the timings are over
  std::optional<double> median_app_ms, p95_app_ms, median_total_ms, p95_total_ms;
};

// ---- AI performance (docs/app-library.md, "AI performance") ----

// An ISO 8601 week (UTC): "2026-W49" and its Monday "2026-11-30".
struct IsoWeek {
  std::string week, start;
  int64_t start_ms = 0;  // Monday 00:00 UTC
};
IsoWeek IsoWeekOf(int64_t unix_ms);

// What the aggregation reads: one succeeded job (a result), or one finding of such a job
// with its radiologist's current decision and whether its study has a signed report.
struct PerformanceFact {
  bool is_finding = false;       // false: a result (succeeded job)
  std::string app_id, app_version;
  int64_t at = 0;                // the job's finished_at: the week it counts in
  std::string decision;          // findings: '' undecided | accepted | edited | rejected
  bool study_signed = false;     // findings: the study has a preliminary or final report
};

struct PerformanceCounts {
  int64_t results = 0, findings = 0, decided = 0, accepted = 0, edited = 0, rejected = 0;
  int64_t signed_decided = 0;  // decided findings of studies with a signed report
  int64_t signed_agreed = 0;   // ... of which accepted or edited
  // (accepted + edited) / decided over findings of studies whose report is signed;
  // nullopt when none such is decided.
  std::optional<double> Agreement() const;
};

struct PerformanceWeek {
  IsoWeek week;
  PerformanceCounts counts;
};

struct AppPerformance {
  std::string app_id, app_version;
  PerformanceCounts totals;            // over the weeks listed
  std::vector<PerformanceWeek> weeks;  // oldest first, every week of the window (zeros too)
  // accepted / decided etc.; nullopt when nothing is decided.
  std::optional<double> AcceptedRate() const;
  std::optional<double> EditedRate() const;
  std::optional<double> RejectedRate() const;
};

// Pure: the facts in the `weeks` ISO weeks ending with the week of `now_ms` (weeks >= 1),
// per (app_id, app_version) sorted by app id then version; apps without a fact in the
// window are not listed.
std::vector<AppPerformance> AggregatePerformance(const std::vector<PerformanceFact>& facts,
                                                 int weeks, int64_t now_ms);

// ---- Similar cases ----

// A finding with what similar-case search needs beside it.
struct LesionFinding {
  FindingRow finding;
  std::string app_version;             // the job's
  std::string patient_id, study_date;  // from the index (study_date YYYYMMDD)
};

// A feature vector cached for one finding (008_similar.sql similar_features).
struct FeatureRow {
  int64_t finding_id = 0;
  std::string feature_set;  // the names' version (similar/features.h kFeatureSet)
  std::string source;       // ibsi | measurements
  std::vector<double> values;
  std::string error;        // why the IBSI features could not be computed ('' none)
  int64_t computed_at = 0;
};

// The signed report of a study a similar case shows.
struct SignedReportRow {
  int64_t id = 0;
  std::string status;  // preliminary | final
  std::string impression_text, findings_text;
  int64_t signed_at = 0;
};

class AiAdminStore {
 public:
  // Opens index.db (the Index must have applied the migrations first). NotFound when the
  // file is missing; DatabaseError when the schema lacks the tables.
  static Result<std::unique_ptr<AiAdminStore>> Open(const std::string& index_path);
  ~AiAdminStore();

  // ---- app library ----
  // app id → pinned version.
  Result<std::map<std::string, std::string>> Pins();
  // ai_apps.enabled and an audit row ("enabled" | "disabled"), one transaction.
  Status SetEnabled(const std::string& app_id, bool enabled, const std::string& actor,
                    const std::string& version, const std::string& note);
  // ai_app_pins and an audit row ("pinned"), one transaction.
  Status SetPin(const std::string& app_id, const std::string& version, const std::string& actor,
                const std::string& note);
  // Removes the pin (if any) and writes an audit row ("unpinned" with the version that was
  // pinned, '' when none was), one transaction.
  Status ClearPin(const std::string& app_id, const std::string& actor, const std::string& note);
  // Newest first; app_id '' = every app; limit <= 0: no limit.
  Result<std::vector<AppAuditRow>> Audit(const std::string& app_id, int limit = 100);

  Result<JobTimings> Timings(const std::string& app_id);

  // ---- AI performance ----
  // The facts since `since_ms` (job finished_at), of one app ('' = all).
  Result<std::vector<PerformanceFact>> PerformanceFacts(const std::string& app_id, int64_t since_ms);
  // PerformanceFacts + AggregatePerformance over the `weeks` weeks ending now (1..520).
  Result<std::vector<AppPerformance>> Performance(const std::string& app_id, int weeks,
                                                  int64_t now_ms);

  // ---- similar cases ----
  // Findings with id > after_id in id order, at most `limit`, with their job's version
  // and their study's patient and date.
  Result<std::vector<LesionFinding>> FindingsAfter(int64_t after_id, int limit);
  Result<std::optional<LesionFinding>> Finding(int64_t id);
  // Findings with id <= max_id (the index detects deleted ones by this count).
  Result<int64_t> CountFindingsUpTo(int64_t max_id);
  Status SaveFeatures(const FeatureRow& row);
  // Cached vectors of `feature_set` for these findings (absent ones are not returned).
  Result<std::vector<FeatureRow>> Features(const std::vector<int64_t>& finding_ids,
                                           const std::string& feature_set);
  // Every cached vector of `feature_set`, by finding id.
  Result<std::vector<FeatureRow>> AllFeatures(const std::string& feature_set);
  // The newest signed (preliminary or final, not superseded) report of the study.
  Result<std::optional<SignedReportRow>> SignedReport(const std::string& study_uid);

 private:
  class Impl;
  explicit AiAdminStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::storage
