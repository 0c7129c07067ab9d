// OrderService::UpsertServiceRequest: a FHIR R4 ServiceRequest (fhir_service_request.h reads
// it) creates the order or changes the one with its placer identifier, else its accession.
// Kept apart from order_service.cpp so that the core links without the FHIR reader.
#include "orders/fhir_service_request.h"
#include "orders/order_service.h"

namespace radflow::orders {

Result<OrderService::Upserted> OrderService::UpsertServiceRequest(const std::string& json, const std::string& user) {
  auto in = ParseServiceRequest(json);
  if (!in.ok()) return in.status();
  storage::OrderRow given = std::move(in->order);
  if (given.source.empty()) given.source = "fhir";
  auto existing = FindExisting(given);
  if (!existing.ok()) return existing.status();
  const std::string& status = in->fhir_status;
  const bool cancel = status == "revoked" || status == "entered-in-error";
  if (!existing->has_value()) {
    if (cancel) {
      return Status(ErrorCode::kNotFound, "ServiceRequest.status: " + status + " for an order radflow does not have");
    }
    auto created = Create(given, user);
    if (!created.ok()) return created.status();
    return Upserted{std::move(created.value()), true};
  }
  const int64_t id = (*existing)->id;
  if (cancel) {
    auto r = Cancel(id, "ServiceRequest.status " + status, user);
    if (!r.ok()) return r.status();
    return Upserted{std::move(r.value()), false};
  }
  auto r = Update(id, [&](storage::OrderRow& row) -> Status {
    // A PUT replaces what it carries; what it leaves out stays as it was.
    for (auto f : {&storage::OrderRow::placer_order_number, &storage::OrderRow::accession_number,
                    &storage::OrderRow::patient_id, &storage::OrderRow::issuer_of_patient_id,
                    &storage::OrderRow::patient_name, &storage::OrderRow::birth_date, &storage::OrderRow::sex,
                    &storage::OrderRow::procedure_code, &storage::OrderRow::procedure_scheme,
                    &storage::OrderRow::procedure_text, &storage::OrderRow::modality, &storage::OrderRow::priority,
                    &storage::OrderRow::reason, &storage::OrderRow::referring_physician,
                    &storage::OrderRow::station_ae, &storage::OrderRow::station_name}) {
      if (!(given.*f).empty()) row.*f = given.*f;
    }
    if (given.scheduled_at) row.scheduled_at = given.scheduled_at;
    if (given.duration_minutes) row.duration_minutes = given.duration_minutes;
    return Status::Ok();
  }, user);
  if (!r.ok()) return r.status();
  return Upserted{std::move(r.value()), false};
}

}  // namespace radflow::orders
