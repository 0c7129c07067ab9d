// Query/Retrieve SCU: C-FIND (PS3.4 C.4.1) and C-MOVE (PS3.4 C.4.2), Study Root, STUDY
// level, each over its own association to the remote archive.
#include "dimse/query_scu.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/diutil.h>
#include <dcmtk/dcmnet/dimse.h>
#include <dcmtk/dcmnet/dul.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "dicom/charset.h"
#include "dicom/instance.h"

namespace radflow::dimse {

namespace {

constexpr int kConnectTimeoutSeconds = 30;  // TCP connect and A-ASSOCIATE-AC
constexpr int kFindTimeoutSeconds = 30;     // between two C-FIND responses
// Between two C-MOVE responses: an archive may send only the final one, after every
// sub-operation of a large study.
constexpr int kMoveTimeoutSeconds = 120;

std::string Hex(Uint16 v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04X", v);
  return buf;
}

std::string Describe(const RemoteAe& r) {
  return r.ae_title + " (" + r.host + ":" + std::to_string(r.port) + ")";
}

Status PrepareDcmtk() {
  static std::once_flag once;
  std::call_once(once, [] {
    // As for the SCP (dimse_server.cpp): DCMTK leaves Nagle on unless TCP_NODELAY is set,
    // and each request would wait for a delayed ACK.
    if (!std::getenv("TCP_NODELAY")) setenv("TCP_NODELAY", "1", 0);
    // DCMTK's connect() blocks for the OS's timeout (minutes) unless this is set; it is
    // process-wide, so the C-MOVE SCP's store associations get it as well.
    if (dcmConnectionTimeout.get() < 0) dcmConnectionTimeout.set(kConnectTimeoutSeconds);
  });
  if (!dcmDataDict.isDictionaryLoaded()) {
    return {ErrorCode::kInternal, "DCMTK data dictionary not loaded (DCMDICTPATH?)"};
  }
  return Status::Ok();
}

// One requestor association with a single presentation context for `sop_class`; aborted
// on a DIMSE error, released otherwise.
class ScuAssociation {
 public:
  ~ScuAssociation() {
    if (assoc_) {
      if (abort_ || ASC_releaseAssociation(assoc_).bad()) ASC_abortAssociation(assoc_);
      ASC_destroyAssociation(&assoc_);
    }
    if (net_) ASC_dropNetwork(&net_);
  }

  Status Open(const RemoteAe& remote, const std::string& calling_aet, const char* sop_class,
              const char* service) {
    RADFLOW_RETURN_IF_ERROR(PrepareDcmtk());
    auto fail = [&](const std::string& why) {
      return Status(ErrorCode::kUnavailable,
                    std::string(service) + " association with " + Describe(remote) + " failed: " + why);
    };
    OFCondition cond = ASC_initializeNetwork(NET_REQUESTOR, 0, kConnectTimeoutSeconds, &net_);
    if (cond.bad()) return fail(cond.text());
    T_ASC_Parameters* params = nullptr;
    cond = ASC_createAssociationParameters(&params, ASC_DEFAULTMAXPDU);
    if (cond.bad()) return fail(cond.text());
    ASC_setAPTitles(params, calling_aet.c_str(), remote.ae_title.c_str(), nullptr);
    std::string address = remote.host + ":" + std::to_string(remote.port);
    ASC_setPresentationAddresses(params, OFStandard::getHostName().c_str(), address.c_str());
    const char* syntaxes[] = {UID_LittleEndianExplicitTransferSyntax,
                              UID_LittleEndianImplicitTransferSyntax};
    cond = ASC_addPresentationContext(params, 1, sop_class, syntaxes, 2);
    if (cond.bad()) {
      ASC_destroyAssociationParameters(&params);
      return fail(cond.text());
    }
    cond = ASC_requestAssociation(net_, params, &assoc_);
    if (cond.bad()) {
      std::string why = cond.text();
      if (cond == DUL_ASSOCIATIONREJECTED && assoc_) {
        T_ASC_RejectParameters rej;
        ASC_getRejectParameters(assoc_->params, &rej);
        OFString text;
        why = "rejected: " + std::string(ASC_printRejectParameters(text, &rej).c_str());
      }
      if (assoc_) ASC_destroyAssociation(&assoc_);
      else ASC_destroyAssociationParameters(&params);
      return fail(why);
    }
    pres_ = ASC_findAcceptedPresentationContextID(assoc_, sop_class);
    if (pres_ == 0) return fail(std::string("the Query/Retrieve SOP class was not accepted"));
    return Status::Ok();
  }

  T_ASC_Association* get() { return assoc_; }
  T_ASC_PresentationContextID pres() const { return pres_; }
  void MarkBroken() { abort_ = true; }

 private:
  T_ASC_Network* net_ = nullptr;
  T_ASC_Association* assoc_ = nullptr;
  T_ASC_PresentationContextID pres_ = 0;
  bool abort_ = false;
};

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  size_t b = s.find_first_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b);
}

std::string Value(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  if (item.findAndGetOFStringArray(tag, v).bad()) return "";
  return Trimmed(v.c_str());
}

