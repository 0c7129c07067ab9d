// OrderService (docs/orders.md): orders in (HL7 v2 ADT/ORM/OMI over MLLP, FHIR
// ServiceRequest, REST), the Modality Worklist out, the exam tracked by MPPS and by the
// study that arrives for it, a protocol proposed for each order, and a no-show risk for each
// appointment. The policy lives here; storage::OrderStore keeps the rows. Thread-safe.
//
// Every change is written (one transaction, synchronous=FULL) before the caller is answered:
// an HL7 AA, a 201 or a DIMSE success always means durable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "orders/mwl_match.h"
#include "orders/protocol.h"
#include "orders/scheduling.h"
#include "storage/order_store.h"

namespace radflow::noshow {
class Model;
}
namespace radflow::hl7 {
class Message;
}

namespace radflow::orders {

struct OrderServiceOptions {
  ProtocolRules protocol_rules = DefaultProtocolRules();
  std::shared_ptr<const noshow::Model> noshow_model;  // null: appointments are not scored
  std::vector<StationHours> station_hours;            // empty: 08:00-18:00 for every station
  // A scheduled appointment with no MPPS and no study this long after its slot ended is a no-show.
  int no_show_grace_minutes = 120;
  std::string uid_root = "1.2.826.0.1.3680043.10.1170";  // StudyInstanceUIDs made for orders
  // Called after every committed change of an order (the reading worklist re-reads its
  // priority and reason; the web application's lists refresh).
  std::function<void(const storage::OrderRow&)> on_change;
};

// What the reading worklist takes from a study's order (docs/worklist.md).
struct OrderFacts {
  int64_t order_id = 0;
  std::string priority;  // STAT | HIGH | ROUTINE | MEDIUM | LOW
  std::string reason;    // reason for exam
  std::string procedure_text, referring_physician;
};

// An MPPS N-CREATE or N-SET as the DIMSE adapter decoded it (PS3.3 C.4.13-C.4.15).
struct MppsInput {
  std::string sop_instance_uid;
  std::string calling_ae;
  std::string status;             // (0040,0252) IN PROGRESS | COMPLETED | DISCONTINUED; '' not sent
  std::string station_ae, modality;
  std::string start_date, start_time, end_date, end_time;  // DA / TM as sent
  std::string patient_id, patient_name;
  // Scheduled Step Attributes Sequence (0040,0270), first item.
  std::string accession_number, study_uid, requested_procedure_id;
  std::string dataset_json;       // the attributes sent, DICOM JSON
};

// The DIMSE outcome of an MPPS request: a PS3.4 status and its comment.
struct MppsOutcome {
  uint16_t status = 0;            // 0x0000 success; 0x0111 duplicate instance; 0x0112 no such
                                  // instance; 0x0110 processing failure (e.g. not IN PROGRESS)
  std::string comment;
};

class OrderService {
 public:
  OrderService(storage::OrderStore& store, OrderServiceOptions options);
  ~OrderService();
  OrderService(const OrderService&) = delete;
  OrderService& operator=(const OrderService&) = delete;

  // ---- HL7 v2.5.1 (order_service.cpp): ADT^A04/A08/A40, ORM^O01, OMI^O23. Returns the framed
  // message's acknowledgment: AA after the write, AE for a message that is well formed but
  // cannot be applied (unknown order to change), AR naming segment and field for a malformed
  // or unsupported one. Never throws.
  std::string HandleHl7(const std::string& message);
  // Whether HandleHl7 takes this MSH-9 message code (ADT, ORM, OMI).
  static bool Handles(const std::string& message_type);

