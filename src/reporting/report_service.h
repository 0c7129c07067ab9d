// ReportService: reporting in the running server (docs/reports.md) — the composition of the
// pure reporting libraries (report/: templates, pre-fill, QA; delivery/: SR, FHIR, ORU;
// followups/: recommendations; hl7/: messages, MLLP) over the stores.
//
//   draft      POST /studies/{uid}/reports → the study's template (report::SelectTemplate),
//              its AI findings (ai_findings rows of the newest job per app and series, with
//              the lesion tracks of issue 12, plus TID 1500 SRs of the study that no job
//              wrote) → report::ProposeFindings → fields pre-filled
//   autosave   PUT with the revision read: stale → Conflict (storage::ReportStore)
//   decisions  per finding, history kept (finding_decisions)
//   QA         report::CheckReport on the stored draft; signing refuses an unacknowledged error
//   sign       SR (delivery::WriteReportSr) stored through IngestService::Store, then one
//              transaction: the signature, an ORU^R01 per --hl7-receiver in the outbox, the
//              follow-ups extracted from the text (followups::ExtractRecommendations)
//   outbox     a sender thread: per receiver in order, MLLP, retry with backoff until AA/CA
//              (AR/CR: failed, not retried); at-least-once
//   inbound    MLLP listener (--hl7-port) and REST: ORU^R01 → an external report of the
//              patient (and of the study whose accession matches), its follow-ups
//   tracking   a stable series of a later study of the patient that matches a pending
//              recommendation (followups::SatisfiesRecommendation) satisfies it
// Thread-safe.
#pragma once

#include <functional>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <deque>
#include <utility>
#include <vector>

#include "base/status.h"
#include "ingest/ingest_service.h"
#include "report/model.h"
#include "report/templates.h"
#include "storage/blob_store.h"
#include "storage/index.h"
#include "storage/job_store.h"
#include "storage/lesion_store.h"
#include "storage/report_store.h"

namespace radflow::hl7 {
class MllpListener;
}

