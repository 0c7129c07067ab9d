// The signed report as a DICOM SR: TID 2000 "Basic Diagnostic Imaging Report" (PS3.16) in a
// Comprehensive SR (PS3.3 A.35.3), so that a measurement can cite the AI's TID 1500 SR.
//
// Content tree:
//   CONTAINER (18748-4, LN, "Diagnostic Imaging Report")            TID 2000 row 1, DCMR 2000
//     HAS CONCEPT MOD  CODE Language of Content Item and Descendants  TID 1204 (en-US)
//     HAS OBS CONTEXT  CODE Observer Type = Person; PNAME Person Observer Name   TID 1001/1002
//     HAS CONCEPT MOD  CODE Procedure reported
//     CONTAINS CONTAINER <CID 7001 heading, LOINC>                    one per report section
//       CONTAINS TEXT (121071 Finding | 121073 Impression | ...)      TID 2002 row 3, per paragraph
//         INFERRED FROM NUM <measurement>                             TID 2002 row 4 -> 2001 -> 1404
//           INFERRED FROM COMPOSITE (121112, DCM, "Source of Measurement") -> the TID 1500 SR
//       CONTAINS NUM <measurement>                                    TID 2002 row 5 (sentence not in the text)
//         INFERRED FROM COMPOSITE ... -> the TID 1500 SR
// Header: a new series in the study (Modality SR, SeriesDescription "Radiology report");
// final: CompletionFlag COMPLETE, VerificationFlag VERIFIED, VerifyingObserverSequence;
// preliminary: PreliminaryFlag PRELIMINARY, UNVERIFIED; an addendum lists its predecessor
// in PredecessorDocumentsSequence. Evidence: the study's instances and same-study AI SRs in
// CurrentRequestedProcedureEvidenceSequence, AI SRs of other studies in
// PertinentOtherEvidenceSequence. Patient and study attributes from report.source_file,
// converted to UTF-8 (SpecificCharacterSet ISO_IR 192).
#pragma once

#include <string>

#include "base/status.h"
#include "delivery/signed_report.h"

namespace radflow::delivery {

struct SrWritten {
  std::string path;  // out_dir/<sop_uid>.dcm
  std::string sop_uid;
  std::string series_uid;
  std::string sop_class_uid;  // Comprehensive SR, 1.2.840.10008.5.1.4.1.1.88.33
};

// Writes the SR. kInvalidArgument naming the field (no study_uid, status not
// preliminary|final, a final report without signed_by); kNotFound / kInvalidDicom for the
// source file; kIoError when the file cannot be written.
Result<SrWritten> WriteReportSr(const SignedReport& report, const std::string& out_dir);

}  // namespace radflow::delivery