  // ---- REST / FHIR (order_service.cpp). `user` is the signed-in user (audited).
  Result<storage::OrderRow> Create(storage::OrderRow order, const std::string& user);
  // Applies the non-empty / non-zero fields of `patch` (the REST PATCH body).
  Result<storage::OrderRow> Update(int64_t id, const std::function<Status(storage::OrderRow&)>& patch,
                                   const std::string& user);
  Result<storage::OrderRow> Cancel(int64_t id, const std::string& reason, const std::string& user);
  // arrived | no_show | scheduled (undo) — the exam desk's marks.
  Result<storage::OrderRow> SetStatus(int64_t id, const std::string& status, const std::string& user);
  // Accept the proposed protocol (code empty) or change it to another.
  Result<storage::OrderRow> SetProtocol(int64_t id, const std::string& code, const std::string& name,
                                        const std::string& user);
  Result<storage::OrderRow> SetReminder(int64_t id, bool sent, const std::string& user);
  // FHIR ServiceRequest create-or-update (by placer identifier, else accession).
  struct Upserted {
    storage::OrderRow order;
    bool created = false;
  };
  Result<Upserted> UpsertServiceRequest(const std::string& json, const std::string& user);

  // ---- Exam tracking (order_service.cpp)
  // A study became known to the hub (its first instance, or its accession changed): links it
  // to the order with its accession (status arrived unless further), else lists it for
  // reconciliation. Idempotent.
  Status OnStudyArrived(const std::string& study_uid, const std::string& accession, const std::string& patient_id,
                        const std::string& patient_name, const std::string& modalities,
                        const std::string& study_date);
  // Reconciliation: link an unmatched study to an order, or dismiss it (order_id 0).
  Status Reconcile(const std::string& study_uid, int64_t order_id, const std::string& user);
  std::optional<OrderFacts> FactsFor(const std::string& accession, const std::string& study_uid);
  // Marks scheduled appointments past their slot + grace with no MPPS and no study as no_show.
  Result<int> MarkNoShows(int64_t now_ms);

  // ---- Modality Worklist and MPPS (order_service_mpps.cpp)
  // Orders answering a worklist query: scheduled, arrived or in progress (not completed,
  // cancelled, discontinued or missed), sorted by scheduled time.
  Result<std::vector<storage::OrderRow>> Worklist(const WorklistQuery& query);
  MppsOutcome MppsCreate(const MppsInput& in);  // N-CREATE: status must be IN PROGRESS
  MppsOutcome MppsSet(const MppsInput& in);     // N-SET: refused once COMPLETED/DISCONTINUED

  // ---- No-show risk (noshow_scoring.cpp)
  // The risk of one order now (its patient's history from the store); -1 without a model.
  Result<double> Risk(const storage::OrderRow& order);
  // Re-scores every scheduled appointment from now_ms on (history changes daily).
  Result<int> ScoreScheduled(int64_t now_ms);
  // Scores the scheduled ones of `rows` in one prediction call, writes the risks that changed
  // and sets each row's noshow_risk (the others are dropped from `rows`); returns the number
  // written. 0 without a model.
  Result<int> ScoreOrders(std::vector<storage::OrderRow>& rows, int64_t now_ms);

  // ---- Scheduling (order_service.cpp)
  const std::vector<StationHours>& station_hours() const { return options_.station_hours; }
  const ProtocolRules& protocol_rules() const { return options_.protocol_rules; }
  storage::OrderStore& store() { return store_; }

 private:
  void Changed(const storage::OrderRow& row);
  // The order of a study: the one with its accession, else the one whose StudyInstanceUID the
  // worklist gave the modality (or that was linked to it); nullopt when none.
  Result<std::optional<storage::OrderRow>> OrderOfStudy(const std::string& accession, const std::string& study_uid);
  Status ApplyAdt(const hl7::Message& msg, const std::string& user);
  Status ApplyOrders(const hl7::Message& msg, const std::string& user);
  // The order an HL7 change or a resent NW means: by placer number, accession, filler number.
  Result<std::optional<storage::OrderRow>> FindExisting(const storage::OrderRow& order);
  storage::OrderStore& store_;
  OrderServiceOptions options_;
};

}  // namespace radflow::orders