int IntValue(DcmItem& item, const DcmTagKey& tag) {
  std::string s = Value(item, tag);
  int n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

// "status 0xC000 (Failed: UnableToProcess): <ErrorComment>"
std::string StatusText(Uint16 status, const char* name, DcmDataset* detail) {
  std::string text = "status " + Hex(status) + " (" + name + ")";
  if (detail) {
    std::string comment = Value(*detail, DCM_ErrorComment);
    if (!comment.empty()) text += ": " + comment;
  }
  return text;
}

struct FindContext {
  std::vector<RemoteStudy>* studies;
  const std::string* patient_id;
  const std::string* issuer;
};

void FindCallback(void* data, T_DIMSE_C_FindRQ*, int, T_DIMSE_C_FindRSP*, DcmDataset* ids) {
  auto* ctx = static_cast<FindContext*>(data);
  if (!ids) return;
  dicom::ConvertToUtf8(*ids);  // bytes it cannot decode become U+FFFD
  RemoteStudy s;
  s.study_uid = Value(*ids, DCM_StudyInstanceUID);
  s.patient_id = Value(*ids, DCM_PatientID);
  s.issuer_of_patient_id = Value(*ids, DCM_IssuerOfPatientID);
  if (s.study_uid.empty() || s.patient_id != *ctx->patient_id) return;
  if (!ctx->issuer->empty() && !s.issuer_of_patient_id.empty() &&
      s.issuer_of_patient_id != *ctx->issuer) {
    return;
  }
  s.study_date = Value(*ids, DCM_StudyDate);
  s.study_time = Value(*ids, DCM_StudyTime);
  s.modalities = Value(*ids, DCM_ModalitiesInStudy);
  s.study_description = Value(*ids, DCM_StudyDescription);
  s.accession_number = Value(*ids, DCM_AccessionNumber);
  s.body_part = Value(*ids, DCM_BodyPartExamined);
  s.num_instances = IntValue(*ids, DCM_NumberOfStudyRelatedInstances);
  ctx->studies->push_back(std::move(s));
}

// The last pending response's counts, for a final response that leaves them out.
void MoveCallback(void* data, T_DIMSE_C_MoveRQ*, int, T_DIMSE_C_MoveRSP* rsp) {
  auto* out = static_cast<MoveOutcome*>(data);
  if (rsp->opts & O_MOVE_NUMBEROFCOMPLETEDSUBOPERATIONS) out->completed = rsp->NumberOfCompletedSubOperations;
  if (rsp->opts & O_MOVE_NUMBEROFFAILEDSUBOPERATIONS) out->failed = rsp->NumberOfFailedSubOperations;
  if (rsp->opts & O_MOVE_NUMBEROFWARNINGSUBOPERATIONS) out->warning = rsp->NumberOfWarningSubOperations;
}

}  // namespace

radflow::Result<std::vector<RemoteStudy>> FindPatientStudies(const RemoteAe& remote,
                                                            const std::string& calling_aet,
                                                            const std::string& patient_id,
                                                            const std::string& issuer) {
  // PS3.4 C.2.2.2.4: '*' and '?' are wildcards in an LO key, and an empty key matches
  // every patient; neither may widen a prefetch to other patients.
  if (patient_id.empty() || patient_id.find_first_of("*?\\") != std::string::npos ||
      issuer.find_first_of("*?\\") != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument,
                  "C-FIND needs one exact PatientID (and issuer), got '" + patient_id + "'");
  }
  ScuAssociation assoc;
  RADFLOW_RETURN_IF_ERROR(
      assoc.Open(remote, calling_aet, UID_FINDStudyRootQueryRetrieveInformationModel, "C-FIND"));

  // PS3.4 C.4.1.1.3: the matching keys (PatientID, IssuerOfPatientID) and the return keys
  // (universal: empty). BodyPartExamined is a series attribute some archives return at
  // STUDY level (an optional key the others ignore or return empty, C.4.1.1.3.2).
  DcmDataset keys;
  keys.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
  keys.putAndInsertString(DCM_PatientID, patient_id.c_str());
  if (!issuer.empty()) keys.putAndInsertString(DCM_IssuerOfPatientID, issuer.c_str());
  for (const DcmTagKey& tag : {DCM_StudyInstanceUID, DCM_StudyDate, DCM_StudyTime,
                               DCM_ModalitiesInStudy, DCM_StudyDescription, DCM_AccessionNumber,
                               DCM_NumberOfStudyRelatedInstances, DCM_BodyPartExamined}) {
    keys.insertEmptyElement(tag);
  }
  if (issuer.empty()) keys.insertEmptyElement(DCM_IssuerOfPatientID);

  T_DIMSE_C_FindRQ req;
  std::memset(&req, 0, sizeof req);
  req.MessageID = assoc.get()->nextMsgID++;
  OFStandard::strlcpy(req.AffectedSOPClassUID, UID_FINDStudyRootQueryRetrieveInformationModel,
                      sizeof req.AffectedSOPClassUID);
  req.DataSetType = DIMSE_DATASET_PRESENT;
  req.Priority = DIMSE_PRIORITY_MEDIUM;
  T_DIMSE_C_FindRSP rsp;
  std::memset(&rsp, 0, sizeof rsp);
  DcmDataset* detail = nullptr;
  std::vector<RemoteStudy> studies;
  FindContext ctx{&studies, &patient_id, &issuer};
  int responses = 0;
  OFCondition cond = DIMSE_findUser(assoc.get(), assoc.pres(), &req, &keys, responses,
                                    FindCallback, &ctx, DIMSE_NONBLOCKING, kFindTimeoutSeconds,
                                    &rsp, &detail);
  std::unique_ptr<DcmDataset> detail_owner(detail);
  if (cond.bad()) {
    assoc.MarkBroken();
    std::string why = cond == DIMSE_NODATAAVAILABLE
                          ? "no response within " + std::to_string(kFindTimeoutSeconds) + " s"
                          : std::string(cond.text());
    return Status(ErrorCode::kUnavailable, "C-FIND at " + Describe(remote) + " failed: " + why);
  }
  if (rsp.DimseStatus != STATUS_FIND_Success) {
    return Status(ErrorCode::kUnavailable,
                  "C-FIND at " + Describe(remote) + " failed: " +
                      StatusText(rsp.DimseStatus, DU_cfindStatusString(rsp.DimseStatus), detail));
  }
  return studies;
}

