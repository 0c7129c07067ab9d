// MPPS N-CREATE / N-SET SCP (PS3.4 F.7.2). DCMTK has no provider helper for N-services: the
// dataset is received in memory after the command, the response built by hand (PS3.7 10.3.4,
// 10.3.6).
#include "dimse/mpps_scp.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcjson.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cstring>
#include <memory>
#include <sstream>

#include "base/log.h"
#include "dimse/association.h"

namespace radflow::dimse {

namespace {

void Copy(DIC_UI dst, const std::string& src) {
  std::strncpy(dst, src.c_str(), DIC_UI_LEN);
  dst[DIC_UI_LEN] = '\0';
}

// Receives the request's dataset (when it has one) on the request's context.
OFCondition ReceiveDataset(T_ASC_Association* assoc, T_DIMSE_DataSetType type, DcmDataset** ds) {
  *ds = nullptr;
  if (type == DIMSE_DATASET_NULL) return EC_Normal;
  T_ASC_PresentationContextID data_pres = 0;
  return DIMSE_receiveDataSetInMemory(assoc, DIMSE_BLOCKING, 0, &data_pres, ds, nullptr, nullptr);
}

// The status detail of a failure (PS3.7 C.4.2): ErrorComment (LO, 64 characters) and, for
// "may no longer be updated", ErrorID A710 (PS3.4 F.7.2.2.2).
DcmDataset* Detail(const orders::MppsOutcome& out) {
  if (out.status == 0 || out.comment.empty()) return nullptr;
  DcmDataset* d = nullptr;
  SetErrorComment(&d, out.comment);
  if (out.status == 0x0110) d->putAndInsertUint16(DCM_ErrorID, 0xA710);
  return d;
}

void Audit(const DimseConfig& config, const AssociationInfo& info, const char* op,
           const orders::MppsInput& in, const orders::MppsOutcome& out) {
  char status[8];
  std::snprintf(status, sizeof status, "%04X", out.status);
  // An MPPS changes the hub's records of the exam like a C-STORE does (docs/orders.md).
  ReportAudit(config, info, "store", out.status == 0, out.status == 0 ? "" : out.comment,
              std::string("MPPS ") + op + " " + in.sop_instance_uid + " " +
                  (in.status.empty() ? "(status unchanged)" : in.status) + ": 0x" + status,
              in.patient_id, in.patient_name, in.study_uid);
}

}  // namespace

orders::MppsInput MppsInputFromDataset(DcmDataset* ds, const std::string& sop_instance_uid,
                                       const std::string& calling_ae) {
  orders::MppsInput in;
  in.sop_instance_uid = sop_instance_uid;
  in.calling_ae = calling_ae;
  if (!ds) return in;
  in.status = DatasetString(ds, DCM_PerformedProcedureStepStatus);
  in.station_ae = DatasetString(ds, DCM_PerformedStationAETitle);
  in.modality = DatasetString(ds, DCM_Modality);
  in.start_date = DatasetString(ds, DCM_PerformedProcedureStepStartDate);
  in.start_time = DatasetString(ds, DCM_PerformedProcedureStepStartTime);
  in.end_date = DatasetString(ds, DCM_PerformedProcedureStepEndDate);
  in.end_time = DatasetString(ds, DCM_PerformedProcedureStepEndTime);
  in.patient_id = DatasetString(ds, DCM_PatientID);
  in.patient_name = DatasetString(ds, DCM_PatientName);
  DcmItem* step = nullptr;
  if (ds->findAndGetSequenceItem(DCM_ScheduledStepAttributesSequence, step, 0).good() && step) {
    in.accession_number = DatasetString(step, DCM_AccessionNumber);
    in.study_uid = DatasetString(step, DCM_StudyInstanceUID);
    in.requested_procedure_id = DatasetString(step, DCM_RequestedProcedureID);
  }
  // DcmDataset::writeJson writes the members only; the object braces are ours (as in
  // dicom/json_model.cpp), so that an N-SET's attributes merge into the N-CREATE's.
  std::ostringstream json;
  DcmJsonFormatCompact format(OFFalse);
  json << "{";
  if (ds->writeJson(json, format).good()) in.dataset_json = json.str() + "}";
  return in;
}

OFCondition HandleMppsCreate(T_ASC_Association* assoc, T_ASC_PresentationContextID pres,
                             T_DIMSE_N_CreateRQ* req, const DimseConfig& config,
                             const DimseServices& services, const AssociationInfo& info) {
  DcmDataset* ds = nullptr;
  OFCondition cond = ReceiveDataset(assoc, req->DataSetType, &ds);
  if (cond.bad()) return cond;
  std::unique_ptr<DcmDataset> owned(ds);
  // PS3.4 F.7.2.1: the SCU may leave the instance UID to the SCP.
  std::string uid;
  if ((req->opts & O_NCREATE_AFFECTEDSOPINSTANCEUID) && req->AffectedSOPInstanceUID[0]) {
    uid = req->AffectedSOPInstanceUID;
  } else {
    char buf[100];
    uid = dcmGenerateUniqueIdentifier(buf, SITE_INSTANCE_UID_ROOT);
  }
  orders::MppsInput in = MppsInputFromDataset(ds, uid, info.calling_ae);
  orders::MppsOutcome out;
  if (std::strcmp(req->AffectedSOPClassUID, UID_ModalityPerformedProcedureStepSOPClass) != 0 || !services.orders) {
    out.status = 0x0122;  // PS3.7 C.4.2: SOP class not supported
    out.comment = "N-CREATE is only for the MPPS SOP class";
  } else if (!info.allow.store) {
    out.status = 0x0124;
    out.comment = "not authorized to report MPPS (docs/dicom-access.md)";
  } else {
    out = services.orders->MppsCreate(in);
  }
  Audit(config, info, "N-CREATE", in, out);
  T_DIMSE_Message rsp;
  std::memset(&rsp, 0, sizeof rsp);
  rsp.CommandField = DIMSE_N_CREATE_RSP;
  T_DIMSE_N_CreateRSP& r = rsp.msg.NCreateRSP;
  r.MessageIDBeingRespondedTo = req->MessageID;
  r.DimseStatus = out.status;
  Copy(r.AffectedSOPClassUID, req->AffectedSOPClassUID);
  Copy(r.AffectedSOPInstanceUID, uid);
  r.opts = O_NCREATE_AFFECTEDSOPCLASSUID | O_NCREATE_AFFECTEDSOPINSTANCEUID;
  r.DataSetType = DIMSE_DATASET_NULL;
  DcmDataset* detail = Detail(out);
  cond = DIMSE_sendMessageUsingMemoryData(assoc, pres, &rsp, detail, nullptr, nullptr, nullptr);
  delete detail;
  return cond;
}

OFCondition HandleMppsSet(T_ASC_Association* assoc, T_ASC_PresentationContextID pres, T_DIMSE_N_SetRQ* req,
                          const DimseConfig& config, const DimseServices& services, const AssociationInfo& info) {
  DcmDataset* ds = nullptr;
  OFCondition cond = ReceiveDataset(assoc, req->DataSetType, &ds);
  if (cond.bad()) return cond;
  std::unique_ptr<DcmDataset> owned(ds);
  orders::MppsInput in = MppsInputFromDataset(ds, req->RequestedSOPInstanceUID, info.calling_ae);
  orders::MppsOutcome out;
  if (std::strcmp(req->RequestedSOPClassUID, UID_ModalityPerformedProcedureStepSOPClass) != 0 || !services.orders) {
    out.status = 0x0122;
    out.comment = "N-SET is only for the MPPS SOP class";
  } else if (!info.allow.store) {
    out.status = 0x0124;
    out.comment = "not authorized to report MPPS (docs/dicom-access.md)";
  } else {
    out = services.orders->MppsSet(in);
  }
  Audit(config, info, "N-SET", in, out);
  T_DIMSE_Message rsp;
  std::memset(&rsp, 0, sizeof rsp);
  rsp.CommandField = DIMSE_N_SET_RSP;
  T_DIMSE_N_SetRSP& r = rsp.msg.NSetRSP;
  r.MessageIDBeingRespondedTo = req->MessageID;
  r.DimseStatus = out.status;
  Copy(r.AffectedSOPClassUID, req->RequestedSOPClassUID);
  Copy(r.AffectedSOPInstanceUID, req->RequestedSOPInstanceUID);
  r.opts = O_NSET_AFFECTEDSOPCLASSUID | O_NSET_AFFECTEDSOPINSTANCEUID;
  r.DataSetType = DIMSE_DATASET_NULL;
  DcmDataset* detail = Detail(out);
  cond = DIMSE_sendMessageUsingMemoryData(assoc, pres, &rsp, detail, nullptr, nullptr, nullptr);
  delete detail;
  return cond;
}

}  // namespace radflow::dimse
