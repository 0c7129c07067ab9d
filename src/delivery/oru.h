// The signed report as an HL7 v2.5.1 ORU^R01 (Chapter 7, "Observation Reporting"), and
// ORU^R01 reports from other systems read back into radflow's terms.
//
// Built message (one report, original-mode acknowledgment):
//   MSH  MSH-9 ORU^R01^ORU_R01, MSH-11 P, MSH-12 2.5.1, MSH-18 UNICODE UTF-8
//   PID  PID-3 patient id ^^^ issuer (CX.4 assigning authority: an OID as &oid&ISO, else the
//        namespace) ^ MR; PID-5 name (DICOM PN -> XPN), PID-7 birth date, PID-8 sex
//   PV1  PV1-2 patient class (OruOptions.patient_class, default U "unknown", table 0004)
//   ORC  ORC-1 RE, ORC-3 accession, ORC-5 CM (F, C) or IP (P)
//   OBR  OBR-3 filler order = accession, OBR-4 18748-4^Diagnostic imaging study^LN (+ the study
//        description as alternate text), OBR-7 study date/time, OBR-16 referring physician,
//        OBR-18 accession (IHE placer field 1), OBR-22 signing time, OBR-24 RAD, OBR-25 P|F|C,
//        OBR-32 principal result interpreter (the signer)
//   OBX  HD 113014^DICOM Study^DCM = Study Instance UID, OBX-11 O (IHE RAD TF-2 Table 4.7-7,
//        as the IHE MESA tools check and dcm4chee-arc sends)
//   OBX  TX per line of each section, OBX-3 the section's LOINC heading (59776-5 Findings,
//        19005-8 Impressions, ...), OBX-4 the section number, OBX-11 P|F|C
//   OBX  NM per accepted measurement: OBX-3 its code, OBX-4 "<section>.<finding>", OBX-5 the
//        value, OBX-6 unit^meaning^UCUM, OBX-11 P|F|C; then NTE naming the AI app and version
#pragma once

#include <string>

#include "base/status.h"
#include "delivery/signed_report.h"

namespace radflow::delivery {

struct OruOptions {
  std::string sending_application = "RADFLOW", sending_facility;
  std::string receiving_application, receiving_facility;
  std::string patient_class = "U";  // PV1-2 (table 0004): U unknown, O outpatient, ...
  std::string processing_id = "P";  // MSH-11: P production, T training, D debugging
};

// The ORU^R01 text (segments ended by <CR>). result_status 'P' | 'F' | 'C'; any other value
// is derived from the report (corrected -> C, final -> F, else P).
std::string BuildOruR01(const SignedReport& report, const OruOptions& options, char result_status,
                        const std::string& control_id);

struct ExternalReport {
  std::string patient_id, issuer_of_patient_id;
  std::string patient_name;                           // as a DICOM PN (Family^Given^Middle^Prefix^Suffix)
  std::string accession_number;                       // OBR-18, else OBR-3, else ORC-3
  std::string study_uid;                              // OBX 113014 (any value type), else ZDS-1
  std::string status;                                 // preliminary | final | corrected (OBR-25, else OBX-11)
  std::string text;                                   // TX/FT/ST/CE OBX values, a line each; NM as "name: value unit"
  std::string author;                                 // OBR-32 (else OBX-16) as a PN or an id
  std::string observed_at;                            // YYYYMMDDHHMMSS from OBR-7 (else OBR-22, MSH-7); '' none
  std::string control_id;                             // MSH-10
  std::string filler_order_number;                    // OBR-3.1
  std::string sending_application, sending_facility;  // MSH-3.1, MSH-4.1
};

// Reads an inbound ORU^R01. kInvalidArgument naming the segment and field:
// "MSH-9: expected ORU^R01, got ADT^A01", "PID: missing segment", "PID-3: missing patient
// identifier", "OBR-25: unknown result status 'X'", "OBX: no report text"; the message
// parser's errors as they are. hl7::ErrorLocation(status.message()) gives ERR-2.
Result<ExternalReport> ParseOruR01(const std::string& message);

}  // namespace radflow::delivery
