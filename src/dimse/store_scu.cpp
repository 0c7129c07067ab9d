// C-STORE sub-operations for C-MOVE and C-GET: sending stored files byte-exact over an
// association whose presentation context has the file's own transfer syntax.
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <cstring>
#include <map>
#include <set>

#include "compress/lossless.h"
#include "dimse/association.h"

namespace radflow::dimse {

namespace {

bool IsUncompressed(const std::string& ts) {
  return ts == UID_LittleEndianExplicitTransferSyntax ||
         ts == UID_LittleEndianImplicitTransferSyntax || ts == UID_BigEndianExplicitTransferSyntax;
}

// The accepted context for the SOP class: exact transfer syntax first, else (for an
// uncompressed file) any uncompressed one, which DCMTK converts to on the fly.
// A file compressed at rest (docs/compression.md) counts as uncompressed here: it is decoded
// for a peer that did not accept its stored syntax.
T_ASC_PresentationContextID FindContext(T_ASC_Association* assoc, const std::string& sop_class,
                                        const std::string& ts, bool at_rest, bool* exact) {
  T_ASC_PresentationContextID fallback = 0;
  for (int id = 1; id <= 255; id += 2) {
    T_ASC_PresentationContext pc;
    if (ASC_findAcceptedPresentationContext(assoc->params, static_cast<T_ASC_PresentationContextID>(id), &pc).bad()) continue;
    if (pc.resultReason != ASC_P_ACCEPTANCE || sop_class != pc.abstractSyntax) continue;
    if (ts == pc.acceptedTransferSyntax) {
      *exact = true;
      return pc.presentationContextID;
    }
    if (!fallback && (IsUncompressed(ts) || at_rest) && IsUncompressed(pc.acceptedTransferSyntax)) {
      fallback = pc.presentationContextID;
    }
  }
  *exact = false;
  return fallback;
}

// Only for sizeof: the UID fields of DCMTK's request.
T_DIMSE_C_StoreRQ req_uid_limit_probe();

}  // namespace

OFCondition SendInstance(T_ASC_Association* assoc, const storage::InstanceLocation& loc,
                         const std::string& path, const std::string& move_originator_ae,
                         Uint16 move_originator_msg_id, SubOperationCounts* counts) {
  counts->remaining--;
  auto fail = [&](OFCondition c) {
    counts->failed++;
    counts->failed_uids.push_back(loc.sop_uid);
    return c;
  };
  // DCMTK's C-STORE request holds UIDs of 64 characters (DIC_UI, PS3.5 9.1): a longer one
  // (radflow stores UIDs up to 128) would go out truncated, naming another instance. The
  // sub-operation fails instead (PS3.4 C.4.2.3: counted in Number of Failed Sub-operations).
  if (loc.sop_uid.size() > sizeof req_uid_limit_probe().AffectedSOPInstanceUID - 1 ||
      loc.sop_class_uid.size() > sizeof req_uid_limit_probe().AffectedSOPClassUID - 1) {
    return fail(makeOFCondition(0, 4, OF_error,
                                ("SOP Instance UID of " + std::to_string(loc.sop_uid.size()) +
                                 " characters is longer than the 64 a C-STORE request carries (PS3.5 9.1): "
                                 "not sent")
                                    .c_str()));
  }
  bool exact = false;
  T_ASC_PresentationContextID pres = FindContext(assoc, loc.sop_class_uid, loc.transfer_syntax_uid,
                                                 loc.CompressedAtRest(), &exact);
  if (pres == 0) {
    return fail(makeOFCondition(0, 1, OF_error,
                                "no accepted presentation context for the SOP class and transfer syntax"));
  }
  T_DIMSE_C_StoreRQ req;
  std::memset(&req, 0, sizeof req);
  req.MessageID = assoc->nextMsgID++;
  OFStandard::strlcpy(req.AffectedSOPClassUID, loc.sop_class_uid.c_str(), sizeof req.AffectedSOPClassUID);
  OFStandard::strlcpy(req.AffectedSOPInstanceUID, loc.sop_uid.c_str(), sizeof req.AffectedSOPInstanceUID);
  req.DataSetType = DIMSE_DATASET_PRESENT;
  req.Priority = DIMSE_PRIORITY_MEDIUM;
  if (!move_originator_ae.empty()) {
    req.opts = O_STORE_MOVEORIGINATORAETITLE | O_STORE_MOVEORIGINATORID;
    OFStandard::strlcpy(req.MoveOriginatorApplicationEntityTitle, move_originator_ae.c_str(),
                        sizeof req.MoveOriginatorApplicationEntityTitle);
    req.MoveOriginatorID = move_originator_msg_id;
  }
  T_DIMSE_C_StoreRSP rsp;
  std::memset(&rsp, 0, sizeof rsp);
  DcmDataset* detail = nullptr;
  OFCondition cond;
  if (exact) {
    // Straight from the file: the dataset bytes go out as stored.
    cond = DIMSE_storeUser(assoc, pres, &req, path.c_str(), nullptr, nullptr, nullptr,
                           DIMSE_BLOCKING, 0, &rsp, &detail, nullptr,
                           static_cast<long>(loc.blob_size));
  } else {
    DcmFileFormat ff;
    cond = ff.loadFile(path.c_str());
    if (cond.good() && loc.CompressedAtRest()) {
      // Decoded in memory for the native context (DCMTK writes it in that syntax).
      if (Status decoded = compress::DecodeToNative(*ff.getDataset()); !decoded.ok()) {
        cond = makeOFCondition(0, 5, OF_error, decoded.message().c_str());
      }
    }
    if (cond.good()) {
      cond = DIMSE_storeUser(assoc, pres, &req, nullptr, ff.getDataset(), nullptr, nullptr,
                             DIMSE_BLOCKING, 0, &rsp, &detail, nullptr, 0);
    }
  }
  delete detail;
  if (cond.bad()) return fail(cond);
  if (rsp.DimseStatus == STATUS_Success) {
    counts->completed++;
  } else if ((rsp.DimseStatus & 0xF000) == 0xB000) {
    counts->warning++;  // PS3.4 B.2.3: coercion or elements discarded
  } else {
    return fail(makeOFCondition(0, 2, OF_error, "the destination refused the instance"));
  }
  return EC_Normal;
}

OFCondition OpenStoreAssociation(const std::string& our_ae, const RemoteAe& peer,
                                 const std::vector<storage::InstanceLocation>& instances,
                                 T_ASC_Network** net, T_ASC_Association** assoc) {
  OFCondition cond = ASC_initializeNetwork(NET_REQUESTOR, 0, 30, net);
  if (cond.bad()) return cond;
  T_ASC_Parameters* params = nullptr;
  cond = ASC_createAssociationParameters(&params, ASC_DEFAULTMAXPDU);
  if (cond.bad()) return cond;
  ASC_setAPTitles(params, our_ae.c_str(), peer.ae_title.c_str(), nullptr);
  std::string address = peer.host + ":" + std::to_string(peer.port);
  ASC_setPresentationAddresses(params, OFStandard::getHostName().c_str(), address.c_str());

  // One context per (SOP class, transfer syntax) pair; an uncompressed one also offers the
  // other uncompressed syntaxes. At most 128 contexts per association (PS3.8 9.3.2.2).
  std::set<std::pair<std::string, std::string>> pairs;
  // A SOP class with instances compressed at rest (docs/compression.md) also gets a native
  // context of its own: a peer without the stored codec receives them decoded, and one that
  // accepts the codec still receives the other instances of that syntax as they are.
  for (const auto& i : instances) {
    pairs.emplace(i.sop_class_uid, i.transfer_syntax_uid);
    if (i.CompressedAtRest()) pairs.emplace(i.sop_class_uid, UID_LittleEndianExplicitTransferSyntax);
  }
  int id = 1;
  for (const auto& [sop_class, ts] : pairs) {
    if (id > 255) break;
    std::vector<const char*> syntaxes{ts.c_str()};
    if (IsUncompressed(ts)) {
      for (const char* u : {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax}) {
        if (ts != u) syntaxes.push_back(u);
      }
    }
    cond = ASC_addPresentationContext(params, static_cast<T_ASC_PresentationContextID>(id),
                                      sop_class.c_str(), syntaxes.data(),
                                      static_cast<int>(syntaxes.size()));
    if (cond.bad()) {
      ASC_destroyAssociationParameters(&params);
      return cond;
    }
    id += 2;
  }
  cond = ASC_requestAssociation(*net, params, assoc);
  if (cond.bad()) {
    if (*assoc) ASC_destroyAssociation(assoc);
    else ASC_destroyAssociationParameters(&params);
    return cond;
  }
  if (ASC_countAcceptedPresentationContexts((*assoc)->params) == 0) {
    return makeOFCondition(0, 3, OF_error, "the destination accepted no presentation context");
  }
  return EC_Normal;
}

void CloseAssociation(T_ASC_Network** net, T_ASC_Association** assoc) {
  if (*assoc) {
    if (ASC_releaseAssociation(*assoc).bad()) ASC_abortAssociation(*assoc);
    ASC_destroyAssociation(assoc);
  }
  if (*net) ASC_dropNetwork(net);
}

}  // namespace radflow::dimse