namespace radflow::reporting {

struct ReportingOptions {
  std::vector<std::string> template_folders;  // later folders override earlier ones by id
  std::vector<std::string> hl7_receivers;     // "host:port" (ParseReceiver)
  std::string hl7_address = "0.0.0.0";
  int hl7_port = 0;                           // the MLLP listener; 0: off
  // Messages of other types on the same listener (ADT, ORM, OMI: orders::OrderService);
  // returns the acknowledgment. Null: they are refused with AR (MSH-9).
  std::function<std::string(const std::string& message)> other_hl7;
  // MSH-3/4 of the messages sent, MSH-5/6 (may be empty).
  std::string sending_application = "RADFLOW", sending_facility = "RADFLOW";
  std::string receiving_application, receiving_facility;
  // Retries: RetryDelayMs(n, initial, max) after the n-th failed attempt.
  int64_t retry_initial_ms = 1000;
  int64_t retry_max_ms = 60000;
  int send_timeout_ms = 10000;       // one MLLP exchange (connect, send, ACK)
  std::string organization = "radflow";  // the signer's organization (SR VerifyingOrganization)
};

// "host:port" → (host, port); kInvalidArgument naming the value.
Result<std::pair<std::string, int>> ParseReceiver(const std::string& spec);
// The wait before the next attempt after `failed_attempts` (>= 1) failures:
// initial · 2^(failed_attempts-1), at most max_ms.
int64_t RetryDelayMs(int failed_attempts, int64_t initial_ms, int64_t max_ms);
// The id of a finding read from a TID 1500 SR (no ai_findings row): negative, stable,
// -(1 + FNV-1a-64("<sop uid>#<group index>") mod 2^52) — a JSON-safe integer.
int64_t SrFindingId(const std::string& sr_sop_uid, int group_index);
// The editor's document → the draft QA and signing read: content {"fields": {id: value},
// "sections": {id: text}}; values as strings (numbers as written, booleans "true"/"false",
// arrays joined with ", ").
report::Draft DraftOf(const storage::ReportRow& row);
// {id: value} from content_json's "fields" (as DraftOf) and its "sections" texts.
std::map<std::string, std::string> ContentFields(const std::string& content_json);
std::map<std::string, std::string> ContentSections(const std::string& content_json);

// What the index and the study's first instances say of a study.
struct StudyInfo {
  std::string study_uid, patient_id, issuer_of_patient_id, patient_name, birth_date, sex;
  std::string accession_number, study_date, study_time, study_description, referring_physician;
  std::vector<std::string> modalities;  // of its series, in the order stored, each once
  std::string body_part;                // BodyPartExamined of the first image series that has one
  std::string source_file;              // an image instance (absolute path)
  struct Instance {
    std::string series_uid, sop_class_uid, sop_uid, path;
  };
  std::vector<Instance> instances;
};

// A study's AI findings as proposals, with the current decision of each.
struct StudyProposals {
  const report::Template* tmpl = nullptr;  // null: no template fits (empty library)
  std::string rule;
  std::vector<report::Proposal> proposals;
  std::map<int64_t, storage::DecisionRow> decisions;  // by finding id
};

struct ReportView {
  storage::ReportRow row;
  StudyProposals proposals;       // empty for external reports
  std::vector<report::QaIssue> qa;
};

struct SignOutcome {
  storage::ReportRow row;               // signed (unless blocking is not empty)
  std::vector<report::QaIssue> blocking;  // error-level issues not acknowledged: not signed
  std::vector<storage::OutboxRow> delivery;
};

struct DecisionInput {
  std::string decision, reason, sentence;
  std::map<std::string, std::string> values;
  std::string study_uid;  // optional; needed for an SR finding unknown since the last restart
};

// An external report (HL7 ORU^R01 or REST).
struct ExternalInput {
  std::string patient_id, issuer_of_patient_id, patient_name, accession_number, study_uid;
  std::string status;  // final | preliminary | corrected
  std::string text, author;
  std::string observed_at;  // YYYYMMDD[HHMM[SS]]
  std::string external_id;  // filler order number, else the message control id
};

struct FollowupView {
  storage::FollowupRow row;
  std::string state;         // pending | overdue | satisfied | closed
  std::string patient_name;  // from the study or the patient's other studies ('' unknown)
};

class ReportService {
 public:
  struct Deps {
    storage::Index& index;
    storage::BlobStore& blobs;
    ingest::IngestService& ingest;
    storage::JobStore& jobs;
    storage::LesionStore& lesions;
    storage::ReportStore& store;
  };
  ReportService(Deps deps, ReportingOptions options);
  ~ReportService();  // Stop()

  // Starts the outbox sender and the follow-up tracker (which first checks the pending
  // follow-ups against studies stored while no server ran) and, with hl7_port > 0, the
  // MLLP listener (kUnavailable when its port cannot be bound).
  Status Start();
  void Stop();
  int hl7_port() const;  // the listener's port, 0 when off

  // --- templates and study data
  const report::TemplateLibrary& templates() const { return templates_; }
  // NotFound for a study the index does not hold; InvalidArgument for a malformed UID.
  Result<StudyInfo> Study(const std::string& study_uid);
  Result<report::TemplateChoice> TemplateFor(const std::string& study_uid);
  Result<std::vector<report::AiFinding>> Findings(const std::string& study_uid);
  // With the template named (or, '' , the study's chosen one). InvalidArgument for an
  // unknown template id.
  Result<StudyProposals> Proposals(const std::string& study_uid, const std::string& template_id = "");

  // --- reports
  Result<storage::ReportStore::Created> CreateDraft(const std::string& study_uid,
                                                    const std::string& template_id,
                                                    const std::string& author);
  Result<ReportView> View(int64_t report_id);
  Result<std::vector<storage::ReportRow>> StudyReports(const std::string& study_uid);
  Result<std::vector<storage::ReportRow>> PatientReports(const std::string& patient_id,
                                                         const std::string& issuer);
  // Autosave (storage::ReportStore::SaveDraft); InvalidArgument for an unknown template.
  Result<storage::ReportRow> Save(int64_t report_id, int64_t revision, const storage::ReportRow& content);
  Result<std::vector<report::QaIssue>> Qa(int64_t report_id);
  // draft → preliminary | final, preliminary → final. InvalidArgument without a reader or
  // with another status; NotFound; Conflict for a final or external report.
  Result<SignOutcome> Sign(int64_t report_id, const std::string& status, const std::string& reader,
                           const std::set<std::string>& acknowledged);
  // Called after each signature (the worklist follows the report: server.cpp). Set before
  // serving requests.
  void SetSignedListener(std::function<void(const storage::ReportRow& signed_row, const std::string& reader)> f) {
    signed_listener_ = std::move(f);
  }
  Result<storage::ReportRow> Addendum(int64_t report_id, const std::string& reader);
  Result<std::vector<storage::OutboxRow>> Delivery(int64_t report_id);
  // origin "rest" | "hl7". InvalidArgument naming the field.
  Result<storage::ReportStore::Created> ReceiveExternal(const ExternalInput& input, const std::string& origin);
  // The MLLP listener's handler: an ORU^R01 → stored, ACK AA; else AE/AR naming the segment.
  std::string HandleHl7(const std::string& message);

