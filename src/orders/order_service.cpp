// OrderService core (docs/orders.md): HL7 orders and patients, the REST changes, exam
// tracking (studies arriving for orders, reconciliation, no-shows) and the reading worklist's
// facts. MWL/MPPS live in order_service_mpps.cpp, the FHIR upsert in order_service_fhir.cpp,
// the no-show scoring in noshow_scoring.cpp.
#include "orders/order_service.h"

#include <algorithm>
#include <cctype>

#include "base/clock.h"
#include "base/log.h"
#include "hl7/message.h"
#include "orders/hl7_orders.h"

namespace radflow::orders {
namespace {

using storage::OrderAuditRow;
using storage::OrderRow;
using Audit = Result<std::optional<OrderAuditRow>>;

OrderAuditRow AuditOf(const std::string& user, const std::string& action, const std::string& note, int64_t at) {
  OrderAuditRow a;
  a.user = user;
  a.action = action;
  a.note = note;
  a.at = at;
  return a;
}

bool IsUid(const std::string& uid) {
  return !uid.empty() && uid.size() <= 64 && uid.find_first_not_of("0123456789.") == std::string::npos &&
         uid.front() != '.' && uid.back() != '.';
}


std::string ChangedFields(const OrderRow& before, const OrderRow& after) {
  std::string out;
  auto add = [&](const char* name) { out += (out.empty() ? "" : ", ") + std::string(name); };
  for (const auto& f : storage::kOrderTextFields) {
    if (before.*(f.member) != after.*(f.member)) add(f.name);
  }
  if (before.worklist_json != after.worklist_json) add("worklist_json");
  if (before.scheduled_at != after.scheduled_at) add("scheduled_at");
  if (before.duration_minutes != after.duration_minutes) add("duration_minutes");
  if (before.booked_at != after.booked_at) add("booked_at");
  return out;
}

// The non-empty / non-zero fields of `given` (an HL7 XO, a FHIR update) onto `into`.
void MergeGiven(OrderRow& into, const OrderRow& given) {
  for (const auto& f : storage::kOrderTextFields) {
    if (!(given.*(f.member)).empty()) into.*(f.member) = given.*(f.member);
  }
  if (!given.worklist_json.empty()) into.worklist_json = given.worklist_json;
  if (given.scheduled_at) into.scheduled_at = given.scheduled_at;
  if (given.duration_minutes) into.duration_minutes = given.duration_minutes;
}

// Checks and normalises an order's fields (REST, HL7 and FHIR all pass here).
Status Validate(OrderRow& o) {
  if (o.patient_id.empty()) return {ErrorCode::kInvalidArgument, "patient_id: an order needs the patient"};
  if (o.procedure_code.empty() && o.procedure_text.empty()) {
    return {ErrorCode::kInvalidArgument, "procedure_code: an order needs the requested procedure (code or text)"};
  }
  if (o.priority.empty()) o.priority = "ROUTINE";
  const std::string priority = PriorityFromHl7(o.priority);
  if (priority.empty()) {
    return {ErrorCode::kInvalidArgument,
            "priority: '" + o.priority + "' is not STAT, HIGH, ROUTINE, MEDIUM or LOW (or HL7 S, A, R, P, C, T)"};
  }
  o.priority = priority;
  for (auto& c : o.modality) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // ScheduledStationAETitle is multi-valued (VM 1-n, PS3.4 K.6-1): each value is an AE (B, issue 14).
  for (const auto& ae : SplitValues(o.station_ae)) {
    if (ae.size() > 16) return {ErrorCode::kInvalidArgument, "station_ae: '" + ae + "' is longer than 16 characters (PS3.5 AE)"};
  }
  if (o.accession_number.size() > 16) {
    return {ErrorCode::kInvalidArgument, "accession_number: longer than 16 characters (PS3.5 SH)"};
  }
  if (!o.study_uid.empty() && !IsUid(o.study_uid)) {
    return {ErrorCode::kInvalidArgument, "study_uid: '" + o.study_uid + "' is not a UID (digits and dots, at most 64)"};
  }
  if (o.duration_minutes < 0 || o.duration_minutes > 24 * 60) {
    return {ErrorCode::kInvalidArgument, "duration_minutes: must be 0..1440"};
  }
  if (o.scheduled_at < 0) return {ErrorCode::kInvalidArgument, "scheduled_at: negative"};
  return Status::Ok();
}

void ApplyProposal(const ProtocolRules& rules, OrderRow& o) {
  ProtocolProposal p = ProposeProtocol(rules, o);
  if (!p.found) {
    if (o.protocol_state == "proposed") {
      o.protocol_code.clear();
      o.protocol_name.clear();
      o.protocol_reason.clear();
      o.protocol_rule.clear();
      o.protocol_state.clear();
    }
    return;
  }
  o.protocol_code = p.protocol_code;
  o.protocol_name = p.protocol_name;
  o.protocol_reason = p.reason;
  o.protocol_rule = p.rule_id;
  o.protocol_state = "proposed";
  o.protocol_by.clear();
  if (o.body_part.empty()) o.body_part = p.body_part;
  if (o.duration_minutes == 0) o.duration_minutes = p.duration_minutes;
}

// HL7 ORC-5 (table 0038) to the order's status; "" unsupported.
std::string StatusFromHl7(const std::string& code) {
  if (code == "IP") return "in_progress";
  if (code == "CM") return "completed";
  if (code == "CA") return "cancelled";
  if (code == "DC") return "discontinued";
  if (code == "SC") return "scheduled";
  return "";
}

// The acknowledgment of a failure: AR for a message we reject (malformed, unsupported), AE for
// one we could not apply (HL7 v2.5.1 2.9.2; ERR-3 from table 0357).
std::string AckFor(const hl7::Message& msg, const Status& s) {
  const std::string& text = s.message();
  const std::string where = hl7::ErrorLocation(text);
  switch (s.code()) {
    case ErrorCode::kInvalidArgument: {
      hl7::ErrorCondition c = hl7::ErrorCondition::kDataTypeError;
      if (text.find("missing") != std::string::npos || text.find("needs") != std::string::npos) {
        c = hl7::ErrorCondition::kRequiredFieldMissing;
      } else if (text.find("unknown priority") != std::string::npos ||
                 text.find("unsupported order control") != std::string::npos) {
        c = hl7::ErrorCondition::kTableValueNotFound;
      }
      return hl7::BuildAck(msg, "AR", text, where, c);
    }
    case ErrorCode::kUnsupported:
      return hl7::BuildAck(msg, "AR", text, where,
                           where.rfind("MSH^1^9^1^2", 0) == 0 ? hl7::ErrorCondition::kUnsupportedEventCode
                                                               : hl7::ErrorCondition::kUnsupportedMessageType);
    case ErrorCode::kNotFound:
      return hl7::BuildAck(msg, "AE", text, where, hl7::ErrorCondition::kUnknownKeyIdentifier);
    case ErrorCode::kConflict:
      // A taken number names its field; a refused change (cancel an exam in progress) does not.
      return hl7::BuildAck(msg, "AE", text, where,
                           where.empty() ? hl7::ErrorCondition::kApplicationInternalError
                                         : hl7::ErrorCondition::kDuplicateKeyIdentifier);
    default:
      return hl7::BuildAck(msg, "AE", text, where, hl7::ErrorCondition::kApplicationInternalError);
  }
}

}  // namespace

OrderService::OrderService(storage::OrderStore& store, OrderServiceOptions options)
    : store_(store), options_(std::move(options)) {
  store_.SetStudyUidRoot(options_.uid_root);
}

OrderService::~OrderService() = default;

void OrderService::Changed(const OrderRow& row) {
  if (options_.on_change) options_.on_change(row);
}

// ------------------------------------------------------------------------------ HL7

bool OrderService::Handles(const std::string& message_type) {
  std::string code = message_type.substr(0, message_type.find('^'));
  for (auto& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return code == "ADT" || code == "ORM" || code == "OMI";
}

std::string OrderService::HandleHl7(const std::string& message) {
  try {
    auto parsed = hl7::Parse(message);
    if (!parsed.ok()) return hl7::BuildRejectAck(message, parsed.status().message());
    const hl7::Message& msg = parsed.value();
    const hl7::Segment* msh = msg.Find("MSH");
    std::string app = msh ? msh->Get(3, 1) : "";
    const std::string user = "hl7:" + (app.empty() ? std::string("unknown") : app);
    std::string code = msh ? msh->Get(9, 1) : "";
    for (auto& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    Status s;
    if (code == "ADT") {
      s = ApplyAdt(msg, user);
    } else if (code == "ORM" || code == "OMI") {
      s = ApplyOrders(msg, user);
    } else {
      s = Status(ErrorCode::kUnsupported, "MSH-9.1: unsupported message type '" + code + "' (ADT, ORM, OMI)");
    }
    if (!s.ok()) {
      log::Warn("hl7 " + msg.Type() + " " + msg.ControlId() + ": " + s.ToString());
      return AckFor(msg, s);
    }
    return hl7::BuildAck(msg, "AA", "");
  } catch (const std::exception& e) {
    // Never thrown by the code above on purpose; the listener must keep answering.
    return hl7::BuildRejectAck(message, std::string("internal error: ") + e.what(),
                               hl7::ErrorCondition::kApplicationInternalError);
  }
}

Status OrderService::ApplyAdt(const hl7::Message& msg, const std::string& user) {
  auto ev = ParseAdt(msg);
  if (!ev.ok()) return ev.status();
  const int64_t now = UnixMillis();
  if (ev->trigger == "A40") {
    for (const auto& m : ev->merges) {
      // The survivor's demographics as PID sent them, then the merge (which fills what PID
      // left empty from the merged record).
      auto up = store_.UpsertPatient(m.patient, now);
      if (!up.ok()) return up.status();
      auto merged = store_.MergePatient(m.from_id, m.from_issuer, m.patient.patient_id,
                                        m.patient.issuer_of_patient_id, user, now);
      if (!merged.ok()) return merged.status();
      log::Info("hl7 A40: " + m.from_id + " merged into " + m.patient.patient_id + ": " +
                std::to_string(merged->orders) + " orders, " + std::to_string(merged->studies) + " studies");
      storage::OrderFilter f;
      f.patient_id = m.patient.patient_id;
      f.limit = 0;
      auto moved = store_.ListOrders(f);
      if (moved.ok()) {
        for (const auto& o : *moved) Changed(o);
      }
    }
    return Status::Ok();
  }
  auto up = store_.UpsertPatient(ev->patient, now);
  if (!up.ok()) return up.status();
  if (ev->trigger == "A08") {
    // An update of demographics reaches the patient's open orders (the worklist items
    // the modalities will read).
    storage::OrderFilter f;
    f.patient_id = up->patient_id;
    f.statuses = {"scheduled", "arrived", "in_progress"};
    f.limit = 0;
    auto open = store_.ListOrders(f);
    if (!open.ok()) return open.status();
    for (const auto& o : *open) {
      if (o.issuer_of_patient_id != up->issuer_of_patient_id) continue;
      auto r = store_.MutateOrder(o.id, [&](OrderRow& row) -> Audit {
        const OrderRow before = row;
        if (!up->patient_name.empty()) row.patient_name = up->patient_name;
        if (!up->birth_date.empty()) row.birth_date = up->birth_date;
        if (!up->sex.empty()) row.sex = up->sex;
        const std::string changed = ChangedFields(before, row);
        if (changed.empty()) return std::optional<OrderAuditRow>();
        row.updated_at = now;
        return std::optional<OrderAuditRow>(AuditOf(user, "updated", "ADT^A08: " + changed, now));
      });
      if (!r.ok()) return r.status();
      Changed(*r);
    }
  }
  return Status::Ok();
}

Result<std::optional<OrderRow>> OrderService::FindExisting(const OrderRow& o) {
  if (!o.placer_order_number.empty()) {
    auto by_placer = store_.FindByPlacer(o.placer_order_number);
    if (!by_placer.ok() || by_placer->has_value()) return by_placer;
  }
  if (!o.accession_number.empty()) {
    auto by_acc = store_.FindByAccession(o.accession_number);
    if (!by_acc.ok() || by_acc->has_value()) return by_acc;
  }
  return store_.FindByFiller(o.filler_order_number);
}

Status OrderService::ApplyOrders(const hl7::Message& msg, const std::string& user) {
  auto events = ParseOrders(msg);
  if (!events.ok()) return events.status();
  const int64_t now = UnixMillis();
  if (msg.Find("PID")) {
    // The order message's PID registers (or refreshes) the patient too.
    const auto& p = events->front().order;
    storage::PatientRow patient;
    patient.patient_id = p.patient_id;
    patient.issuer_of_patient_id = p.issuer_of_patient_id;
    patient.patient_name = p.patient_name;
    patient.birth_date = p.birth_date;
    patient.sex = p.sex;
    if (!patient.patient_id.empty()) {
      auto up = store_.UpsertPatient(patient, now);
      if (!up.ok()) return up.status();
    }
  }
  for (const auto& ev : *events) {
    auto existing = FindExisting(ev.order);
    if (!existing.ok()) return existing.status();
    const std::string key = !ev.order.placer_order_number.empty() ? ev.order.placer_order_number
                            : !ev.order.accession_number.empty()  ? ev.order.accession_number
                                                                  : ev.order.filler_order_number;
    if (ev.control == "NW" && !existing->has_value()) {
      auto created = Create(ev.order, user);
      if (!created.ok()) {
        // A second sender raced us to the same numbers: the order is there now.
        if (created.status().code() != ErrorCode::kConflict) return created.status();
        auto again = FindExisting(ev.order);
        if (!again.ok() || !again->has_value()) return created.status();
        existing = std::move(again);
      } else {
        continue;
      }
    }
    if (!existing->has_value()) {
      return Status(ErrorCode::kNotFound, "ORC-2: unknown order '" + key + "' (ORC-1 " + ev.control + ")");
    }
    const int64_t id = (*existing)->id;
    if (!ev.order.placer_order_number.empty() && !(*existing)->placer_order_number.empty() &&
        ev.order.placer_order_number != (*existing)->placer_order_number) {
      return Status(ErrorCode::kConflict, "OBR-18: accession number '" + ev.order.accession_number +
                                              "' belongs to placer order '" + (*existing)->placer_order_number + "'");
    }
    if (ev.control == "NW" || ev.control == "XO") {
      // NW of a known order: the placer resent it (a lost ACK); applied as a change.
      if (ev.control == "NW" && (*existing)->patient_id != ev.order.patient_id) {
        return Status(ErrorCode::kConflict, "ORC-2: order '" + key + "' exists for another patient");
      }
      auto r = Update(id, [&](OrderRow& row) -> Status {
        MergeGiven(row, ev.order);
        return Status::Ok();
      }, user);
      if (!r.ok()) return r.status();
    } else if (ev.control == "CA") {
      const std::string reason = ev.control_reason.empty()
                                     ? "cancelled by the placer (ORC-1 " + ev.control_as_sent + ")"
                                     : ev.control_reason + " (ORC-1 " + ev.control_as_sent + ")";
      auto r = Cancel(id, reason, user);
      if (!r.ok()) return r.status();
    } else if (ev.control == "SC") {
      const std::string status = StatusFromHl7(ev.order_status);
      if (status.empty()) {
        return Status(ErrorCode::kInvalidArgument,
                      "ORC-5: unsupported order status '" + ev.order_status + "' (IP, CM, CA, DC, SC)");
      }
      auto r = store_.MutateOrder(id, [&](OrderRow& row) -> Audit {
        if (row.status == status) return std::optional<OrderAuditRow>();
        const std::string from = row.status;
        row.status = status;
        row.updated_at = now;
        return std::optional<OrderAuditRow>(AuditOf(user, "status", from + " -> " + status + " (ORC-5 " +
                                                                         ev.order_status + ")", now));
      });
      if (!r.ok()) return r.status();
      Changed(*r);
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------------------------ REST

Result<OrderRow> OrderService::Create(OrderRow order, const std::string& user) {
  const int64_t now = UnixMillis();
  order.id = 0;
  if (order.status.empty()) order.status = "scheduled";
  if (order.status != "scheduled" && order.status != "arrived") {
    return Status(ErrorCode::kInvalidArgument, "status: a new order is scheduled or arrived, not '" + order.status + "'");
  }
  RADFLOW_RETURN_IF_ERROR(Validate(order));
  if (order.source.empty()) order.source = "rest";
  if (order.booked_at == 0) order.booked_at = now;
  order.linked_study_uid.clear();
  order.mpps_uid.clear();
  order.noshow_risk = -1;
  if (order.protocol_state.empty() || order.protocol_state == "proposed") ApplyProposal(options_.protocol_rules, order);
  auto inserted = store_.InsertOrder(order, user, now);
  if (!inserted.ok()) return inserted.status();
  OrderRow row = std::move(inserted.value());
  Changed(row);
  // A study with this accession that arrived first is waiting on the reconciliation list.
  auto waiting = store_.OpenUnmatchedByAccession(row.accession_number);
  if (waiting.ok() && !waiting->empty()) {
    if (Reconcile(waiting->front().study_uid, row.id, user).ok()) {
      auto linked = store_.GetOrder(row.id);
      if (linked.ok() && linked->has_value()) row = **linked;
    }
  }
  return row;
}

Result<OrderRow> OrderService::Update(int64_t id, const std::function<Status(OrderRow&)>& patch,
                                      const std::string& user) {
  const int64_t now = UnixMillis();
  auto r = store_.MutateOrder(id, [&](OrderRow& row) -> Audit {
    const OrderRow before = row;
    RADFLOW_RETURN_IF_ERROR(patch(row));
    // What a patch may not change: identity, state kept by the exam's own events.
    row.id = before.id;
    row.status = before.status;
    row.study_uid = before.study_uid.empty() ? row.study_uid : before.study_uid;
    if (before.status == "cancelled" || before.status == "completed") {
      if (!ChangedFields(before, row).empty()) {
        return Status(ErrorCode::kConflict, "order " + std::to_string(id) + " is " + before.status +
                                                ": it cannot be changed");
      }
    }
    RADFLOW_RETURN_IF_ERROR(Validate(row));
    if (row.procedure_code != before.procedure_code || row.procedure_text != before.procedure_text ||
        row.reason != before.reason || row.modality != before.modality) {
      if (row.protocol_state.empty() || row.protocol_state == "proposed") ApplyProposal(options_.protocol_rules, row);
    }
    const std::string changed = ChangedFields(before, row);
    if (changed.empty() && row == before) return std::optional<OrderAuditRow>();
    row.updated_at = now;
    return std::optional<OrderAuditRow>(AuditOf(user, "updated", changed, now));
  });
  if (!r.ok()) return r.status();
  Changed(*r);
  return r;
}

Result<OrderRow> OrderService::Cancel(int64_t id, const std::string& reason, const std::string& user) {
  const int64_t now = UnixMillis();
  bool changed = false;
  auto r = store_.MutateOrder(id, [&](OrderRow& row) -> Audit {
    if (row.status == "cancelled") return std::optional<OrderAuditRow>();  // idempotent
    if (row.status == "completed" || row.status == "in_progress") {
      return Status(ErrorCode::kConflict, "order " + std::to_string(id) + " is " + row.status +
                                              ": it cannot be cancelled");
    }
    const std::string from = row.status;
    row.status = "cancelled";
    row.updated_at = now;
    changed = true;
    return std::optional<OrderAuditRow>(
        AuditOf(user, "cancelled", from + " -> cancelled" + (reason.empty() ? "" : ": " + reason), now));
  });
  if (!r.ok()) return r.status();
  if (changed) Changed(*r);
  return r;
}

Result<OrderRow> OrderService::SetStatus(int64_t id, const std::string& status, const std::string& user) {
  if (status != "arrived" && status != "no_show" && status != "scheduled") {
    return Status(ErrorCode::kInvalidArgument, "status: '" + status + "' is not arrived, no_show or scheduled");
  }
  const int64_t now = UnixMillis();
  bool changed = false;
  auto r = store_.MutateOrder(id, [&](OrderRow& row) -> Audit {
    if (row.status == status) return std::optional<OrderAuditRow>();
    // The desk marks move between scheduled, arrived and no_show only.
    if (row.status != "scheduled" && row.status != "arrived" && row.status != "no_show") {
      return Status(ErrorCode::kConflict, "order " + std::to_string(id) + " is " + row.status +
                                              ": it cannot be marked " + status);
    }
    if (status == "no_show" && (!row.mpps_uid.empty() || !row.linked_study_uid.empty())) {
      return Status(ErrorCode::kConflict, "order " + std::to_string(id) +
                                              " has images or a performed step: it is not a no-show");
    }
    const std::string from = row.status;
    row.status = status;
    row.updated_at = now;
    changed = true;
    return std::optional<OrderAuditRow>(AuditOf(user, "status", from + " -> " + status, now));
  });
  if (!r.ok()) return r.status();
  if (changed) Changed(*r);
  return r;
}

Result<OrderRow> OrderService::SetProtocol(int64_t id, const std::string& code, const std::string& name,
                                           const std::string& user) {
  std::string protocol_name = name;
  if (!code.empty() && protocol_name.empty()) {
    for (const auto& rule : options_.protocol_rules.rules) {
      if (rule.protocol_code == code) {
        protocol_name = rule.protocol_name;
        break;
      }
    }
    if (protocol_name.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "protocol_code: '" + code + "' is not in the rule set (give protocol_name with it)");
    }
  }
  const int64_t now = UnixMillis();
  auto r = store_.MutateOrder(id, [&](OrderRow& row) -> Audit {
    if (row.status == "cancelled" || row.status == "completed") {
      return Status(ErrorCode::kConflict, "order " + std::to_string(id) + " is " + row.status +
                                              ": its protocol cannot change");
    }
    std::string note;
    if (code.empty()) {
      if (row.protocol_code.empty()) {
        return Status(ErrorCode::kConflict, "order " + std::to_string(id) + " has no proposed protocol to accept");
      }
      row.protocol_state = "accepted";
      note = "accepted " + row.protocol_code;
    } else {
      note = "changed " + (row.protocol_code.empty() ? std::string("(none)") : row.protocol_code) + " -> " + code;
      row.protocol_code = code;
      row.protocol_name = protocol_name;
      row.protocol_reason = "chosen by " + user;
      row.protocol_rule.clear();
      row.protocol_state = "changed";
    }
    row.protocol_by = user;
    row.updated_at = now;
    return std::optional<OrderAuditRow>(AuditOf(user, "protocol", note, now));
  });
  if (!r.ok()) return r.status();
  Changed(*r);
  return r;
}

Result<OrderRow> OrderService::SetReminder(int64_t id, bool sent, const std::string& user) {
  const int64_t now = UnixMillis();
  auto r = store_.MutateOrder(id, [&](OrderRow& row) -> Audit {
    if (row.reminder_sent == sent) return std::optional<OrderAuditRow>();
    row.reminder_sent = sent;
    row.updated_at = now;
    return std::optional<OrderAuditRow>(AuditOf(user, "updated", sent ? "reminder sent" : "reminder cleared", now));
  });
  if (!r.ok()) return r.status();
  Changed(*r);
  return r;
}

// ------------------------------------------------------------------------------ exam tracking

Status OrderService::OnStudyArrived(const std::string& study_uid, const std::string& accession,
                                    const std::string& patient_id, const std::string& patient_name,
                                    const std::string& modalities, const std::string& study_date) {
  if (study_uid.empty()) return {ErrorCode::kInvalidArgument, "study_uid: empty"};
  auto found = OrderOfStudy(accession, study_uid);
  if (!found.ok()) return found.status();
  std::optional<OrderRow> order = std::move(*found);
  const int64_t now = UnixMillis();
  if (!order) {
    storage::UnmatchedStudyRow u;
    u.study_uid = study_uid;
    u.accession_number = accession;
    u.patient_id = patient_id;
    u.patient_name = patient_name;
    u.modalities = modalities;
    u.study_date = study_date;
    u.arrived_at = now;
    return store_.AddUnmatched(u);
  }
  bool changed = false;
  auto r = store_.MutateOrder(order->id, [&](OrderRow& row) -> Audit {
    if (!row.linked_study_uid.empty()) {
      if (row.linked_study_uid == study_uid) return std::optional<OrderAuditRow>();  // idempotent
      return std::optional<OrderAuditRow>(
          AuditOf("system", "linked", "another study " + study_uid + " with this accession; linked stays " +
                                          row.linked_study_uid, now));
    }
    row.linked_study_uid = study_uid;
    std::string note = "study " + study_uid + " arrived";
    if (row.status == "scheduled" || row.status == "no_show") {
      note += " (" + row.status + " -> arrived)";
      row.status = "arrived";
    }
    if (!patient_id.empty() && patient_id != row.patient_id) {
      note += "; its PatientID " + patient_id + " differs from the order's " + row.patient_id;
    }
    row.updated_at = now;
    changed = true;
    return std::optional<OrderAuditRow>(AuditOf("system", "linked", note, now));
  });
  if (!r.ok()) return r.status();
  if (changed) {
    Changed(*r);
    // It may have waited on the reconciliation list under an accession since corrected.
    Status resolved = store_.ResolveUnmatched(study_uid, r->id, "system", now);
    if (!resolved.ok() && resolved.code() != ErrorCode::kNotFound) return resolved;
  }
  return Status::Ok();
}

Status OrderService::Reconcile(const std::string& study_uid, int64_t order_id, const std::string& user) {
  const int64_t now = UnixMillis();
  if (order_id != 0) {
    auto order = store_.GetOrder(order_id);
    if (!order.ok()) return order.status();
    if (!order->has_value()) return {ErrorCode::kNotFound, "no order " + std::to_string(order_id)};
    if (!(*order)->linked_study_uid.empty() && (*order)->linked_study_uid != study_uid) {
      return {ErrorCode::kConflict, "order " + std::to_string(order_id) + " is linked to study " +
                                        (*order)->linked_study_uid};
    }
  }
  RADFLOW_RETURN_IF_ERROR(store_.ResolveUnmatched(study_uid, order_id, user, now));
  if (order_id == 0) return Status::Ok();
  auto r = store_.MutateOrder(order_id, [&](OrderRow& row) -> Audit {
    row.linked_study_uid = study_uid;
    std::string note = "study " + study_uid + " linked by reconciliation";
    if (row.status == "scheduled" || row.status == "no_show") {
      note += " (" + row.status + " -> arrived)";
      row.status = "arrived";
    }
    row.updated_at = now;
    return std::optional<OrderAuditRow>(AuditOf(user, "linked", note, now));
  });
  if (!r.ok()) return r.status();
  Changed(*r);
  return Status::Ok();
}

Result<std::optional<OrderRow>> OrderService::OrderOfStudy(const std::string& accession,
                                                           const std::string& study_uid) {
  if (!accession.empty()) {
    auto by_acc = store_.FindByAccession(accession);
    if (!by_acc.ok() || by_acc->has_value()) return by_acc;
  }
  if (study_uid.empty()) return std::optional<OrderRow>();
  return store_.FindByStudyUid(study_uid);
}

std::optional<OrderFacts> OrderService::FactsFor(const std::string& accession, const std::string& study_uid) {
  auto found = OrderOfStudy(accession, study_uid);
  if (!found.ok() || !found->has_value()) return std::nullopt;
  const std::optional<OrderRow>& order = *found;
  if (order->status == "cancelled") return std::nullopt;
  OrderFacts f;
  f.order_id = order->id;
  f.priority = order->priority;
  f.reason = order->reason;
  f.procedure_text = order->procedure_text;
  f.referring_physician = order->referring_physician;
  return f;
}

Result<int> OrderService::MarkNoShows(int64_t now_ms) {
  const int64_t grace_ms = int64_t{options_.no_show_grace_minutes} * 60'000;
  storage::OrderFilter f;
  f.statuses = {"scheduled"};
  f.from_ms = 1;  // 0: unscheduled
  f.to_ms = now_ms - grace_ms;
  f.limit = 0;
  auto due = store_.ListOrders(f);
  if (!due.ok()) return due.status();
  int marked = 0;
  for (const auto& o : *due) {
    const int64_t slot_end = o.scheduled_at + int64_t{o.duration_minutes} * 60'000;
    if (slot_end + grace_ms > now_ms) continue;
    bool changed = false;
    auto r = store_.MutateOrder(o.id, [&](OrderRow& row) -> Audit {
      // Re-checked in the transaction: an MPPS or a study may have come meanwhile.
      if (row.status != "scheduled" || !row.mpps_uid.empty() || !row.linked_study_uid.empty()) {
        return std::optional<OrderAuditRow>();
      }
      row.status = "no_show";
      row.updated_at = now_ms;
      changed = true;
      return std::optional<OrderAuditRow>(AuditOf(
          "system", "status",
          "scheduled -> no_show: no MPPS and no study " + std::to_string(options_.no_show_grace_minutes) +
              " minutes after the slot ended",
          now_ms));
    });
    if (!r.ok()) return r.status();
    if (changed) {
      ++marked;
      Changed(*r);
    }
  }
  return marked;
}

}  // namespace radflow::orders
