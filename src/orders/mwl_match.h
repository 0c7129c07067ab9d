// Modality Worklist matching (PS3.4 K.6.1.2 and C.2.2.2): which orders answer a C-FIND of the
// Modality Worklist Information Model. Pure: the query's keys as strings, the orders as rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/order_store.h"

namespace radflow::orders {

// The matching keys of a Modality Worklist query; "" means universal (no constraint).
// Values keep DICOM's forms: wildcards '*' and '?' in AE, CS, LO, PN, SH (C.2.2.2.4), a
// date range "YYYYMMDD-YYYYMMDD" (open ends allowed) for dates, "HHMMSS-HHMMSS" for times
// (C.2.2.2.5), '\'-separated lists for UID list matching.
struct WorklistQuery {
  // Scheduled Procedure Step Sequence (0040,0100) item keys.
  std::string station_ae;          // (0040,0001) ScheduledStationAETitle
  std::string modality;            // (0008,0060)
  std::string start_date;          // (0040,0002) ScheduledProcedureStepStartDate
  std::string start_time;          // (0040,0003)
  std::string performing_physician;  // (0040,0006)
  std::string step_id;             // (0040,0009)
  std::string step_status;         // (0040,0020) SCHEDULED | ARRIVED | READY | STARTED ...
  // Top-level keys.
  std::string patient_id;          // (0010,0020)
  std::string issuer_of_patient_id;  // (0010,0021)
  std::string patient_name;        // (0010,0010)
  std::string accession_number;    // (0008,0050)
  std::string requested_procedure_id;  // (0040,1001)
  std::string study_uid;           // (0020,000D)
  std::string referring_physician; // (0008,0090)
  std::string priority;            // (0040,1003) RequestedProcedurePriority
  std::string patient_sex;         // (0010,0040)
  std::string birth_date;          // (0010,0030) a date or a date range
};

// Whether `order` answers `query`. Dates and times are compared in the hub's local time
// zone (the scheduled time is stored in UTC; the modality works in local time). A key with
// a value never matches an attribute the order has no value for (C.2.2.2); "*" alone is
// universal (C.2.2.2.4). A multi-valued attribute of the order (ScheduledStationAETitle
// "CT1\CT2") matches when one of its values does.
bool Matches(const WorklistQuery& query, const storage::OrderRow& order);

// Malformed keys (a date range that is not one, a time with letters) name the attribute:
// kInvalidArgument, answered 0xA900 by the SCP (PS3.4 C.4.1.1.4).
Status ValidateQuery(const WorklistQuery& query);

// DICOM wildcard matching (C.2.2.2.4): '*' any run, '?' one character; case-sensitive except
// for PN, which this function treats case-insensitively when `pn` is true (C.2.2.2.1 lets
// PN matching ignore case; modality operators type names in either).
bool WildcardMatch(const std::string& pattern, const std::string& value, bool pn = false);

// Range matching of DA or TM values (C.2.2.2.5): "A", "A-B", "-B", "A-". Times may be
// partial ("1200") and carry fractions; a partial upper bound covers its whole unit
// ("-12" is up to 12:59:59.999999). False when `value` is empty or the key malformed.
bool DateMatch(const std::string& key, const std::string& value);
bool TimeMatch(const std::string& key, const std::string& value);

// The values of a multi-valued string ("A\B\C"); one empty value for "".
std::vector<std::string> SplitValues(const std::string& value);

// The ScheduledProcedureStepStatus of an order's status (PS3.3 C.4.10: SCHEDULED, ARRIVED,
// READY, STARTED, DEPARTED, CANCELED ...); '' for no_show (no defined term).
std::string StepStatusOf(const std::string& order_status);

// Local date (YYYYMMDD) and time (HHMMSS) of a unix ms time, in the process's time zone (TZ).
std::string LocalDicomDate(int64_t unix_ms);
std::string LocalDicomTime(int64_t unix_ms);
// The inverse: DICOM DA + TM in local time to unix ms; -1 when not a date. An empty or
// partial time counts from midnight / the missing parts as 0.
int64_t FromLocalDicom(const std::string& da, const std::string& tm);

}  // namespace radflow::orders
