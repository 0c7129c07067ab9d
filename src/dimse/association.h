// Internal to the dimse module: one accepted association and its command loop.
#pragma once

#include <dcmtk/dcmnet/assoc.h>
#include <dcmtk/dcmnet/dimse.h>

#include <atomic>
#include <string>
#include <vector>

#include "dimse/dimse_server.h"
#include "orders/mwl_match.h"
#include "storage/model.h"

namespace radflow::dimse {

// Negotiates the presentation contexts of an association request (PS3.7 D.3.3): Storage
// SOP classes with any proposed DICOM transfer syntax (stored as received), with the SCP
// role where the requestor proposes it (C-GET, PS3.7 D.3.3.4); Verification and the
// Query/Retrieve SOP classes with the uncompressed syntaxes.
// With `orders`, also Modality Worklist FIND and MPPS (uncompressed syntaxes).
OFCondition NegotiateContexts(T_ASC_Parameters* params, bool orders = false);

// The value of `key` in `item` ("" when absent; multiple values '\'-joined).
std::string DatasetString(DcmItem* item, const DcmTagKey& key);
// Sets the ErrorComment (LO, at most 64 characters, PS3.7 C.4) of a response's status
// detail, creating the detail when there is none.
void SetErrorComment(DcmDataset** detail, const std::string& message);

// Who is calling, from where, and what the access rules let it do (docs/dicom-access.md).
struct AssociationInfo {
  std::string calling_ae;
  std::string peer;  // IP address
  bool secure = false;
  Permissions allow;
};

// Hands one event to DimseConfig::audit (user = calling AE title, source = peer address,
// interface "dimse"); never throws, never blocks the association on the audit trail.
void ReportAudit(const DimseConfig& config, const AssociationInfo& info, const std::string& event,
                 bool success, const std::string& failure_reason, const std::string& detail,
                 const std::string& patient_id, const std::string& patient_name,
                 const std::string& study_uid);

// Runs the DIMSE command loop until release, abort, error or server stop; then drops and
// destroys the association.
void ServeAssociation(T_ASC_Association* assoc, const DimseConfig& config,
                      const DimseServices& services, const AssociationInfo& info,
                      const std::atomic<bool>& stopping);

// C-FIND (PS3.4 C.4.1): builds the index query from a request identifier.
Result<storage::Query> QueryFromIdentifier(DcmDataset& identifier);
// C-FIND response identifier: the request's keys filled from one matched row.
DcmDataset* ResponseFromRow(DcmDataset& request, const storage::Row& row,
                            storage::ResourceLevel level, const std::string& retrieve_ae);

// Modality Worklist C-FIND (mwl_scp.cpp; PS3.4 K.6.1): the request's matching keys, and
// one response identifier (caller owns it) holding exactly the requested attributes.
Result<orders::WorklistQuery> WorklistQueryFromIdentifier(DcmDataset& request);
DcmDataset* WorklistResponse(DcmDataset& request, const storage::OrderRow& order);
OFCondition HandleWorklistFind(T_ASC_Association* assoc, T_ASC_PresentationContextID pres,
                               T_DIMSE_C_FindRQ* request, const DimseConfig& config,
                               const DimseServices& services, const AssociationInfo& info);

// MPPS N-CREATE and N-SET (mpps_scp.cpp; PS3.4 F.7.2): receives the dataset, answers.
OFCondition HandleMppsCreate(T_ASC_Association* assoc, T_ASC_PresentationContextID pres,
                             T_DIMSE_N_CreateRQ* request, const DimseConfig& config,
                             const DimseServices& services, const AssociationInfo& info);
OFCondition HandleMppsSet(T_ASC_Association* assoc, T_ASC_PresentationContextID pres,
                          T_DIMSE_N_SetRQ* request, const DimseConfig& config,
                          const DimseServices& services, const AssociationInfo& info);

// Sends stored instances as C-STORE sub-operations over an association that accepted
// their SOP classes (C-MOVE's own association, or the C-GET requestor's).
struct SubOperationCounts {
  int remaining = 0, completed = 0, failed = 0, warning = 0;
  std::vector<std::string> failed_uids;
};
OFCondition SendInstance(T_ASC_Association* assoc, const storage::InstanceLocation& loc,
                         const std::string& path, const std::string& move_originator_ae,
                         Uint16 move_originator_msg_id, SubOperationCounts* counts);

// Opens an association to a C-MOVE destination proposing the SOP class and transfer
// syntax of each instance to send.
OFCondition OpenStoreAssociation(const std::string& our_ae, const RemoteAe& peer,
                                 const std::vector<storage::InstanceLocation>& instances,
                                 T_ASC_Network** net, T_ASC_Association** assoc);
void CloseAssociation(T_ASC_Network** net, T_ASC_Association** assoc);

}  // namespace radflow::dimse
