// Query/Retrieve SCU (PS3.4 Annex C): radflow asking a remote archive for a patient's
// studies (C-FIND, C.4.1) and having one moved to a destination AE (C-MOVE, C.4.2) — the
// prior-study prefetch. Each call opens its own association and releases it; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "dimse/dimse_server.h"

namespace radflow::dimse {

// One STUDY-level C-FIND match, as the remote returned it ("" for a key it left empty).
struct RemoteStudy {
  std::string study_uid, patient_id, issuer_of_patient_id, study_date, study_time,
      modalities /* '\\'-joined */, study_description, accession_number,
      body_part /* from BodyPartExamined if returned, else "" */;
  int num_instances = 0;
};

// C-FIND (Study Root, STUDY level) for one patient's studies at `remote`, as AE
// `calling_aet`; issuer empty = any. Returns the matches whose PatientID is exactly
// `patient_id` (and whose IssuerOfPatientID, when the remote returns one, is `issuer`):
// an archive that matches more loosely never brings in another patient's study.
// Errors: kInvalidArgument for an empty patient_id or one with a wildcard ('*', '?'),
// which would match other patients (PS3.4 C.2.2.2.4); kUnavailable when the association
// fails or the remote answers a failure status (the message names the remote and status).
radflow::Result<std::vector<RemoteStudy>> FindPatientStudies(const RemoteAe& remote,
                                                            const std::string& calling_aet,
                                                            const std::string& patient_id,
                                                            const std::string& issuer);

// C-MOVE (Study Root, STUDY level) of one study from `remote` to `destination_aet`
// (which the remote must know as a modality). Returns the final response's completed /
// failed / warning sub-operation counts — also for Warning 0xB000 (some failed). A study
// the remote does not hold is a failure status at Orthanc (0xC000, as is an unknown
// destination); other archives may answer Success with 0 completed. Errors:
// kInvalidArgument for a malformed UID or AE title; kUnavailable when the association
// fails or the remote answers a failure or cancel status (the message names the remote and
// the DIMSE status).
struct MoveOutcome {
  int completed = 0, failed = 0, warning = 0;
};
radflow::Result<MoveOutcome> MoveStudy(const RemoteAe& remote, const std::string& calling_aet,
                                       const std::string& study_uid,
                                       const std::string& destination_aet);

}  // namespace radflow::dimse
