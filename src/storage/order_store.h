// OrderStore: the scheduling side of the workflow in the index database (schema
// 012_orders.sql; docs/orders.md) — patients registered by ADT, imaging orders (one row per
// requested procedure, which is also its Modality Worklist item and its appointment), the
// Modality Performed Procedure Steps reported by the modalities, the studies that arrived
// without an order (reconciliation), and an audit row per change.
//
// What a message means (HL7 ADT/ORM/OMI, FHIR ServiceRequest, MPPS) belongs to
// orders::OrderService: this store keeps rows and makes each change one transaction.
// Uniqueness is enforced by the database (UNIQUE constraints), not by check-then-insert.
// Two connections: reads never wait for a write. Every write is one BEGIN IMMEDIATE
// transaction with synchronous=FULL, so that a caller acknowledging after a write
// returns acknowledges durable data. Times are unix ms. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::storage {

// A patient as the hospital's ADT system registered it (PID segment).
struct PatientRow {
  std::string patient_id, issuer_of_patient_id;  // PID-3.1, PID-3.4.1
  std::string patient_name;                      // DICOM PN form: Family^Given^Middle^Prefix^Suffix
  std::string birth_date;                        // YYYYMMDD
  std::string sex;                               // M | F | O | ''
  std::string address, phone;
  std::string merged_into;                       // PatientID this one was merged into ('' live)
  int64_t created_at = 0, updated_at = 0;
};

// One requested procedure: the order, its Modality Worklist item (one Scheduled Procedure
// Step) and its appointment.
struct OrderRow {
  int64_t id = 0;
  std::string placer_order_number;   // ORC-2 / OBR-2 (unique per placer)
  std::string filler_order_number;   // ORC-3 / OBR-3
  std::string accession_number;      // OBR-18 / IPC-1 (unique when not '')
  std::string patient_id, issuer_of_patient_id, patient_name, birth_date, sex;
  std::string requested_procedure_id;              // (0040,1001); default: the accession
  std::string procedure_code, procedure_scheme, procedure_text;  // OBR-4 (CE/CWE)
  std::string modality;              // (0008,0060) of the scheduled step, e.g. CT
  std::string body_part;             // from the protocol or procedure, '' unknown
  std::string priority = "ROUTINE";  // STAT | HIGH | ROUTINE | MEDIUM | LOW
  std::string reason;                // reason for exam (OBR-31 / ORC-16 text)
  std::string referring_physician;   // PN form
  std::string station_ae, station_name;  // ScheduledStationAETitle / Name (OBR-19.. / IPC-9)
  std::string procedure_step_id;     // ScheduledProcedureStepID (0040,0009)
  std::string study_uid;             // StudyInstanceUID the modality is to use
  int64_t scheduled_at = 0;          // start of the appointment (unix ms, UTC)
  int duration_minutes = 0;          // 0: unknown
  int64_t booked_at = 0;             // when the appointment was made (features: lead time)
  // scheduled | arrived | in_progress | completed | discontinued | cancelled | no_show
  std::string status = "scheduled";
  // Protocol selection (orders/protocol.h): proposed by the rules, then accepted or changed
  // by a technologist.
  std::string protocol_code, protocol_name, protocol_reason, protocol_rule;
  std::string protocol_state;        // '' none | proposed | accepted | changed
  std::string protocol_by;           // the user who accepted or changed it
  bool reminder_sent = false;        // a reminder (call, SMS) reached the patient
  double noshow_risk = -1;           // 0..1 from the no-show model; -1 not scored
  std::string mpps_uid;              // the MPPS instance that performs it
  int64_t performed_start = 0, performed_end = 0;
  std::string linked_study_uid;      // the study that arrived for it ('' none yet)
  std::string source;                // hl7 | fhir | rest | dicom
  // Extra Modality Worklist attributes radflow does not model (MedicalAlerts,
  // ContrastAllergies, SPS Description, ...), DICOM JSON (PS3.18 F.2); '' none.
  std::string worklist_json;
  int64_t created_at = 0, updated_at = 0;

  bool operator==(const OrderRow&) const = default;
};

// The order's text fields that messages and requests set, by column name (which is also the
// REST member and the name in audit notes): one list for the store's columns, OrderService's
// updates and the REST bodies. The store keeps its own columns (status, protocol, links) after these.
struct OrderTextField {
  const char* name;
  std::string OrderRow::*member;
};
inline constexpr OrderTextField kOrderTextFields[] = {
    {"placer_order_number", &OrderRow::placer_order_number},
    {"filler_order_number", &OrderRow::filler_order_number},
    {"accession_number", &OrderRow::accession_number},
    {"patient_id", &OrderRow::patient_id},
    {"issuer_of_patient_id", &OrderRow::issuer_of_patient_id},
    {"patient_name", &OrderRow::patient_name},
    {"birth_date", &OrderRow::birth_date},
    {"sex", &OrderRow::sex},
    {"requested_procedure_id", &OrderRow::requested_procedure_id},
    {"procedure_code", &OrderRow::procedure_code},
    {"procedure_scheme", &OrderRow::procedure_scheme},
    {"procedure_text", &OrderRow::procedure_text},
    {"modality", &OrderRow::modality},
    {"body_part", &OrderRow::body_part},
    {"priority", &OrderRow::priority},
    {"reason", &OrderRow::reason},
    {"referring_physician", &OrderRow::referring_physician},
    {"station_ae", &OrderRow::station_ae},
    {"station_name", &OrderRow::station_name},
    {"procedure_step_id", &OrderRow::procedure_step_id},
};

