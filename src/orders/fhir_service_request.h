// FHIR R4 ServiceRequest (http://hl7.org/fhir/R4/servicerequest.html) for imaging orders,
// with the patient as a contained or referenced Patient. Pure: JSON text in and out.
#pragma once

#include <string>

#include "base/status.h"
#include "storage/order_store.h"

namespace radflow::orders {

// Reads a ServiceRequest (status, intent "order", code, priority routine|urgent|asap|stat,
// subject, requester, reasonCode/reasonReference text, occurrenceDateTime/occurrencePeriod,
// identifier: placer (type PLAC) and accession (type ACSN), performer/locationCode for the
// station). kInvalidArgument naming the JSON path ("ServiceRequest.code: missing").
// `status` is active | revoked (cancel) | completed | on-hold | draft | entered-in-error.
struct ServiceRequestIn {
  storage::OrderRow order;
  std::string fhir_status;
};
Result<ServiceRequestIn> ParseServiceRequest(const std::string& json);
// The order as a ServiceRequest with id "order-<id>".
std::string ServiceRequestJson(const storage::OrderRow& order);

}  // namespace radflow::orders
