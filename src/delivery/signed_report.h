// A signed report as delivery sees it (issue 13, "Signing and delivery"): everything the
// DICOM SR (sr_tid2000.h), the FHIR resources (fhir.h) and the HL7 ORU^R01 (oru.h) are made
// of. Filled by the reporting service at signing; plain data, no storage types.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "report/model.h"

namespace radflow::delivery {

// One stored instance (for the SR's evidence sequences, PS3.3 C.17.2.2/3).
struct InstanceRef {
  std::string study_uid, series_uid, sop_class_uid, sop_instance_uid;
};

struct SignedReport {
  int64_t report_id = 0;
  int version = 1;
  std::string status;                    // preliminary | final
  bool corrected = false;                // a new version (addendum) of a report that was final
  std::string signed_by;                 // the reader who signed (the signed-in user), as a DICOM PN or a plain name
  int64_t signed_at = 0;                 // ms since the epoch; 0: now
  std::string author;                    // who wrote the draft ('' = signed_by)
  std::string organization = "radflow";  // the signer's organization (VerifyingOrganization, LO)
  std::string template_id, template_title;
  // (title, text) of the template's other sections (History, Technique, Comparison, ...); a
  // section whose text equals findings_text or impression_text is not repeated.
  std::vector<std::pair<std::string, std::string>> sections;
  std::string findings_text, impression_text, critical_communicated;
  std::vector<report::Proposal> accepted;                   // accepted/edited proposals, decision values applied
  std::string predecessor_sop_uid, predecessor_series_uid;  // the SR of the version this one replaces
  std::string predecessor_sop_class_uid;                    // '' = Comprehensive SR (radflow's own)
  // The study.
  std::string study_uid, patient_id, issuer_of_patient_id, patient_name, birth_date, sex, accession_number, study_date,
      study_time, study_description, referring_physician, modalities;
  std::string source_file;  // one stored instance of the study, for patient/study attributes
  // Optional extras.
  std::vector<InstanceRef> evidence;                  // the study's instances (CurrentRequestedProcedureEvidence);
                                                      // empty: the source file's instance only
  std::map<std::string, std::string> sr_sop_classes;  // AI SR SOP Instance UID -> SOP Class UID;
                                                      // absent: Comprehensive 3D SR (radflow apps)
  std::string sr_sop_uid;                             // this report's own SR once written (FHIR identifier); '' unknown
};

// A measurement of an accepted finding as delivered: the finding's measurements, plus its
// long axis (size_mm, SCT 103339001) and volume (volume_ml, SCT 118565006) when set and not
// already among them.
struct DeliveredMeasurement {
  report::Measurement measurement;
  const report::Proposal* proposal = nullptr;  // the finding it belongs to
};
std::vector<DeliveredMeasurement> AcceptedMeasurements(const SignedReport& report);

// The report as plain text (FHIR presentedForm, the HL7 TX lines): the title, each section as
// "TITLE:\n" + text, FINDINGS, IMPRESSION, the critical-result communication, and the
// signature line. Lines end with "\n".
std::string ReportText(const SignedReport& report);

// One heading of the report in order, with its LOINC code (CID 7001, Diagnostic Imaging
// Report Heading); the same list drives the SR's containers and the ORU's OBX groups.
struct ReportSection {
  std::string code, meaning;  // LOINC, e.g. 59776-5 "Findings"
  std::string title;          // as shown in the text
  std::string text;
  bool findings = false;  // the section holding findings_text and the measurements
};
std::vector<ReportSection> ReportSections(const SignedReport& report);

// A DICOM PN "Family^Given^Middle^Prefix^Suffix" as a display name "Prefix Given Middle Family
// Suffix"; a name without '^' as it is (trimmed).
std::string PersonDisplay(const std::string& pn);

// UCUM unit -> display ("mm" -> "millimeter"); the code itself when unknown.
std::string UcumMeaning(const std::string& unit);
// The signing time: signed_at, or now when 0 (ms since the epoch).
int64_t SignedAtMs(const SignedReport& report);

}  // namespace radflow::delivery
