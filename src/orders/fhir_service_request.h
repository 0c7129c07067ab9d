// FHIR R4 ServiceRequest (http://hl7.org/fhir/R4/servicerequest.html) for imaging orders,
// with the patient as a contained or referenced Patient. Pure: JSON text in and out.
// The field mapping is the table in docs/orders.md ("REST and FHIR").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
// A searchset Bundle of orders (FHIR R4 Bundle; fullUrl = base_url + "/ServiceRequest/order-<id>").
std::string ServiceRequestBundleJson(const std::vector<storage::OrderRow>& orders, const std::string& base_url,
                                     int64_t total);
// "order-12" or "12" -> 12; kNotFound otherwise.
Result<int64_t> ParseServiceRequestId(const std::string& id);

// FHIR dateTime -> unix ms (a time with Z/±hh:mm is exact; without a zone, or a date alone,
// it is the hub's local time; a date alone is its midnight).
Result<int64_t> ParseFhirDateTime(const std::string& text);
// FHIR request priority <-> DICOM RequestedProcedurePriority: stat→STAT, urgent/asap→HIGH,
// routine (or none)→ROUTINE; back STAT→stat, HIGH→urgent, else routine.
Result<std::string> PriorityOfFhir(const std::string& fhir_priority);
std::string FhirOfPriority(const std::string& dicom_priority);
// Order status -> ServiceRequest.status: completed→completed; cancelled, discontinued,
// no_show→revoked; scheduled, arrived, in_progress→active.
std::string FhirStatusOf(const std::string& order_status);

}  // namespace radflow::orders
