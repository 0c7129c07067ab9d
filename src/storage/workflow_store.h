// WorkflowStore: the reading worklist in the index database (schema 005_worklist.sql) —
// one item per study with its reading state, claim, timestamps and priority, and an audit
// row per change (docs/worklist.md).
//
// Policy (which state change is legal, how the priority is scored) belongs to the workflow
// module: this store keeps rows and runs a caller's change inside one transaction
// (Mutate), so that a check and its write cannot interleave with another reader's.
//
// Two connections: reads (the list, an item, the audit) never wait for a write. Every
// write is one BEGIN IMMEDIATE transaction with synchronous=FULL. Times are unix ms.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

struct WorklistItem {
  std::string study_uid;
  std::string patient_id, issuer_of_patient_id, patient_name, birth_date, sex;
  std::string accession_number, study_date, study_time, study_description;
  std::string modalities, body_part, site, referring_physician;
  std::string order_priority;  // STAT | HIGH | ROUTINE | MEDIUM | LOW | ""
  std::string state = "unread";
  std::string reopened_from;  // "preliminary" while a claim reopened a preliminary item
  std::string reader;
  int64_t claimed_at = 0, claim_expires_at = 0;
  int64_t arrived_at = 0, completed_at = 0, read_started_at = 0, reported_at = 0;
  std::string ai_flag = "none";
  int ai_rank = 0;  // 0 none, 1 info, 2 low, 3 moderate, 4 high, 5 critical
  std::string ai_reason;
  int ai_pending = 0;
  int64_t priority_score = 0;
  std::vector<std::string> priority_reasons;
  int64_t num_series = 0, num_instances = 0;
  // The order's reason for exam (012_orders.sql; docs/orders.md), '' without an order.
  std::string reason_for_exam;

  bool operator==(const WorklistItem&) const = default;
};

struct AuditEntry {
  int64_t id = 0;
  std::string study_uid;
  int64_t at = 0;
  std::string reader, action, from_state, to_state, note;
};

// What the index does not hold, read from the study's images by the caller.
struct StudyExtras {
  std::string issuer_of_patient_id, body_part, site, order_priority;
  bool complete = false;  // the study's series are stable: completed_at = now
};

struct WorklistFilter {
  std::vector<std::string> states;  // empty: every state
  std::string modality;             // one value of ModalitiesInStudy
  std::string body_part;            // exact, case-insensitive
  std::vector<std::string> priorities;
  int min_ai_rank = 0;              // > 0: at least that severe
  bool ai_none = false;             // only items without findings
  std::string date_from, date_to;   // StudyDate, inclusive
  std::string patient;              // PatientID exact or PatientName prefix (any case)
  std::string site;                 // InstitutionName prefix (any case)
  std::string reader;
  enum class Sort { kPriority, kWaiting, kArrived, kStudyDate } sort = Sort::kPriority;
  int limit = 100, offset = 0;
};

struct WorklistPage {
  int64_t total = 0;
  std::vector<WorklistItem> items;
};

// The AI state of a study, from the job tables.
struct StudyAi {
  int pending = 0;      // jobs queued or running
  int rank = 0;         // most severe finding (0: none)
  std::string flag = "none";
  std::string label;    // that finding's label (or type meaning)
  double volume_ml = 0;
  std::string app_id, app_version;
};

// A series of a study, for the study page.
struct StudySeries {
  std::string series_uid, modality, series_number, series_description, body_part;
  int64_t num_instances = 0;
  std::string first_sop_uid;  // lowest InstanceNumber (thumbnail)
};

class WorkflowStore {
 public:
  // Opens index.db (the Index must have applied the migrations first).
  static Result<std::unique_ptr<WorkflowStore>> Open(const std::string& index_path);
  ~WorkflowStore();

  // Creates the study's item when missing (unread, arrived_at = now_ms, audited as
  // "arrived") and refreshes its index-derived columns (patient, study, counts,
  // modalities) and the non-empty extras. `score` computes the priority of the result.
  // Returns the item and whether it was created. NotFound when the index lacks the study.
  struct Synced {
    WorklistItem item;
    bool created = false;
  };
  Result<Synced> SyncStudy(const std::string& study_uid, const StudyExtras& extras, int64_t now_ms,
                           const std::function<void(WorklistItem&)>& score);
  // SyncStudy (no extras) of several studies in one transaction (the start-up catch-up);
  // a study the index no longer has is skipped. `score` sees each item before its write.
  Result<std::vector<Synced>> SyncStudies(const std::vector<std::string>& study_uids, int64_t now_ms,
                                          const std::function<void(WorklistItem&)>& score);

  Result<std::optional<WorklistItem>> Get(const std::string& study_uid);
  Result<WorklistPage> List(const WorklistFilter& filter);
  Result<std::vector<AuditEntry>> Audit(const std::string& study_uid);
  // The same patient's items (PatientID equal; issuer equal when both have one).
  Result<std::vector<WorklistItem>> SamePatient(const std::string& patient_id,
                                                const std::string& issuer);
  // Studies whose claims expired before now_ms.
  Result<std::vector<std::string>> ExpiredClaims(int64_t now_ms);
  // Studies of the index that need a sync, oldest first, in one query: those without an
  // item, and those whose item's counts or modalities differ from the study row's (stored
  // to while no server ran; a sync copies them, so a synced study matches).
  Result<std::vector<std::string>> StudiesToSync();
  Result<StudyAi> ReadStudyAi(const std::string& study_uid);
  // The study of an AI job ("" for an unknown job).
  Result<std::string> StudyOfJob(int64_t job_id);
  // The study's series by SeriesNumber (from the index).
  Result<std::vector<StudySeries>> SeriesOf(const std::string& study_uid);

  // One transaction: reads the item, lets `change` edit it (returning the audit entry to
  // write, or nullopt for none, or an error that aborts), writes every column back.
  // NotFound for an unknown study.
  using Change = std::function<Result<std::optional<AuditEntry>>(WorklistItem&)>;
  Result<WorklistItem> Mutate(const std::string& study_uid, const Change& change);
  // Applies `rescore` to every item (a changed rule at start-up) in one transaction.
  Status RescoreAll(const std::function<void(WorklistItem&)>& rescore);

 private:
  class Impl;
  explicit WorkflowStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::storage
