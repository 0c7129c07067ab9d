// OrderService: the Modality Worklist (PS3.4 K.6.1) and the Modality Performed Procedure
// Step (PS3.4 F.7) side of the exam (docs/orders.md "MWL/MPPS").
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/civil_date.h"
#include "base/clock.h"
#include "base/log.h"
#include "orders/order_service.h"
#include "orders/scheduling.h"

namespace radflow::orders {

namespace {

using storage::MppsRow;
using storage::OrderAuditRow;
using storage::OrderRow;
using Audit = Result<std::optional<OrderAuditRow>>;

constexpr uint16_t kSuccess = 0x0000;
constexpr uint16_t kProcessingFailure = 0x0110;  // PS3.7 C.4.2 (F.7.2.2.2: may no longer be updated)
constexpr uint16_t kDuplicateInstance = 0x0111;  // PS3.7 C.4.2 N-CREATE
constexpr uint16_t kNoSuchInstance = 0x0112;     // PS3.7 C.4.3 N-SET
constexpr uint16_t kInvalidValue = 0x0106;       // PS3.7 C.4.2 invalid attribute value

MppsOutcome Fail(uint16_t status, std::string comment) {
  MppsOutcome out;
  out.status = status;
  out.comment = std::move(comment);
  return out;
}

OrderAuditRow AuditOf(const std::string& user, const std::string& note, int64_t at) {
  OrderAuditRow a;
  a.user = user;
  a.action = "status";
  a.note = note;
  a.at = at;
  return a;
}

// The DA/TM pair of an MPPS in unix ms; 0 when absent or not a date.
int64_t TimeOf(const std::string& da, const std::string& tm) {
  if (da.empty()) return 0;
  const int64_t ms = FromLocalDicom(da, tm);
  return ms == -1 ? 0 : ms;
}

// N-SET carries only what changed (PS3.4 F.7.2.2): the stored attributes, updated.
std::string MergeJson(const std::string& before, const std::string& change) {
  if (before.empty()) return change;
  if (change.empty()) return before;
  try {
    auto a = nlohmann::json::parse(before);
    auto b = nlohmann::json::parse(change);
    if (!a.is_object() || !b.is_object()) return change;
    for (auto& [k, v] : b.items()) a[k] = v;
    return a.dump();
  } catch (...) {
    return change;
  }
}

// The order status an MPPS status means (PS3.3 C.4.14 Performed Procedure Step Status).
std::string OrderStatusOf(const std::string& pps_status) {
  if (pps_status == "IN PROGRESS") return "in_progress";
  if (pps_status == "COMPLETED") return "completed";
  if (pps_status == "DISCONTINUED") return "discontinued";
  return "";
}

}  // namespace

namespace {

// The local days [from, to) a ScheduledProcedureStepStartDate key of one date or a closed
// range ("A-B") covers, for the store's scheduled_at index; nullopt for open ranges and
// anything else (Matches still decides every row).
std::optional<std::pair<int64_t, int64_t>> DateSpan(const std::string& key) {
  std::string k;
  for (char c : key) {
    if (c != '.') k += c;
  }
  const auto dash = k.find('-');
  const std::string lo = dash == std::string::npos ? k : k.substr(0, dash);
  const std::string hi = dash == std::string::npos ? k : k.substr(dash + 1);
  auto day = [](const std::string& d) -> int64_t {
    if (d.size() != 8 || d.find_first_not_of("0123456789") != std::string::npos) return -1;
    if (!IsCivilDate(std::stoi(d.substr(0, 4)), static_cast<unsigned>(std::stoi(d.substr(4, 2))),
                     static_cast<unsigned>(std::stoi(d.substr(6, 2))))) {
      return -1;
    }
    return FromLocalDicom(d, "");
  };
  const int64_t from = day(lo), last = day(hi);
  if (from == -1 || last == -1 || last < from) return std::nullopt;
  return std::make_pair(from, AddLocalDays(last, 1));
}

}  // namespace

Result<std::vector<OrderRow>> OrderService::Worklist(const WorklistQuery& query) {
  RADFLOW_RETURN_IF_ERROR(ValidateQuery(query));
  storage::OrderFilter f;
  f.statuses = {"scheduled", "arrived", "in_progress"};
  // The store narrows by the exact keys it indexes; Matches decides (wildcards, ranges,
  // multi-valued station AE titles).
  if (!query.modality.empty() && query.modality.find_first_of("*?") == std::string::npos) f.modality = query.modality;
  if (!query.patient_id.empty() && query.patient_id.find_first_of("*?") == std::string::npos) {
    f.patient_id = query.patient_id;
  }
  if (!query.accession_number.empty() && query.accession_number.find_first_of("*?") == std::string::npos) {
    f.accession_number = query.accession_number;
  }
  if (auto span = DateSpan(query.start_date)) {
    f.from_ms = span->first;
    f.to_ms = span->second;
  }
  f.limit = 0;  // every matching row
  auto rows = store_.ListOrders(f);
  if (!rows.ok()) return rows.status();
  std::vector<OrderRow> out;
  for (auto& o : *rows) {
    if (Matches(query, o)) out.push_back(std::move(o));
  }
  return out;
}

MppsOutcome OrderService::MppsCreate(const MppsInput& in) {
  if (in.sop_instance_uid.empty()) return Fail(kInvalidValue, "no Affected SOP Instance UID");
  // PS3.4 F.7.2.1.1: an N-CREATE makes the step IN PROGRESS.
  if (in.status != "IN PROGRESS") {
    return Fail(kInvalidValue, "PerformedProcedureStepStatus (0040,0252) must be IN PROGRESS on N-CREATE, not '" +
                                   in.status + "'");
  }
  const int64_t now = UnixMillis();
  // The order it performs: by accession, by StudyInstanceUID, by RequestedProcedureID of
  // the patient (Scheduled Step Attributes Sequence, PS3.3 C.4.13).
  std::optional<OrderRow> order;
  if (auto r = OrderOfStudy(in.accession_number, in.study_uid); r.ok()) order = std::move(*r);
  if (!order && !in.requested_procedure_id.empty() && !in.patient_id.empty()) {
    storage::OrderFilter f;
    f.patient_id = in.patient_id;
    f.limit = 0;
    auto r = store_.ListOrders(f);
    if (r.ok()) {
      for (const auto& o : *r) {
        if (o.requested_procedure_id == in.requested_procedure_id) {
          order = o;
          break;
        }
      }
    }
  }
  MppsRow m;
  m.sop_instance_uid = in.sop_instance_uid;
  m.status = in.status;
  m.calling_ae = in.calling_ae;
  m.station_ae = in.station_ae;
  m.modality = in.modality;
  m.study_uid = in.study_uid;
  m.accession_number = in.accession_number;
  m.patient_id = in.patient_id;
  m.order_id = order ? order->id : 0;
  m.started_at = TimeOf(in.start_date, in.start_time);
  m.dataset_json = in.dataset_json;
  m.created_at = m.updated_at = now;
  Status st = store_.InsertMpps(m);
  if (st.code() == ErrorCode::kConflict) {
    return Fail(kDuplicateInstance, "MPPS " + in.sop_instance_uid + " exists already (PS3.4 F.7.2.1)");
  }
  if (!st.ok()) return Fail(kProcessingFailure, st.message());
  MppsOutcome out;
  out.status = kSuccess;
  if (!order) {
    out.comment = "no order for this step (unscheduled)";
    log::Info("MPPS " + in.sop_instance_uid + " from " + in.calling_ae + ": no order matched (accession '" +
              in.accession_number + "', study '" + in.study_uid + "')");
    return out;
  }
  auto r = store_.MutateOrder(order->id, [&](OrderRow& row) -> Audit {
    const std::string before = row.status;
    // A step reported for an order already done or cancelled does not reopen it.
    if (row.status == "scheduled" || row.status == "arrived" || row.status == "no_show") row.status = "in_progress";
    row.mpps_uid = in.sop_instance_uid;
    if (m.started_at) row.performed_start = m.started_at;
    row.updated_at = now;
    return std::optional<OrderAuditRow>(
        AuditOf("mpps:" + in.calling_ae, before + " -> " + row.status + ": MPPS " + in.sop_instance_uid + " IN PROGRESS", now));
  });
  if (!r.ok()) return Fail(kProcessingFailure, "the order was not updated: " + r.status().message());
  Changed(*r);
  return out;
}

MppsOutcome OrderService::MppsSet(const MppsInput& in) {
  auto found = store_.GetMpps(in.sop_instance_uid);
  if (!found.ok()) return Fail(kProcessingFailure, found.status().message());
  if (!found->has_value()) return Fail(kNoSuchInstance, "no MPPS " + in.sop_instance_uid + " (PS3.4 F.7.2.2)");
  MppsRow m = **found;
  // PS3.4 F.7.2.2.2: once COMPLETED or DISCONTINUED the instance may no longer be updated.
  if (m.status != "IN PROGRESS") {
    return Fail(kProcessingFailure, "Performed Procedure Step is " + m.status + ": may no longer be updated");
  }
  if (!in.status.empty() && OrderStatusOf(in.status).empty()) {
    return Fail(kInvalidValue, "PerformedProcedureStepStatus (0040,0252) '" + in.status +
                                   "' is not IN PROGRESS, COMPLETED or DISCONTINUED");
  }
  const int64_t now = UnixMillis();
  if (!in.status.empty()) m.status = in.status;
  if (!in.station_ae.empty()) m.station_ae = in.station_ae;
  if (!in.modality.empty()) m.modality = in.modality;
  const int64_t end = TimeOf(in.end_date, in.end_time);
  if (end) m.ended_at = end;
  if (m.status != "IN PROGRESS" && !m.ended_at) m.ended_at = now;  // no end sent: when we heard of it
  m.dataset_json = MergeJson(m.dataset_json, in.dataset_json);
  m.updated_at = now;
  Status st = store_.UpdateMpps(m);
  if (!st.ok()) return Fail(kProcessingFailure, st.message());
  MppsOutcome out;
  out.status = kSuccess;
  if (m.order_id == 0 || m.status == "IN PROGRESS") return out;
  auto r = store_.MutateOrder(m.order_id, [&](OrderRow& row) -> Audit {
    const std::string before = row.status;
    // Cancelled orders stay cancelled; an MPPS of another step does not complete this one.
    if (row.status == "cancelled" || (!row.mpps_uid.empty() && row.mpps_uid != m.sop_instance_uid)) {
      return std::optional<OrderAuditRow>();
    }
    row.status = OrderStatusOf(m.status);
    if (!row.performed_start) row.performed_start = m.started_at;
    row.performed_end = m.ended_at;
    row.updated_at = now;
    return std::optional<OrderAuditRow>(
        AuditOf("mpps:" + in.calling_ae, before + " -> " + row.status + ": MPPS " + m.sop_instance_uid + " " + m.status, now));
  });
  if (!r.ok()) {
    if (r.status().code() == ErrorCode::kNotFound) return out;  // the order was removed since
    return Fail(kProcessingFailure, "the order was not updated: " + r.status().message());
  }
  Changed(*r);
  return out;
}

}  // namespace radflow::orders
