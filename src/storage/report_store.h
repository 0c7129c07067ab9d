// ReportStore: reports, the radiologists' assessments of AI findings, the HL7 delivery
// outbox and the follow-up recommendations, in the index database (schema 007_reports.sql;
// docs/reports.md).
//
// Policy (what a draft is pre-filled with, what QA refuses, which recommendation a study
// satisfies) belongs to reporting::ReportService and the pure libraries it calls: this
// store keeps rows and makes each state change one transaction, so that a signature, its
// outbox messages and its follow-ups are on disk together or not at all.
//
// Two connections: reads never wait for a write. Every write is one BEGIN IMMEDIATE
// transaction with synchronous=FULL. Times are unix ms; dates YYYYMMDD. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

struct ReportRow {
  int64_t id = 0;
  std::string study_uid;  // '' for an external report of no known study
  std::string patient_id, issuer_of_patient_id, accession_number;
  int version = 1;
  std::string status = "draft";    // draft | preliminary | final
  bool superseded = false;         // a later version of the same report was signed
  std::string origin = "radflow";  // radflow | hl7 | rest
  std::string external_id;         // external reports: OBR-3 filler order number, else MSH-10
  std::string template_id;
  std::string content_json = "{}";  // the editor's document, verbatim
  std::string findings_text, impression_text, critical_communicated;
  std::string author, signed_by;
  int64_t signed_at = 0;
  int64_t revision = 0;  // autosave counter (optimistic concurrency)
  std::string sr_series_uid, sr_sop_uid;
  int64_t created_at = 0, updated_at = 0;
};

struct DecisionRow {
  int64_t id = 0;
  int64_t finding_id = 0;  // ai_findings.id (negative: a finding read from a TID 1500 SR)
  std::string study_uid, app_id, app_version;
  int64_t report_id = 0;   // the draft open when it was recorded (0: none)
  std::string decision;    // accepted | edited | rejected
  std::string reason;
  std::string values_json = "{}";
  std::string sentence, reader;
  int64_t at = 0;          // 0: now
};

struct DecisionFilter {
  std::string study_uid, app_id, reader;
  int64_t finding_id = 0;  // 0: any
  int64_t since = 0;       // at >= since (0: any)
  int limit = 100;         // newest first; <= 0: no limit
};

struct OutboxRow {
  int64_t id = 0;
  int64_t report_id = 0;
  std::string receiver;       // host:port as configured
  std::string control_id;     // MSH-10
  std::string result_status;  // OBR-25: P | F | C
  std::string message;        // the ORU^R01, segments separated by \r
  std::string state = "pending";  // pending | sent | failed
  int attempts = 0;
  int64_t next_attempt_at = 0;
  std::string last_error, ack;
  int64_t created_at = 0, sent_at = 0;
};

struct FollowupRow {
  int64_t id = 0;
  int64_t report_id = 0;
  std::string study_uid, patient_id, issuer_of_patient_id;
  std::string finding, modality, body_region;
  std::optional<int> interval_min_days, interval_max_days;
  bool conditional = false;
  std::string text;
  std::string base_date, due_date;  // YYYYMMDD
  std::string state = "pending";    // pending | satisfied | closed (overdue is computed)
  std::string satisfied_by, closed_reason, closed_by;
  int64_t created_at = 0, updated_at = 0;
};

struct FollowupFilter {
  // pending (due or not) | overdue (pending, due_date < today) | satisfied | closed | '' all
  std::string state;
  std::string today;  // YYYYMMDD, for overdue
  std::string patient_id, issuer_of_patient_id;
  int limit = 100;    // oldest due date first; <= 0: no limit
};

// A signature: the row leaves draft (or preliminary) for `status`, in one transaction with
// its outbox messages and follow-ups.
struct Signature {
  int64_t report_id = 0;
  std::string expected_status;   // the status the caller read (draft | preliminary)
  int64_t expected_revision = 0; // the revision QA ran on
  std::string status;            // preliminary | final
  std::string signed_by;
  int64_t signed_at = 0;
  std::string sr_series_uid, sr_sop_uid;
  std::vector<OutboxRow> outbox;        // report_id set by the store
  std::vector<FollowupRow> followups;   // report_id set by the store
};

class ReportStore {
 public:
  // Opens index.db (the Index must have applied the migrations first). NotFound when the
  // file is missing; DatabaseError when the schema lacks the tables (007_reports.sql).
  static Result<std::unique_ptr<ReportStore>> Open(const std::string& index_path);
  ~ReportStore();