// A Modality Performed Procedure Step (PS3.3 B.17, PS3.4 F.7).
struct MppsRow {
  std::string sop_instance_uid;
  std::string status;                // IN PROGRESS | COMPLETED | DISCONTINUED
  std::string calling_ae, station_ae, modality;
  std::string study_uid, accession_number, patient_id;
  int64_t order_id = 0;              // 0: no order matched
  int64_t started_at = 0, ended_at = 0;
  std::string dataset_json;          // the attributes as last set, DICOM JSON (PS3.18 F.2)
  int64_t created_at = 0, updated_at = 0;
};

// A study that arrived with no order for its accession, listed for reconciliation.
struct UnmatchedStudyRow {
  std::string study_uid, accession_number, patient_id, patient_name, modalities, study_date;
  int64_t arrived_at = 0;
  std::string resolved_by;           // '' open; the user who linked or dismissed it
  int64_t resolved_order_id = 0;
};

struct OrderAuditRow {
  int64_t id = 0;
  int64_t order_id = 0;
  int64_t at = 0;
  std::string user;                  // user name, "hl7:<sending app>", "mpps:<AE>", ...
  std::string action;                // created | updated | cancelled | status | protocol | merged | linked | risk
  std::string note;
};

struct OrderFilter {
  std::vector<std::string> statuses;  // empty: every status
  std::string station_ae;             // exact
  std::string modality;               // exact
  int64_t from_ms = 0, to_ms = 0;     // scheduled_at in [from, to); 0: open
  std::string patient_id;             // exact
  std::string patient_name_prefix;    // case-insensitive prefix of patient_name
  std::string accession_number;       // exact
  int limit = 500, offset = 0;        // ordered by scheduled_at, id; limit <= 0: all
};

// A patient's earlier appointments as the no-show model counts them.
struct AttendanceHistory {
  int attended = 0;     // completed (or performed) before the cut
  int no_shows = 0;     // no_show before the cut
  int64_t last_at = 0;  // scheduled_at of the latest of those, 0 none
};

class OrderStore {
 public:
  // Opens index.db (the Index must have applied the migrations first).
  static Result<std::unique_ptr<OrderStore>> Open(const std::string& index_path);
  ~OrderStore();
  // The UID root of the StudyInstanceUIDs InsertOrder makes: <root>.<order id>.<ms time>.
  void SetStudyUidRoot(const std::string& root);

  // Patients (ADT). Upsert by (patient_id, issuer): fields given non-empty replace.
  Result<PatientRow> UpsertPatient(const PatientRow& patient, int64_t now_ms);
  Result<std::optional<PatientRow>> GetPatient(const std::string& patient_id, const std::string& issuer);
  // ADT^A40: in one transaction, every order, MPPS, unmatched study, reading-worklist item
  // and index study of `from` moves to `to` (created from `from`'s demographics when
  // missing), `from` is marked merged_into; one audit row per moved order. Returns the
  // number of orders moved and of studies moved.
  struct MergeResult {
    int orders = 0, studies = 0;
  };
  Result<MergeResult> MergePatient(const std::string& from_id, const std::string& from_issuer,
                                   const std::string& to_id, const std::string& to_issuer,
                                   const std::string& user, int64_t now_ms);

  // Orders. Insert fails with kConflict naming the constraint (placer order number or
  // accession) when taken. Returns the row with id and study_uid set (made when empty), and
  // requested_procedure_id (the accession, else the id) and procedure_step_id ("SPS<id>")
  // defaulted when empty; one "created" audit row.
  Result<OrderRow> InsertOrder(const OrderRow& order, const std::string& user, int64_t now_ms);
  Result<std::optional<OrderRow>> GetOrder(int64_t id);
  Result<std::optional<OrderRow>> FindByPlacer(const std::string& placer_order_number);
  Result<std::optional<OrderRow>> FindByAccession(const std::string& accession_number);
  Result<std::optional<OrderRow>> FindByFiller(const std::string& filler_order_number);  // the oldest
  Result<std::optional<OrderRow>> FindByStudyUid(const std::string& study_uid);  // study_uid or linked_study_uid
  Result<std::vector<OrderRow>> ListOrders(const OrderFilter& filter);
  Result<int64_t> CountOrders(const OrderFilter& filter);
  // One transaction: reads the order, lets `change` edit it (returning the audit row to
  // write, or nullopt for none, or an error that aborts), writes every column back (nothing when the row is unchanged and there is no audit row).
  // NotFound for an unknown id.
  using OrderChange = std::function<Result<std::optional<OrderAuditRow>>(OrderRow&)>;
  Result<OrderRow> MutateOrder(int64_t id, const OrderChange& change);
  Result<std::vector<OrderAuditRow>> OrderAudit(int64_t order_id);
  // Appointments of a patient scheduled before `before_ms` (no-show features).
  Result<AttendanceHistory> History(const std::string& patient_id, int64_t before_ms);

  // MPPS. Insert: kConflict when the SOP Instance UID is taken (PS3.4 F.7.2.1.1: 0x0111).
  Status InsertMpps(const MppsRow& mpps);
  Result<std::optional<MppsRow>> GetMpps(const std::string& sop_instance_uid);
  Status UpdateMpps(const MppsRow& mpps);

  // Reconciliation: a study that arrived without an order (idempotent per study).
  Status AddUnmatched(const UnmatchedStudyRow& row);
  Result<std::vector<UnmatchedStudyRow>> ListUnmatched(bool include_resolved);
  // The open unmatched studies with this accession (an order created after its study).
  Result<std::vector<UnmatchedStudyRow>> OpenUnmatchedByAccession(const std::string& accession_number);
  Status ResolveUnmatched(const std::string& study_uid, int64_t order_id, const std::string& user, int64_t now_ms);

 private:
  class Impl;
  explicit OrderStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string uid_root_ = "1.2.826.0.1.3680043.10.1170";
};

}  // namespace radflow::storage
