#include "api/orders_api.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "api/request_util.h"
#include "orders/fhir_service_request.h"

namespace radflow::api {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using orders::OrderService;
using storage::OrderRow;

const std::string kOrders = "/api/v1/orders/";
const std::string kMpps = "/api/v1/mpps/";
const std::string kFhirSr = "/api/v1/fhir/ServiceRequest";

constexpr int kDefaultLimit = 500;
constexpr int kMaxLimit = 5000;

const char* const kStatuses[] = {"scheduled", "arrived", "in_progress", "completed",
                                 "discontinued", "cancelled", "no_show"};

http::Response Json(const ordered_json& j, int status = 200) { return http::Response::Json(j.dump(), status); }
http::Response Err(const Status& st) { return http::Response::Error(st); }

// --------------------------------------------------------------------------- order JSON

// The string members of an order a POST or PATCH body may set: storage::kOrderTextFields.
constexpr const auto& kText = storage::kOrderTextFields;
// Set by the order service or by the exam's own events, never by a body.
constexpr const char* kReadOnly[] = {"id", "protocol_code", "protocol_name", "protocol_reason", "protocol_rule",
                                     "protocol_state", "protocol_by", "reminder_sent", "noshow_risk", "mpps_uid",
                                     "performed_start", "performed_end", "linked_study_uid", "source",
                                     "created_at", "updated_at"};

ordered_json OrderObject(const OrderRow& o) {
  ordered_json j{{"id", o.id}};
  for (const auto& f : kText) j[f.name] = o.*(f.member);
  j["study_uid"] = o.study_uid;
  j["scheduled_at"] = o.scheduled_at;
  j["duration_minutes"] = o.duration_minutes;
  j["booked_at"] = o.booked_at;
  j["status"] = o.status;
  j["protocol_code"] = o.protocol_code;
  j["protocol_name"] = o.protocol_name;
  j["protocol_reason"] = o.protocol_reason;
  j["protocol_rule"] = o.protocol_rule;
  j["protocol_state"] = o.protocol_state;
  j["protocol_by"] = o.protocol_by;
  j["reminder_sent"] = o.reminder_sent;
  j["noshow_risk"] = o.noshow_risk;
  j["mpps_uid"] = o.mpps_uid;
  j["performed_start"] = o.performed_start;
  j["performed_end"] = o.performed_end;
  j["linked_study_uid"] = o.linked_study_uid;
  j["source"] = o.source;
  j["created_at"] = o.created_at;
  j["updated_at"] = o.updated_at;
  return j;
}

ordered_json AuditObject(const storage::OrderAuditRow& a) {
  return {{"id", a.id}, {"order_id", a.order_id}, {"at", a.at}, {"user", a.user}, {"action", a.action},
          {"note", a.note}};
}

// The request body as a JSON object.
Result<json> Body(const http::Request& req) {
  if (req.body.empty()) return Status(ErrorCode::kInvalidArgument, "a JSON object body is required");
  auto j = json::parse(req.body, nullptr, false);
  if (j.is_discarded()) return Status(ErrorCode::kInvalidArgument, "the body is not valid JSON");
  if (!j.is_object()) return Status(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  return j;
}

Status NotInteger(const std::string& name) {
  return Status(ErrorCode::kInvalidArgument, name + ": expected an integer");
}

// Copies the members of `b` that an order body may set into `o` (only those present).
// `create`: status may be given (scheduled | arrived), and study_uid.
Status ApplyBody(const json& b, OrderRow& o, bool create) {
  for (const auto& f : kText) {
    auto it = b.find(f.name);
    if (it == b.end()) continue;
    if (it->is_null()) {
      (o.*(f.member)).clear();
    } else if (it->is_string()) {
      o.*(f.member) = it->get<std::string>();
    } else {
      return Status(ErrorCode::kInvalidArgument, std::string(f.name) + ": expected a string");
    }
  }
  struct IntField {
    const char* name;
    int64_t* target;
  };
  int64_t duration = o.duration_minutes;
  const IntField ints[] = {{"scheduled_at", &o.scheduled_at}, {"duration_minutes", &duration},
                           {"booked_at", &o.booked_at}};
  for (const auto& f : ints) {
    auto it = b.find(f.name);
    if (it == b.end()) continue;
    if (it->is_null()) {
      *f.target = 0;
    } else if (it->is_number_integer()) {
      *f.target = it->get<int64_t>();
    } else {
      return NotInteger(f.name);
    }
  }
  if (duration < 0 || duration > 24 * 60) {
    return Status(ErrorCode::kInvalidArgument, "duration_minutes: must be 0..1440");
  }
  o.duration_minutes = static_cast<int>(duration);
  if (create) {
    if (b.contains("study_uid") && !b["study_uid"].is_null()) {
      if (!b["study_uid"].is_string()) return Status(ErrorCode::kInvalidArgument, "study_uid: expected a string");
      o.study_uid = b["study_uid"].get<std::string>();
    }
    if (b.contains("status") && !b["status"].is_null()) {
      if (!b["status"].is_string()) return Status(ErrorCode::kInvalidArgument, "status: expected a string");
      o.status = b["status"].get<std::string>();
    }
  } else {
    if (b.contains("status")) {
      return Status(ErrorCode::kInvalidArgument,
                    "status: change it with POST /api/v1/orders/{id}/status, /cancel or by MPPS, not PATCH");
    }
    if (b.contains("study_uid")) {
      return Status(ErrorCode::kInvalidArgument, "study_uid: fixed when the order is created");
    }
  }
  for (const char* name : kReadOnly) {
    if (b.contains(name) && !(create && std::string(name) == "id")) {
      if (std::string(name).rfind("protocol_", 0) == 0) {
        return Status(ErrorCode::kInvalidArgument,
                      std::string(name) + ": set by the protocol rules or POST /api/v1/orders/{id}/protocol");
      }
      if (std::string(name) == "reminder_sent") {
        return Status(ErrorCode::kInvalidArgument, "reminder_sent: use POST /api/v1/orders/{id}/reminder");
      }
      return Status(ErrorCode::kInvalidArgument, std::string(name) + ": set by radflow, not by a request");
    }
  }
  return Status::Ok();
}

// --------------------------------------------------------------------------- REST routes

http::Response ListOrders(OrderService& s, const http::Request& req) {
  storage::OrderFilter f;
  for (const auto& status : SplitComma(Param(req, "status"))) {
    bool known = false;
    for (const char* k : kStatuses) known = known || status == k;
    if (!known) {
      return BadRequest("status: '" + status +
                        "' is not scheduled, arrived, in_progress, completed, discontinued, cancelled or no_show");
    }
    f.statuses.push_back(status);
  }
  f.station_ae = Param(req, "station");
  f.modality = Param(req, "modality");
  f.patient_id = Param(req, "patient");
  f.patient_name_prefix = Param(req, "patient_name");
  f.accession_number = Param(req, "accession");
  struct Num {
    const char* name;
    int64_t* target;
  };
  int64_t limit = kDefaultLimit, offset = 0;
  const Num nums[] = {{"from", &f.from_ms}, {"to", &f.to_ms}, {"limit", &limit}, {"offset", &offset}};
  for (const auto& n : nums) {
    const std::string v = Param(req, n.name);
    if (v.empty()) continue;
    if (!ParseInt(v, *n.target) || *n.target < 0) {
      return BadRequest(std::string(n.name) + ": expected a non-negative integer" +
                        (std::string(n.name) == "from" || std::string(n.name) == "to" ? " (unix ms)" : ""));
    }
  }
  if (limit == 0 || limit > kMaxLimit) return BadRequest("limit: expected 1.." + std::to_string(kMaxLimit));
  f.limit = static_cast<int>(limit);
  f.offset = static_cast<int>(std::min<int64_t>(offset, 1 << 30));
  auto total = s.store().CountOrders(f);
  if (!total.ok()) return Err(total.status());
  auto rows = s.store().ListOrders(f);
  if (!rows.ok()) return Err(rows.status());
  ordered_json items = ordered_json::array();
  for (const auto& o : *rows) items.push_back(OrderObject(o));
  return Json({{"total", *total}, {"items", items}});
}

http::Response CreateOrder(OrderService& s, const http::Request& req) {
  auto body = Body(req);
  if (!body.ok()) return Err(body.status());
  OrderRow o;
  o.status.clear();
  o.priority.clear();
  if (Status st = ApplyBody(*body, o, true); !st.ok()) return Err(st);
  o.source = "rest";
  auto created = s.Create(o, req.identity.user);
  if (!created.ok()) return Err(created.status());
  auto res = Json(OrderObject(*created), 201);
  res.headers.emplace_back("Location", kOrders + std::to_string(created->id));
  return res;
}

Result<OrderRow> Existing(OrderService& s, int64_t id) {
  auto o = s.store().GetOrder(id);
  if (!o.ok()) return o.status();
  if (!o->has_value()) return Status(ErrorCode::kNotFound, "no order " + std::to_string(id));
  return **o;
}

http::Response AuditList(OrderService& s, int64_t id, const OrderRow* with) {
  auto audit = s.store().OrderAudit(id);
  if (!audit.ok()) return Err(audit.status());
  ordered_json list = ordered_json::array();
  for (const auto& a : *audit) list.push_back(AuditObject(a));
  if (with == nullptr) return Json({{"audit", list}});
  ordered_json j = OrderObject(*with);
  j["audit"] = list;
  return Json(j);
}

// A string member of a body ("" when absent), or an error naming it.
Result<std::string> StringMember(const json& b, const char* name, bool required) {
  auto it = b.find(name);
  if (it == b.end() || it->is_null()) {
    if (required) return Status(ErrorCode::kInvalidArgument, std::string(name) + ": required");
    return std::string();
  }
  if (!it->is_string()) return Status(ErrorCode::kInvalidArgument, std::string(name) + ": expected a string");
  return it->get<std::string>();
}

http::Response Result2Response(Result<OrderRow> r) {
  if (!r.ok()) return Err(r.status());
  return Json(OrderObject(*r));
}

http::Response OrderAction(OrderService& s, const http::Request& req, int64_t id, const std::string& action) {
  auto body = Body(req);
  if (!body.ok()) return Err(body.status());
  const json& b = *body;
  const std::string& user = req.identity.user;
  if (action == "cancel") {
    auto reason = StringMember(b, "reason", false);
    if (!reason.ok()) return Err(reason.status());
    return Result2Response(s.Cancel(id, *reason, user));
  }
  if (action == "status") {
    auto status = StringMember(b, "status", true);
    if (!status.ok()) return Err(status.status());
    return Result2Response(s.SetStatus(id, *status, user));
  }
  if (action == "protocol") {
    auto what = StringMember(b, "action", true);
    if (!what.ok()) return Err(what.status());
    if (*what == "accept") return Result2Response(s.SetProtocol(id, "", "", user));
    if (*what != "change") return BadRequest("action: '" + *what + "' is not accept or change");
    auto code = StringMember(b, "protocol_code", true);
    if (!code.ok()) return Err(code.status());
    if (code->empty()) return BadRequest("protocol_code: required to change the protocol");
    auto name = StringMember(b, "protocol_name", false);
    if (!name.ok()) return Err(name.status());
    return Result2Response(s.SetProtocol(id, *code, *name, user));
  }
  if (action == "reminder") {
    auto it = b.find("sent");
    if (it == b.end() || !it->is_boolean()) return BadRequest("sent: required, true or false");
    return Result2Response(s.SetReminder(id, it->get<bool>(), user));
  }
  return Err(Status(ErrorCode::kNotFound, "no such route: POST " + req.path));
}

http::Response OrderRoute(OrderService& s, const http::Request& req) {
  auto [id_text, action] = Split(req.path, kOrders.size());
  int64_t id = 0;
  if (!ParseInt(id_text, id) || id < 1) return BadRequest("order id: expected a positive integer, not '" + id_text + "'");
  if (req.method == "GET") {
    if (action.empty()) {
      auto o = Existing(s, id);
      if (!o.ok()) return Err(o.status());
      return AuditList(s, id, &*o);
    }
    if (action == "audit") {
      auto o = Existing(s, id);
      if (!o.ok()) return Err(o.status());
      return AuditList(s, id, nullptr);
    }
    return Err(Status(ErrorCode::kNotFound, "no such route: GET " + req.path));
  }
  if (req.method == "PATCH") {
    if (!action.empty()) return Err(Status(ErrorCode::kNotFound, "no such route: PATCH " + req.path));
    auto body = Body(req);
    if (!body.ok()) return Err(body.status());
    return Result2Response(s.Update(id, [&](OrderRow& row) { return ApplyBody(*body, row, false); },
                                    req.identity.user));
  }
  if (action.empty()) return Err(Status(ErrorCode::kNotFound, "no such route: POST " + req.path));
  return OrderAction(s, req, id, action);
}

http::Response Protocols(OrderService& s) {
  ordered_json rules = ordered_json::array();
  for (const auto& r : orders::ProtocolChoices(s.protocol_rules())) {
    rules.push_back({{"protocol_code", r.protocol_code}, {"protocol_name", r.protocol_name},
                     {"modality", r.modality}, {"body_part", r.body_part}, {"contrast", r.contrast},
                     {"duration_minutes", r.duration_minutes}, {"rule_id", r.id}});
  }
  return Json({{"version", s.protocol_rules().version}, {"rules", rules}});
}

http::Response ListUnmatched(OrderService& s, const http::Request& req) {
  const std::string all = Param(req, "all");
  if (!all.empty() && all != "0" && all != "1") return BadRequest("all: expected 0 or 1");
  auto rows = s.store().ListUnmatched(all == "1");
  if (!rows.ok()) return Err(rows.status());
  ordered_json items = ordered_json::array();
  for (const auto& u : *rows) {
    items.push_back({{"study_uid", u.study_uid}, {"accession_number", u.accession_number},
                     {"patient_id", u.patient_id}, {"patient_name", u.patient_name}, {"modalities", u.modalities},
                     {"study_date", u.study_date}, {"arrived_at", u.arrived_at}, {"resolved_by", u.resolved_by},
                     {"resolved_order_id", u.resolved_order_id}});
  }
  return Json({{"items", items}});
}

http::Response Reconcile(OrderService& s, const http::Request& req) {
  auto body = Body(req);
  if (!body.ok()) return Err(body.status());
  auto study = StringMember(*body, "study_uid", true);
  if (!study.ok()) return Err(study.status());
  if (study->empty()) return BadRequest("study_uid: required");
  auto it = body->find("order_id");
  if (it == body->end() || !it->is_number_integer() || it->get<int64_t>() < 0) {
    return BadRequest("order_id: required, the order's id (0: dismiss)");
  }
  const int64_t order_id = it->get<int64_t>();
  if (Status st = s.Reconcile(*study, order_id, req.identity.user); !st.ok()) return Err(st);
  return Json({{"ok", true}, {"study_uid", *study}, {"order_id", order_id}});
}

http::Response Mpps(OrderService& s, const http::Request& req) {
  const std::string uid = req.path.substr(kMpps.size());
  if (uid.empty() || uid.find('/') != std::string::npos) return BadRequest("expected /api/v1/mpps/{uid}");
  auto m = s.store().GetMpps(uid);
  if (!m.ok()) return Err(m.status());
  if (!m->has_value()) return Err(Status(ErrorCode::kNotFound, "no performed procedure step " + uid));
  const auto& r = **m;
  ordered_json j{{"sop_instance_uid", r.sop_instance_uid}, {"status", r.status}, {"calling_ae", r.calling_ae},
                 {"station_ae", r.station_ae}, {"modality", r.modality}, {"study_uid", r.study_uid},
                 {"accession_number", r.accession_number}, {"patient_id", r.patient_id}, {"order_id", r.order_id},
                 {"started_at", r.started_at}, {"ended_at", r.ended_at}};
  auto dataset = ordered_json::parse(r.dataset_json, nullptr, false);
  j["dataset"] = dataset.is_discarded() ? ordered_json::object() : dataset;
  j["created_at"] = r.created_at;
  j["updated_at"] = r.updated_at;
  return Json(j);
}

// --------------------------------------------------------------------------- FHIR routes

// An OperationOutcome (FHIR R4) for an error, with the error's HTTP status.
http::Response FhirError(const Status& st) {
  const std::string code = st.code() == ErrorCode::kNotFound        ? "not-found"
                           : st.code() == ErrorCode::kInvalidArgument ? "invalid"
                           : st.code() == ErrorCode::kConflict        ? "conflict"
                                                                      : "exception";
  ordered_json oo{{"resourceType", "OperationOutcome"},
                  {"issue", ordered_json::array({{{"severity", "error"}, {"code", code}, {"diagnostics", st.message()}}})}};
  http::Response res;
  res.status = st.http_status();
  res.content_type = "application/fhir+json";
  res.body = oo.dump();
  return res;
}

http::Response Fhir(std::string body, int status = 200) {
  http::Response res;
  res.status = status;
  res.content_type = "application/fhir+json";
  res.body = std::move(body);
  return res;
}

std::string FhirBase(const http::Request& req) {
  const std::string& host = req.Header("host");
  return std::string(req.secure ? "https://" : "http://") + (host.empty() ? std::string("localhost") : host) +
         "/api/v1/fhir";
}

http::Response FhirWithLocation(const http::Request& req, const OrderRow& o, int status) {
  auto res = Fhir(orders::ServiceRequestJson(o), status);
  res.headers.emplace_back("Location", FhirBase(req) + "/ServiceRequest/order-" + std::to_string(o.id));
  return res;
}

http::Response FhirCreate(OrderService& s, const http::Request& req) {
  auto r = s.UpsertServiceRequest(req.body, req.identity.user);
  if (!r.ok()) return FhirError(r.status());
  return FhirWithLocation(req, r->order, r->created ? 201 : 200);
}

// PUT: the order named by the path takes what the resource carries (what it leaves out stays);
// status revoked / entered-in-error cancels it.
http::Response FhirUpdate(OrderService& s, const http::Request& req, int64_t id) {
  auto existing = Existing(s, id);
  if (!existing.ok()) return FhirError(existing.status());
  auto raw = json::parse(req.body, nullptr, false);
  if (raw.is_object() && raw.contains("id") && raw["id"].is_string()) {
    auto body_id = orders::ParseServiceRequestId(raw["id"].get<std::string>());
    if (!body_id.ok() || *body_id != id) {
      return FhirError(Status(ErrorCode::kInvalidArgument, "ServiceRequest.id: '" + raw["id"].get<std::string>() +
                                                               "' is not the id of the URL (order-" +
                                                               std::to_string(id) + ")"));
    }
  }
  auto in = orders::ParseServiceRequest(req.body);
  if (!in.ok()) return FhirError(in.status());
  const std::string& status = in->fhir_status;
  if (status == "revoked" || status == "entered-in-error") {
    auto r = s.Cancel(id, "ServiceRequest.status " + status, req.identity.user);
    if (!r.ok()) return FhirError(r.status());
    return FhirWithLocation(req, *r, 200);
  }
  const OrderRow given = in->order;
  auto r = s.Update(id, [&](OrderRow& row) -> Status {
    for (const auto& f : kText) {
      if (f.member == &OrderRow::requested_procedure_id || f.member == &OrderRow::procedure_step_id ||
          f.member == &OrderRow::body_part) {
        continue;  // not carried by a ServiceRequest
      }
      if (!(given.*(f.member)).empty()) row.*(f.member) = given.*(f.member);
    }
    if (given.scheduled_at) row.scheduled_at = given.scheduled_at;
    if (given.duration_minutes) row.duration_minutes = given.duration_minutes;
    if (given.booked_at) row.booked_at = given.booked_at;
    return Status::Ok();
  }, req.identity.user);
  if (!r.ok()) return FhirError(r.status());
  return FhirWithLocation(req, *r, 200);
}

// FHIR search (https://hl7.org/fhir/R4/servicerequest.html#search): patient (id or
// Patient/<id>), status (active, completed, revoked; comma = or), identifier ([system|]value:
// placer number or accession), _count.
http::Response FhirSearch(OrderService& s, const http::Request& req) {
  for (const auto& [key, value] : req.query) {
    if (key != "patient" && key != "subject" && key != "status" && key != "identifier" && key != "_count" &&
        key != "_format") {
      return FhirError(Status(ErrorCode::kInvalidArgument,
                              "ServiceRequest search: parameter '" + key +
                                  "' is not supported (patient, status, identifier, _count)"));
    }
  }
  std::vector<OrderRow> rows;
  int64_t count = 100;
  if (const std::string c = Param(req, "_count"); !c.empty()) {
    if (!ParseInt(c, count) || count < 1 || count > kMaxLimit) {
      return FhirError(Status(ErrorCode::kInvalidArgument, "_count: expected 1.." + std::to_string(kMaxLimit)));
    }
  }
  std::string patient = Param(req, "patient");
  if (patient.empty()) patient = Param(req, "subject");
  if (patient.rfind("Patient/", 0) == 0) patient = patient.substr(8);
  std::vector<std::string> statuses;
  for (const auto& st : SplitComma(Param(req, "status"))) {
    if (st == "active") {
      statuses.insert(statuses.end(), {"scheduled", "arrived", "in_progress"});
    } else if (st == "completed") {
      statuses.push_back("completed");
    } else if (st == "revoked") {
      statuses.insert(statuses.end(), {"cancelled", "discontinued", "no_show"});
    } else if (st == "draft" || st == "on-hold" || st == "entered-in-error" || st == "unknown") {
      statuses.push_back("(none)");  // radflow keeps no order in these states
    } else {
      return FhirError(Status(ErrorCode::kInvalidArgument, "status: '" + st + "' is not a ServiceRequest status"));
    }
  }
  const std::string identifier = Param(req, "identifier");
  if (!identifier.empty()) {
    const auto bar = identifier.find('|');
    const std::string value = bar == std::string::npos ? identifier : identifier.substr(bar + 1);
    std::optional<OrderRow> found;
    for (auto finder : {&storage::OrderStore::FindByPlacer, &storage::OrderStore::FindByAccession}) {
      if (found) break;
      auto r = (s.store().*finder)(value);
      if (!r.ok()) return FhirError(r.status());
      found = *r;
    }
    if (found && (patient.empty() || found->patient_id == patient) &&
        (statuses.empty() || std::find(statuses.begin(), statuses.end(), found->status) != statuses.end())) {
      rows.push_back(*found);
    }
    return Fhir(orders::ServiceRequestBundleJson(rows, FhirBase(req), static_cast<int64_t>(rows.size())));
  }
  if (patient.empty() && statuses.empty()) {
    return FhirError(Status(ErrorCode::kInvalidArgument,
                            "ServiceRequest search: give patient, status or identifier"));
  }
  storage::OrderFilter f;
  f.patient_id = patient;
  f.statuses = statuses;
  f.limit = static_cast<int>(count);
  auto total = s.store().CountOrders(f);
  if (!total.ok()) return FhirError(total.status());
  auto list = s.store().ListOrders(f);
  if (!list.ok()) return FhirError(list.status());
  return Fhir(orders::ServiceRequestBundleJson(*list, FhirBase(req), *total));
}

http::Response FhirRead(OrderService& s, const http::Request& req) {
  const std::string id_text = req.path.substr(kFhirSr.size() + 1);
  if (id_text.find('/') != std::string::npos) {
    return FhirError(Status(ErrorCode::kNotFound, "no such resource: " + req.path));
  }
  auto id = orders::ParseServiceRequestId(id_text);
  if (!id.ok()) return FhirError(id.status());
  if (req.method == "PUT") return FhirUpdate(s, req, *id);
  auto o = Existing(s, *id);
  if (!o.ok()) return FhirError(o.status());
  return Fhir(orders::ServiceRequestJson(*o));
}

}  // namespace

std::string OrderJson(const storage::OrderRow& order) { return OrderObject(order).dump(); }

void RegisterOrdersApi(http::HttpServer& server, orders::OrderService& orders) {
  OrderService* s = &orders;
  server.Route("GET", "/api/v1/orders", [s](const http::Request& req) { return ListOrders(*s, req); });
  server.Route("POST", "/api/v1/orders", [s](const http::Request& req) { return CreateOrder(*s, req); });
  for (const char* method : {"GET", "POST", "PATCH"}) {
    server.RoutePrefix(method, kOrders, [s](const http::Request& req) { return OrderRoute(*s, req); });
  }
  server.Route("GET", "/api/v1/protocols", [s](const http::Request&) { return Protocols(*s); });
  server.Route("GET", "/api/v1/reconciliation", [s](const http::Request& req) { return ListUnmatched(*s, req); });
  server.Route("POST", "/api/v1/reconciliation", [s](const http::Request& req) { return Reconcile(*s, req); });
  server.RoutePrefix("GET", kMpps, [s](const http::Request& req) { return Mpps(*s, req); });
  server.Route("GET", kFhirSr, [s](const http::Request& req) { return FhirSearch(*s, req); });
  server.Route("POST", kFhirSr, [s](const http::Request& req) { return FhirCreate(*s, req); });
  for (const char* method : {"GET", "PUT"}) {
    server.RoutePrefix(method, kFhirSr + "/", [s](const http::Request& req) { return FhirRead(*s, req); });
  }
}

}  // namespace radflow::api
