// REST and FHIR API of the orders (docs/orders.md, "REST and FHIR"; roles by the access
// rules: clinical staff read, administrator and technologist change):
//
//   GET   /api/v1/orders?status=a,b&station=&modality=&from=&to=&patient=&patient_name=&accession=&limit=&offset=
//                                           → {"total","items":[order]}
//   POST  /api/v1/orders                    order fields → 201 order
//   GET   /api/v1/orders/{id}               order + "audit"
//   PATCH /api/v1/orders/{id}               the fields given replace → order
//   POST  /api/v1/orders/{id}/cancel        {"reason"}
//   POST  /api/v1/orders/{id}/status        {"status":"arrived|no_show|scheduled"}
//   POST  /api/v1/orders/{id}/protocol      {"action":"accept"} | {"action":"change","protocol_code","protocol_name"}
//   POST  /api/v1/orders/{id}/reminder      {"sent":true|false}
//   GET   /api/v1/orders/{id}/audit         {"audit":[...]}
//   GET   /api/v1/protocols                 {"rules":[...]} (one per protocol code)
//   GET   /api/v1/reconciliation?all=0|1    {"items":[unmatched study]}
//   POST  /api/v1/reconciliation            {"study_uid","order_id"} (0: dismiss)
//   GET   /api/v1/mpps/{uid}                one performed procedure step
//   POST  /api/v1/fhir/ServiceRequest       → 201 (created) or 200 (an existing order changed)
//   PUT   /api/v1/fhir/ServiceRequest/{id}, GET /api/v1/fhir/ServiceRequest/{id}
//   GET   /api/v1/fhir/ServiceRequest?patient=&status=&identifier=   → searchset Bundle
//
// An order in JSON is storage::OrderRow with the same snake_case names (times unix ms).
// Unknown members of a request body (the web client's "reader") are ignored. The user is
// req.identity.user (audited by the order service).
#pragma once

#include "http/http_server.h"
#include "orders/order_service.h"

namespace radflow::api {

void RegisterOrdersApi(http::HttpServer& server, orders::OrderService& orders);

// The order's JSON object text (as the API returns it; tests and other adapters).
std::string OrderJson(const storage::OrderRow& order);

}  // namespace radflow::api