  // --- reports
  struct Created {
    ReportRow report;
    bool created = false;
  };
  // Inserts `draft` (status draft, revision 0, version = the study's newest version + 1)
  // unless the study already has an open draft, which is returned instead (created false).
  // InvalidArgument without a study UID.
  Result<Created> CreateDraft(const ReportRow& draft);
  Result<std::optional<ReportRow>> Get(int64_t id);
  // The study's reports (radflow's and external ones), newest first.
  Result<std::vector<ReportRow>> StudyReports(const std::string& study_uid);
  // The patient's reports (PatientID equal; issuer equal when both have one), newest first.
  Result<std::vector<ReportRow>> PatientReports(const std::string& patient_id,
                                                const std::string& issuer);
  // Autosave: the content columns (and the template when `template_id` is not empty) with
  // revision + 1. NotFound; Conflict "revision N is stale (stored: M)" when
  // expected_revision differs from the stored one, Conflict when the row is not a draft.
  Result<ReportRow> SaveDraft(int64_t id, int64_t expected_revision, const ReportRow& content);
  // NotFound; Conflict when the row's status or revision is no longer the expected one (an
  // autosave or another signature came between). Earlier versions of the study's radflow
  // reports become superseded; pending follow-ups of this row are replaced, those of
  // earlier versions closed ("superseded by version N").
  Result<ReportRow> Sign(const Signature& signature);
  // A new draft version copying the signed row's content (the newest version of the
  // study's report). NotFound; Conflict when the row is a draft, is not the newest version,
  // or a draft version exists already.
  Result<ReportRow> CreateAddendum(int64_t id, const std::string& author, int64_t now_ms);
  // An external report (origin hl7 | rest, status preliminary | final) with its follow-ups.
  // With an external_id already stored (same origin): identical status and text → that row
  // (created false: a resent message); else a new version superseding it.
  Result<Created> InsertExternal(const ReportRow& report, const std::vector<FollowupRow>& followups);

  // --- decisions (the history is kept; the newest row of a finding is current)
  Result<DecisionRow> AddDecision(const DecisionRow& decision);
  // The current decision of each finding of the study; with as_of > 0 as of that time.
  Result<std::vector<DecisionRow>> CurrentDecisions(const std::string& study_uid, int64_t as_of = 0);
  Result<std::vector<DecisionRow>> Decisions(const DecisionFilter& filter);

  // The study of an AI finding (ai_findings.id, schema 003_ai.sql); nullopt when unknown.
  Result<std::optional<std::string>> StudyOfFinding(int64_t finding_id);

  // --- outbox
  Result<std::vector<OutboxRow>> Outbox(int64_t report_id);
  // Per receiver, its oldest pending message when due (next_attempt_at <= now): messages to
  // one receiver go in order (P before F before C).
  Result<std::vector<OutboxRow>> DueOutbox(int64_t now_ms);
  // The earliest next_attempt_at of a pending message; nullopt when none is pending.
  Result<std::optional<int64_t>> NextOutboxAttempt();
  Status OutboxSent(int64_t id, const std::string& ack, int64_t now_ms);
  // One failed attempt: pending again at next_attempt_at, or failed when give_up.
  Status OutboxFailed(int64_t id, const std::string& error, const std::string& ack,
                      int64_t next_attempt_at, bool give_up);

  // --- follow-ups
  Result<std::vector<FollowupRow>> Followups(const FollowupFilter& filter);
  Result<std::optional<FollowupRow>> Followup(int64_t id);
  // The patient's pending follow-ups (PatientID equal; issuer equal when both have one).
  Result<std::vector<FollowupRow>> PendingFollowups(const std::string& patient_id,
                                                    const std::string& issuer);
  // pending → satisfied by study_uid (ids no longer pending are left as they are);
  // returns the rows changed.
  Result<std::vector<FollowupRow>> SatisfyFollowups(const std::vector<int64_t>& ids,
                                                    const std::string& study_uid, int64_t now_ms);
  // pending → closed. NotFound; Conflict when it is not pending; InvalidArgument without a
  // reason.
  Result<FollowupRow> CloseFollowup(int64_t id, const std::string& reason, const std::string& by,
                                    int64_t now_ms);

 private:
  class Impl;
  explicit ReportStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace radflow::storage