  // --- AI result assessment
  Result<storage::DecisionRow> Decide(int64_t finding_id, const DecisionInput& input, const std::string& reader);
  Result<std::vector<storage::DecisionRow>> ListDecisions(const storage::DecisionFilter& filter) {
    return d_.store.Decisions(filter);
  }

  // --- FHIR R4 (JSON text); base_url e.g. "http://host:8080/api/v1/fhir". NotFound for an
  // unknown or unsigned report.
  Result<std::string> FhirDiagnosticReport(int64_t report_id, const std::string& base_url);
  Result<std::string> FhirObservation(const std::string& id, const std::string& base_url);
  Result<std::string> FhirImagingStudy(const std::string& id, const std::string& base_url);
  // The signed, current (not superseded) reports of a study or a patient as a searchset.
  Result<std::string> FhirSearch(const std::string& study_uid, const std::string& patient_id,
                                 const std::string& base_url, const std::string& self_url);

  // --- follow-ups
  Result<std::vector<FollowupView>> Followups(const storage::FollowupFilter& filter);
  Result<FollowupView> Followup(int64_t id);
  Result<FollowupView> CloseFollowup(int64_t id, const std::string& reason, const std::string& by);
  // Ingest's SeriesStable (quick: queued for the tracker thread).
  void OnSeriesStable(const std::string& study_uid, const std::string& series_uid);
  // Waits until the tracker has handled every queued study and the sender has tried every
  // due message once (tests).
  void Flush();

 private:
  struct SignedParts;
  Result<std::vector<report::AiFinding>> SrFindings(const StudyInfo& study,
                                                    const std::set<std::string>& job_srs,
                                                    const std::string& skip_sop);
  report::TemplateChoice ChooseTemplate(const StudyInfo& info) const;
  Result<std::vector<report::AiFinding>> FindingsOf(const StudyInfo& info);
  Result<StudyProposals> ProposalsFor(const StudyInfo& info, const std::string& template_id,
                                      int64_t decisions_as_of);
  Result<SignedParts> Assemble(const storage::ReportRow& row, int64_t decisions_as_of);
  std::vector<storage::FollowupRow> FollowupsOf(const std::string& text, const storage::ReportRow& row,
                                                const std::string& base_date);
  Result<FollowupView> ViewOf(const storage::FollowupRow& row);
  void SatisfyWith(const StudyInfo& study);
  void CatchUp();
  void Track();
  void Send();
  void SendOne(const storage::OutboxRow& row);

  Deps d_;
  std::function<void(const storage::ReportRow&, const std::string&)> signed_listener_;
  ReportingOptions options_;
  report::TemplateLibrary templates_;

  std::mutex cache_mu_;
  std::map<std::string, std::vector<report::AiFinding>> sr_cache_;  // by SR SOP UID
  std::map<int64_t, std::string> sr_finding_study_;                  // SR finding id → study

  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::string> studies_;  // stable series' studies to check against follow-ups
  std::deque<std::pair<std::string, std::string>> patients_;  // (id, issuer): all their studies
  uint64_t send_requested_ = 0, send_done_ = 0;  // sender passes asked for / completed
  bool tracking_ = false, sending_ = false, catch_up_ = false;
  bool stopping_ = false, started_ = false;
  std::thread tracker_, sender_;
  std::unique_ptr<hl7::MllpListener> listener_;
};

}  // namespace radflow::reporting