radflow::Result<MoveOutcome> MoveStudy(const RemoteAe& remote, const std::string& calling_aet,
                                       const std::string& study_uid,
                                       const std::string& destination_aet) {
  if (!dicom::IsValidUid(study_uid)) {
    return Status(ErrorCode::kInvalidArgument, "not a StudyInstanceUID: '" + study_uid + "'");
  }
  if (destination_aet.empty() || destination_aet.size() > 16) {
    return Status(ErrorCode::kInvalidArgument, "invalid move destination AE title '" + destination_aet + "'");
  }
  ScuAssociation assoc;
  RADFLOW_RETURN_IF_ERROR(
      assoc.Open(remote, calling_aet, UID_MOVEStudyRootQueryRetrieveInformationModel, "C-MOVE"));

  // PS3.4 C.4.2.1.4: a STUDY-level move names the study by its unique key only.
  DcmDataset keys;
  keys.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
  keys.putAndInsertString(DCM_StudyInstanceUID, study_uid.c_str());

  T_DIMSE_C_MoveRQ req;
  std::memset(&req, 0, sizeof req);
  req.MessageID = assoc.get()->nextMsgID++;
  OFStandard::strlcpy(req.AffectedSOPClassUID, UID_MOVEStudyRootQueryRetrieveInformationModel,
                      sizeof req.AffectedSOPClassUID);
  OFStandard::strlcpy(req.MoveDestination, destination_aet.c_str(), sizeof req.MoveDestination);
  req.DataSetType = DIMSE_DATASET_PRESENT;
  req.Priority = DIMSE_PRIORITY_MEDIUM;
  T_DIMSE_C_MoveRSP rsp;
  std::memset(&rsp, 0, sizeof rsp);
  DcmDataset* detail = nullptr;
  DcmDataset* rsp_ids = nullptr;
  MoveOutcome outcome;
  // No sub-operation network: the sub-operations go to the destination's own listener
  // (radflow's DimseServer when prefetching), not over this association.
  OFCondition cond = DIMSE_moveUser(assoc.get(), assoc.pres(), &req, &keys, MoveCallback,
                                    &outcome, DIMSE_NONBLOCKING, kMoveTimeoutSeconds, nullptr,
                                    nullptr, nullptr, &rsp, &detail, &rsp_ids,
                                    /*ignorePendingDatasets=*/OFTrue);
  std::unique_ptr<DcmDataset> detail_owner(detail), ids_owner(rsp_ids);
  std::string what = "C-MOVE of study " + study_uid + " from " + Describe(remote) + " to " +
                     destination_aet + " failed: ";
  if (cond.bad()) {
    assoc.MarkBroken();
    std::string why = cond == DIMSE_NODATAAVAILABLE
                          ? "no response within " + std::to_string(kMoveTimeoutSeconds) + " s"
                          : std::string(cond.text());
    return Status(ErrorCode::kUnavailable, what + why);
  }
  MoveCallback(&outcome, &req, 0, &rsp);  // the final response's counts, where it has them
  // PS3.4 C.4.2.1.5: Success, Warning 0xB000 (some sub-operations failed), else failure
  // (0xA7xx out of resources, 0xA801 destination unknown, 0xA900, 0xCxxx) or cancel.
  if (rsp.DimseStatus != STATUS_MOVE_Success && rsp.DimseStatus != STATUS_MOVE_Warning_SubOperationsCompleteOneOrMoreFailures) {
    return Status(ErrorCode::kUnavailable,
                  what + StatusText(rsp.DimseStatus, DU_cmoveStatusString(rsp.DimseStatus), detail));
  }
  return outcome;
}

}  // namespace radflow::dimse
