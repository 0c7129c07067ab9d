// The signed report as FHIR R4 resources (hl7.org/fhir/R4): a DiagnosticReport (category
// RAD, v2-0074), one Observation per accepted AI measurement, and the ImagingStudy they
// derive from; bundles of them. JSON only; serving them is the REST API's (report_api.cpp).
//
// Resource ids (R4 id: [A-Za-z0-9\-\.]{1,64}): DiagnosticReport "<report_id>", Observation
// "<report_id>-<n>" (n from 1, in AcceptedMeasurements order), ImagingStudy the Study
// Instance UID itself (digits and dots, at most 64 characters by PS3.5 9.1) — see
// ImagingStudyId for UIDs that break the rule.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "delivery/signed_report.h"

namespace radflow::delivery {

// The FHIR id of a study: the UID when it fits the id rule; otherwise its characters outside
// [A-Za-z0-9.-] replaced by '-' and, when longer than 64, the first 47 characters + '-' + 16
// hex digits of the UID's 64-bit FNV-1a hash (deterministic, collisions ~2^-64).
std::string ImagingStudyId(const std::string& study_uid);
// "<report_id>", "<report_id>-<n>".
std::string DiagnosticReportId(const SignedReport& report);
std::string ObservationId(const SignedReport& report, int n);

// status: preliminary | final | amended (an addendum of a final report: corrected = true).
nlohmann::json DiagnosticReportResource(const SignedReport& report);
nlohmann::json ObservationResources(const SignedReport& report);  // array, maybe empty
nlohmann::json ImagingStudyResource(const SignedReport& report);

// A Bundle of the DiagnosticReport, its Observations and the ImagingStudy, fullUrl
// "<base_url>/<type>/<id>" (base_url without a trailing '/', e.g.
// "http://host:8042/api/v1/fhir"). type "collection", or "searchset" (search.mode "match" for
// the report, "include" for the others, total 1).
nlohmann::json DiagnosticReportBundle(const SignedReport& report, const std::string& base_url,
                                      const std::string& type = "collection");
// A searchset Bundle of several reports (GET DiagnosticReport?study=|patient=): each report
// "match", its Observations and ImagingStudy "include" (each ImagingStudy once); total = the
// number of reports; link self = self_url when given.
nlohmann::json SearchsetBundle(const std::vector<SignedReport>& reports, const std::string& base_url,
                               const std::string& self_url = "");

// An OperationOutcome with one issue (severity error|warning|information, code e.g.
// "not-found", "invalid", "exception"), for the REST API's errors.
nlohmann::json OperationOutcome(const std::string& severity, const std::string& code, const std::string& diagnostics);

// FHIR primitive formats (R4 2.24): instant "2024-05-01T12:00:00.000Z" for ms since the epoch;
// dateTime from DICOM DA + TM — "YYYY-MM-DD" when there is no time, else
// "YYYY-MM-DDThh:mm:ss" with the server's UTC offset for that date (DICOM times are local);
// "" when the date is not a valid DA.
std::string FhirInstant(int64_t unix_ms);
std::string FhirDateTime(const std::string& dicom_date, const std::string& dicom_time);
// The FHIR system URI of a DICOM/HL7 coding scheme designator (SCT, LN, DCM, UCUM, RADLEX,
// ...); "urn:radflow:scheme:<designator>" for the others.
std::string CodeSystemUri(const std::string& scheme);

}  // namespace radflow::delivery
