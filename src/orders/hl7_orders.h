// HL7 v2.5.1 orders and patients (Chapter 3 ADT, Chapter 4 ORM^O01, Chapter 4A OMI^O23)
// mapped to the store's rows. Pure functions: a parsed message in, rows out, or
// kInvalidArgument whose message starts with the segment and field ("PID-3: ...",
// "OBR-4: ...", "ORC-1: ...") so that hl7::ErrorLocation() can name it in ERR-2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "hl7/message.h"
#include "storage/order_store.h"

namespace radflow::orders {

// ADT^A04 (register), ADT^A08 (update), ADT^A40 (merge: PID the surviving patient, MRG-1
// the one merged away); A01/A05/A28/A31 are read as A04/A08.
struct AdtEvent {
  std::string trigger;  // A04 | A08 | A40
  storage::PatientRow patient;
  std::string merge_from_id, merge_from_issuer;  // A40 (the first PID/MRG pair)
  // A40 may repeat its patient group (ADT_A39: {PID, [PD1], MRG, [PV1]}): every pair, the
  // first equal to patient / merge_from_*.
  struct Merge {
    storage::PatientRow patient;
    std::string from_id, from_issuer;
  };
  std::vector<Merge> merges;
};
Result<AdtEvent> ParseAdt(const hl7::Message& message);

// ORM^O01 and OMI^O23: one order per ORC/OBR (ORM) or ORC/TQ1/OBR/IPC (OMI) group.
// ORC-1: NW new, XO/XX change, CA/OC/DC cancel, SC status change (ORC-5).
struct OrderEvent {
  std::string control;  // NW | XO | CA | SC (XX read as XO; OC, DC as CA)
  storage::OrderRow order;
  std::string order_status;  // ORC-5 for SC (IP, CM, CA, HD, SC)
  std::string control_as_sent;  // ORC-1 as the message had it (XX, OC, DC, ...)
  std::string control_reason;   // ORC-16 text (why cancelled or changed)
};
Result<std::vector<OrderEvent>> ParseOrders(const hl7::Message& message);

// HL7 priority (TQ1-9 / OBR-27.6 / ORC-7.6: S, A, R, P, C, T) or DICOM text to
// RequestedProcedurePriority (STAT, HIGH, ROUTINE, MEDIUM, LOW); "" unknown.
std::string PriorityFromHl7(const std::string& value);

// HL7 DTM (2.A.22) "YYYYMMDD[HH[MM[SS[.S[S[S[S]]]]]]][+/-ZZZZ]" to unix ms: with an offset
// exact, without it the hub's local time (process TZ). nullopt when not a valid DTM.
std::optional<int64_t> ParseHl7Time(std::string_view value);

}  // namespace radflow::orders
