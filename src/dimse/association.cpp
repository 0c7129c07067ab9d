#include "dimse/association.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "base/log.h"
#include "dicom/tag.h"

namespace radflow::dimse {

std::string DatasetString(DcmItem* item, const DcmTagKey& key) {
  OFString v;
  if (item && item->findAndGetOFStringArray(key, v).good()) return v.c_str();
  return "";
}

void SetErrorComment(DcmDataset** detail, const std::string& message) {
  if (*detail == nullptr) *detail = new DcmDataset;
  // ErrorComment is LO: at most 64 characters (PS3.7 C.4).
  (*detail)->putAndInsertString(DCM_ErrorComment, message.substr(0, 64).c_str());
}

namespace {

const char* kUncompressed[] = {UID_LittleEndianExplicitTransferSyntax,
                               UID_LittleEndianImplicitTransferSyntax,
                               UID_BigEndianExplicitTransferSyntax};

const char* kQueryRetrieveClasses[] = {
    UID_VerificationSOPClass,
    UID_FINDPatientRootQueryRetrieveInformationModel,
    UID_FINDStudyRootQueryRetrieveInformationModel,
    UID_MOVEPatientRootQueryRetrieveInformationModel,
    UID_MOVEStudyRootQueryRetrieveInformationModel,
    UID_GETPatientRootQueryRetrieveInformationModel,
    UID_GETStudyRootQueryRetrieveInformationModel,
};

const char* kOrderClasses[] = {
    UID_FINDModalityWorklistInformationModel,    // PS3.4 K.6.1
    UID_ModalityPerformedProcedureStepSOPClass,  // PS3.4 F.7
};

bool IsStorageClass(const char* uid) {
  static const std::set<std::string> classes = [] {
    std::set<std::string> s;
    for (int i = 0; i < numberOfDcmAllStorageSOPClassUIDs; ++i) s.insert(dcmAllStorageSOPClassUIDs[i]);
    return s;
  }();
  return classes.count(uid) != 0;
}

// Every transfer syntax defined by the standard lives under 1.2.840.10008.1.2; the hub
// stores what it receives, so any of them is acceptable for storage.
bool IsDicomTransferSyntax(const char* uid) {
  return std::strncmp(uid, "1.2.840.10008.1.2", 17) == 0 &&
         (uid[17] == '\0' || uid[17] == '.');
}

struct Session {
  T_ASC_Association* assoc;
  const DimseConfig& config;
  const DimseServices& services;
  const AssociationInfo& info;
  std::string calling_ae;
  // Instances stored (and refused) in this association by study, audited at its end: one
  // record per study rather than one per slice.
  std::map<std::string, int> stored_by_study;
  int store_refused = 0;
};

// The patient of a study in the index ("" when unknown), for audit records.
std::pair<std::string, std::string> StudyPatient(const DimseServices& services,
                                                 const std::string& study_uid) {
  if (study_uid.empty()) return {};
  storage::Query q;
  q.level = storage::ResourceLevel::kStudy;
  storage::Constraint c;
  c.tag = dicom::tags::kStudyInstanceUID;
  c.value = study_uid;
  q.constraints.push_back(c);
  q.limit = 1;
  auto rows = services.index->Find(q);
  if (!rows.ok() || rows->empty()) return {};
  const auto& v = rows->front().values;
  auto get = [&](dicom::Tag t) {
    auto it = v.find(t);
    return it == v.end() ? std::string() : it->second;
  };
  return {get(dicom::tags::kPatientID), get(dicom::tags::kPatientName)};
}

// ---- C-STORE -------------------------------------------------------------------------

struct StoreContext {
  Session* session;
  std::string temp_path;
  DcmDataset* detail = nullptr;
  int fd = -1;          // our own descriptor on the file DCMTK is writing
  long flushed = 0;     // bytes handed to writeback so far
  bool handed_over = false;  // the ingest owns the file now
};

// Starts writeback of what has arrived so far, so that the fsync at the end of the
// transfer waits only for the tail (the disk works while the network does).
void StartWriteback(StoreContext* ctx, long received) {
  constexpr long kChunk = 256 * 1024;
  if (received - ctx->flushed < kChunk) return;
  if (ctx->fd < 0) ctx->fd = ::open(ctx->temp_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ctx->fd < 0) return;
  ::sync_file_range(ctx->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  ctx->flushed = received;
}

std::string ToHex(Uint16 v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04X", v);
  return buf;
}

void StoreCallback(void* data, T_DIMSE_StoreProgress* progress, T_DIMSE_C_StoreRQ* req,
                   char*, DcmDataset**, T_DIMSE_C_StoreRSP* rsp, DcmDataset** status_detail) {
  auto* ctx = static_cast<StoreContext*>(data);
  if (progress->state == DIMSE_StoreProgressing) StartWriteback(ctx, progress->progressBytes);
  if (progress->state != DIMSE_StoreEnd) return;
  if (ctx->fd >= 0) {
    ::close(ctx->fd);
    ctx->fd = -1;
  }
  // DCMTK reports a transfer it could not write (disk full: Refused - Out of Resources)
  // through this same final callback: the partial file is not an instance. Its status goes
  // back as it is, and HandleStore gives the file up.
  if (rsp->DimseStatus != STATUS_Success) {
    log::Warn("C-STORE from " + ctx->session->calling_ae + " of " + req->AffectedSOPInstanceUID +
              ": the dataset could not be written (status 0x" + ToHex(rsp->DimseStatus) + ")");
    return;
  }
  if (!ctx->session->info.allow.store) {
    // PS3.7 C.5: Refused - Not Authorized; the received file is discarded by HandleStore.
    rsp->DimseStatus = STATUS_STORE_Refused_NotAuthorized;
    SetErrorComment(&ctx->detail, "not authorized to store (docs/dicom-access.md)");
    *status_detail = ctx->detail;
    ++ctx->session->store_refused;
    return;
  }
  ingest::Origin origin{ingest::Origin::Kind::kDimse, ctx->session->calling_ae,
                        req->AffectedSOPInstanceUID, ""};
  ctx->handed_over = true;
  auto stored = ctx->session->services.ingest->Store(ctx->temp_path, origin);
  if (stored.ok() && stored->sop_instance_uid != req->AffectedSOPInstanceUID) {
    // Stored under the dataset's own UID; the command disagreed (PS3.7 9.3.1.1).
    log::Warn(std::string("C-STORE: AffectedSOPInstanceUID ") + req->AffectedSOPInstanceUID +
              " differs from the dataset's " + stored->sop_instance_uid);
  }
  if (stored.ok()) {
    rsp->DimseStatus = STATUS_Success;
    ++ctx->session->stored_by_study[stored->study_instance_uid];
    return;
  }
  const Status& st = stored.status();
  log::Warn("C-STORE from " + ctx->session->calling_ae + " of " + req->AffectedSOPInstanceUID +
            " failed: " + st.ToString());
  rsp->DimseStatus = st.dimse_status();
  SetErrorComment(&ctx->detail, st.message());
  *status_detail = ctx->detail;
}

OFCondition HandleStore(Session& s, T_DIMSE_Message& msg, T_ASC_PresentationContextID pres) {
  StoreContext ctx;
  ctx.session = &s;
  // Unnamed until stored: a transfer cut short, or a crash, leaves no file behind.
  ctx.temp_path = s.services.ingest->NewUnnamedTemp();
  OFCondition cond =
      DIMSE_storeProvider(s.assoc, pres, &msg.msg.CStoreRQ, ctx.temp_path.c_str(),
                          /*writeMetaheader=*/1, nullptr, StoreCallback, &ctx, DIMSE_BLOCKING, 0);
  delete ctx.detail;
  if (ctx.fd >= 0) ::close(ctx.fd);
  // A dataset that could not be written has been answered with Refused - Out of Resources
  // (0xA700) already; the association goes on, as after any other refused instance.
  if (cond == DIMSE_OUTOFRESOURCES) cond = EC_Normal;
  // The ingest took ownership of the file at StoreEnd; if the transfer broke before that,
  // the partial file is ours to give up.
  if (!ctx.handed_over) storage::BlobStore::DiscardTemp(ctx.temp_path);
  return cond;
}

// ---- C-FIND --------------------------------------------------------------------------

struct FindContext {
  explicit FindContext(Session* s) : session(s) {}
  Session* session;
  bool started = false;
  std::vector<storage::Row> rows;
  storage::ResourceLevel level = storage::ResourceLevel::kStudy;
  size_t next = 0;
  Status error;
  bool refused = false;
  std::string patient_id, patient_name, study_uid, level_name;
  DcmDataset* detail = nullptr;
};

void FindCallback(void* data, OFBool cancelled, T_DIMSE_C_FindRQ*, DcmDataset* request,
                  int, T_DIMSE_C_FindRSP* rsp, DcmDataset** response, DcmDataset** detail) {
  auto* ctx = static_cast<FindContext*>(data);
  *response = nullptr;
  if (!ctx->started) {
    ctx->started = true;
    ctx->patient_id = DatasetString(request, DCM_PatientID);
    ctx->patient_name = DatasetString(request, DCM_PatientName);
    ctx->study_uid = DatasetString(request, DCM_StudyInstanceUID);
    ctx->level_name = DatasetString(request, DCM_QueryRetrieveLevel);
    if (!ctx->session->info.allow.query) {
      ctx->refused = true;
      rsp->DimseStatus = 0x0124;  // PS3.7 C.5: Refused - Not Authorized
      SetErrorComment(&ctx->detail, "not authorized to query (docs/dicom-access.md)");
      *detail = ctx->detail;
      return;
    }
    auto q = QueryFromIdentifier(*request);
    if (!q.ok()) {
      ctx->error = q.status();
    } else {
      ctx->level = q->level;
      auto rows = ctx->session->services.index->Find(q.value());
      if (rows.ok()) ctx->rows = std::move(rows.value());
      else ctx->error = rows.status();
    }
  }
  if (!ctx->error.ok()) {
    // 0xA900 "Identifier does not match SOP class", 0xC000 "Unable to process" (PS3.4 C.4.1.1.4).
    rsp->DimseStatus = ctx->error.code() == ErrorCode::kInvalidArgument
                           ? STATUS_FIND_Failed_IdentifierDoesNotMatchSOPClass
                           : STATUS_FIND_Failed_UnableToProcess;
    SetErrorComment(&ctx->detail, ctx->error.message());
    *detail = ctx->detail;
    return;
  }
  if (cancelled) {
    rsp->DimseStatus = STATUS_FIND_Cancel_MatchingTerminatedDueToCancelRequest;
    return;
  }
  if (ctx->next >= ctx->rows.size()) {
    rsp->DimseStatus = STATUS_Success;
    return;
  }
  *response = ResponseFromRow(*request, ctx->rows[ctx->next++], ctx->level,
                              ctx->session->config.ae_title);
  rsp->DimseStatus = STATUS_Pending;
}

OFCondition HandleFind(Session& s, T_DIMSE_Message& msg, T_ASC_PresentationContextID pres) {
  if (std::strcmp(msg.msg.CFindRQ.AffectedSOPClassUID, UID_FINDModalityWorklistInformationModel) == 0 &&
      s.services.orders) {
    return HandleWorklistFind(s.assoc, pres, &msg.msg.CFindRQ, s.config, s.services, s.info);
  }
  FindContext ctx(&s);
  // DIMSE_findProvider deletes the status detail and response identifiers it was given.
  OFCondition cond = DIMSE_findProvider(s.assoc, pres, &msg.msg.CFindRQ, FindCallback, &ctx,
                                        DIMSE_BLOCKING, 0);
  const bool ok = !ctx.refused && ctx.error.ok();
  ReportAudit(s.config, s.info, "query", ok,
              ctx.refused ? "not authorized" : ctx.error.ok() ? "" : ctx.error.message(),
              "C-FIND " + ctx.level_name + (ok ? ": " + std::to_string(ctx.rows.size()) + " matches" : ""),
              ctx.patient_id, ctx.patient_name, ctx.study_uid);
  return cond;
}

// ---- C-MOVE and C-GET ----------------------------------------------------------------

// Shared by C-MOVE and C-GET: the instances to send and the progress of the sub-operations.
struct RetrieveContext {
  RetrieveContext(Session* s, bool move) : session(s), is_move(move) {}
  Session* session;
  bool is_move = false;
  bool started = false;
  std::vector<storage::InstanceLocation> instances;
  size_t next = 0;
  SubOperationCounts counts;
  T_ASC_Network* out_net = nullptr;
  T_ASC_Association* out_assoc = nullptr;  // C-MOVE: our association to the destination
  Uint16 status = STATUS_Success;          // a failure decided before any sub-operation
  DcmDataset* detail = nullptr;       // owned by DCMTK once handed over
  DcmDataset* failed_list = nullptr;  // likewise
  Uint16 message_id = 0;
  bool refused = false;
  std::string patient_id, destination;

  // detail and failed_list are deleted by DIMSE_moveProvider/DIMSE_getProvider.
  ~RetrieveContext() { CloseAssociation(&out_net, &out_assoc); }
};

// Prepares a retrieve on its first callback; returns false with ctx->status set on failure.
bool StartRetrieve(RetrieveContext* ctx, DcmDataset* request, const char* move_destination) {
  ctx->started = true;
  ctx->patient_id = DatasetString(request, DCM_PatientID);
  if (!ctx->session->info.allow.retrieve) {
    ctx->refused = true;
    ctx->status = STATUS_MOVE_Refused_NotAuthorized;  // 0x0124, the same for C-GET (PS3.7 C.5)
    SetErrorComment(&ctx->detail, "not authorized to retrieve (docs/dicom-access.md)");
    return false;
  }
  // C-MOVE only to the configured destinations (--modality): anything else is unknown,
  // whether or not anything matches.
  const auto& modalities = ctx->session->config.modalities;
  ctx->destination = move_destination ? move_destination : "";
  auto it = modalities.find(ctx->destination);
  if (ctx->is_move && it == modalities.end()) {
    ctx->status = STATUS_MOVE_Failed_MoveDestinationUnknown;
    SetErrorComment(&ctx->detail, "unknown move destination '" + ctx->destination + "'");
    return false;
  }
  auto q = QueryFromIdentifier(*request);
  if (!q.ok()) {
    ctx->status = STATUS_MOVE_Failed_IdentifierDoesNotMatchSOPClass;
    SetErrorComment(&ctx->detail, q.status().message());
    return false;
  }
  auto found = ctx->session->services.index->Locate(q.value());
  if (!found.ok()) {
    ctx->status = STATUS_MOVE_Failed_UnableToProcess;
    SetErrorComment(&ctx->detail, found.status().message());
    return false;
  }
  ctx->instances = std::move(found.value());
  ctx->counts.remaining = static_cast<int>(ctx->instances.size());
  if (!ctx->is_move || ctx->instances.empty()) return true;
  OFCondition cond = OpenStoreAssociation(ctx->session->config.ae_title, it->second,
                                          ctx->instances, &ctx->out_net, &ctx->out_assoc);
  if (cond.bad()) {
    ctx->status = STATUS_MOVE_Refused_OutOfResourcesSubOperations;
    SetErrorComment(&ctx->detail, std::string("cannot reach ") + it->first + ": " + cond.text());
    return false;
  }
  return true;
}

// One step of a retrieve: sends the next instance or finishes. Fills the response fields
// shared by C-MOVE-RSP and C-GET-RSP (PS3.4 C.4.2.1.4, C.4.3.1.4).
void RetrieveStep(RetrieveContext* ctx, OFBool cancelled, DcmDataset* request,
                  const char* move_destination, Uint16* status, Uint16* remaining,
                  Uint16* completed, Uint16* failed, Uint16* warning, DcmDataset** detail,
                  DcmDataset** response) {
  *response = nullptr;
  if (!ctx->started && !StartRetrieve(ctx, request, move_destination)) {
    *status = ctx->status;
    *detail = ctx->detail;
    return;
  }
  auto& c = ctx->counts;
  if (!cancelled && ctx->next < ctx->instances.size()) {
    const auto& loc = ctx->instances[ctx->next++];
    T_ASC_Association* target = ctx->is_move ? ctx->out_assoc : ctx->session->assoc;
    auto path = ctx->session->services.blobs->LocalPath(loc.blob_path);  // S3: via the read cache
    if (!path.ok()) {
      // A failed sub-operation (PS3.4 C.4.2.3), counted like SendInstance's own failures.
      c.remaining--;
      c.failed++;
      c.failed_uids.push_back(loc.sop_uid);
      log::Warn("sub-operation for " + loc.sop_uid + " failed: " + path.status().ToString());
    } else {
      OFCondition cond = SendInstance(target, loc, path.value(),
                                      ctx->is_move ? ctx->session->calling_ae : "",
                                      ctx->message_id, &c);
      if (cond.bad()) log::Warn("sub-operation for " + loc.sop_uid + " failed: " + cond.text());
    }
    *status = STATUS_Pending;
  } else {
    // Final response. Sub-operations not attempted count as failed on cancel (C.4.2.3.1).
    if (cancelled) {
      for (size_t i = ctx->next; i < ctx->instances.size(); ++i) {
        c.failed_uids.push_back(ctx->instances[i].sop_uid);
      }
      c.remaining = static_cast<int>(ctx->instances.size() - ctx->next);
      *status = STATUS_MOVE_Cancel_SubOperationsTerminatedDueToCancelIndication;
    } else if (c.failed > 0 || c.warning > 0) {
      *status = c.completed == 0 && c.warning == 0
                    ? STATUS_MOVE_Failed_UnableToProcess
                    : STATUS_MOVE_Warning_SubOperationsCompleteOneOrMoreFailures;
      if (*status == STATUS_MOVE_Failed_UnableToProcess) {
        SetErrorComment(&ctx->detail, "all sub-operations failed");
        *detail = ctx->detail;
      }
    } else {
      *status = STATUS_Success;
    }
    if (!c.failed_uids.empty()) {
      // PS3.4 C.4.2.1.4: FailedSOPInstanceUIDList in the final response identifier.
      std::string list;
      for (const auto& u : c.failed_uids) list += (list.empty() ? "" : "\\") + u;
      ctx->failed_list = new DcmDataset;
      ctx->failed_list->putAndInsertString(DCM_FailedSOPInstanceUIDList, list.c_str());
      *response = ctx->failed_list;
    }
  }
  *remaining = static_cast<Uint16>(c.remaining);
  *completed = static_cast<Uint16>(c.completed);
  *failed = static_cast<Uint16>(c.failed);
  *warning = static_cast<Uint16>(c.warning);
}

void MoveCallback(void* data, OFBool cancelled, T_DIMSE_C_MoveRQ* req, DcmDataset* request,
                  int, T_DIMSE_C_MoveRSP* rsp, DcmDataset** detail, DcmDataset** response) {
  auto* ctx = static_cast<RetrieveContext*>(data);
  RetrieveStep(ctx, cancelled, request, req->MoveDestination, &rsp->DimseStatus,
               &rsp->NumberOfRemainingSubOperations, &rsp->NumberOfCompletedSubOperations,
               &rsp->NumberOfFailedSubOperations, &rsp->NumberOfWarningSubOperations, detail,
               response);
  rsp->opts = O_MOVE_NUMBEROFREMAININGSUBOPERATIONS | O_MOVE_NUMBEROFCOMPLETEDSUBOPERATIONS |
              O_MOVE_NUMBEROFFAILEDSUBOPERATIONS | O_MOVE_NUMBEROFWARNINGSUBOPERATIONS;
}

void GetCallback(void* data, OFBool cancelled, T_DIMSE_C_GetRQ*, DcmDataset* request, int,
                 T_DIMSE_C_GetRSP* rsp, DcmDataset** detail, DcmDataset** response) {
  auto* ctx = static_cast<RetrieveContext*>(data);
  RetrieveStep(ctx, cancelled, request, nullptr, &rsp->DimseStatus,
               &rsp->NumberOfRemainingSubOperations, &rsp->NumberOfCompletedSubOperations,
               &rsp->NumberOfFailedSubOperations, &rsp->NumberOfWarningSubOperations, detail,
               response);
  rsp->opts = O_GET_NUMBEROFREMAININGSUBOPERATIONS | O_GET_NUMBEROFCOMPLETEDSUBOPERATIONS |
              O_GET_NUMBEROFFAILEDSUBOPERATIONS | O_GET_NUMBEROFWARNINGSUBOPERATIONS;
}

// One audit record per study retrieved (or one for a refused or failed retrieve).
void AuditRetrieve(Session& s, const RetrieveContext& ctx) {
  std::string what = ctx.is_move ? "C-MOVE to " + ctx.destination : std::string("C-GET");
  if (ctx.status != STATUS_Success || ctx.instances.empty()) {
    std::string reason;
    if (ctx.refused) reason = "not authorized";
    else if (ctx.status == STATUS_MOVE_Failed_MoveDestinationUnknown) reason = "move destination unknown";
    else if (ctx.status != STATUS_Success) reason = "status 0x" + ToHex(ctx.status);
    ReportAudit(s.config, s.info, "retrieve", reason.empty(), reason, what + ": no instances",
                ctx.patient_id, "", "");
    return;
  }
  std::map<std::string, int> by_study;
  for (size_t i = 0; i < ctx.next && i < ctx.instances.size(); ++i) ++by_study[ctx.instances[i].study_uid];
  for (const auto& [study, n] : by_study) {
    auto [pid, pname] = StudyPatient(s.services, study);
    ReportAudit(s.config, s.info, "retrieve", ctx.counts.failed == 0, ctx.counts.failed ? "sub-operations failed" : "",
                what + ": " + std::to_string(n) + " instances", pid, pname, study);
  }
}

OFCondition HandleMove(Session& s, T_DIMSE_Message& msg, T_ASC_PresentationContextID pres) {
  RetrieveContext ctx(&s, true);
  ctx.message_id = msg.msg.CMoveRQ.MessageID;
  OFCondition cond = DIMSE_moveProvider(s.assoc, pres, &msg.msg.CMoveRQ, MoveCallback, &ctx,
                                        DIMSE_BLOCKING, 0);
  AuditRetrieve(s, ctx);
  return cond;
}

OFCondition HandleGet(Session& s, T_DIMSE_Message& msg, T_ASC_PresentationContextID pres) {
  RetrieveContext ctx(&s, false);
  ctx.message_id = msg.msg.CGetRQ.MessageID;
  OFCondition cond = DIMSE_getProvider(s.assoc, pres, &msg.msg.CGetRQ, GetCallback, &ctx,
                                       DIMSE_BLOCKING, 0);
  AuditRetrieve(s, ctx);
  return cond;
}

}  // namespace

OFCondition NegotiateContexts(T_ASC_Parameters* params, bool orders) {
  const int n = ASC_countPresentationContexts(params);
  for (int i = 0; i < n; ++i) {
    T_ASC_PresentationContext pc;
    OFCondition cond = ASC_getPresentationContext(params, i, &pc);
    if (cond.bad()) return cond;
    const bool storage = IsStorageClass(pc.abstractSyntax);
    bool query_retrieve = false;
    for (const char* uid : kQueryRetrieveClasses) {
      query_retrieve = query_retrieve || std::strcmp(uid, pc.abstractSyntax) == 0;
    }
    // Modality Worklist and MPPS (issue 14) only when the hub has orders to answer from.
    for (const char* uid : kOrderClasses) {
      query_retrieve = query_retrieve || (orders && std::strcmp(uid, pc.abstractSyntax) == 0);
    }
    if (!storage && !query_retrieve) {
      ASC_refusePresentationContext(params, pc.presentationContextID,
                                    ASC_P_ABSTRACTSYNTAXNOTSUPPORTED);
      continue;
    }
    // Take the requestor's first acceptable syntax: it lists them in its preference order.
    const char* chosen = nullptr;
    for (int t = 0; t < pc.transferSyntaxCount && !chosen; ++t) {
      const char* ts = pc.proposedTransferSyntaxes[t];
      if (storage ? IsDicomTransferSyntax(ts)
                  : (std::strcmp(ts, kUncompressed[0]) == 0 || std::strcmp(ts, kUncompressed[1]) == 0 ||
                     std::strcmp(ts, kUncompressed[2]) == 0)) {
        chosen = ts;
      }
    }
    if (!chosen) {
      ASC_refusePresentationContext(params, pc.presentationContextID,
                                    ASC_P_TRANSFERSYNTAXESNOTSUPPORTED);
      continue;
    }
    // A C-GET requestor proposes the SCP role for the storage classes it wants to receive
    // (PS3.7 D.3.3.4); accept the role it asked for.
    T_ASC_SC_ROLE role = ASC_SC_ROLE_DEFAULT;
    if (storage && (pc.proposedRole == ASC_SC_ROLE_SCP || pc.proposedRole == ASC_SC_ROLE_SCUSCP)) {
      role = pc.proposedRole;
    }
    cond = ASC_acceptPresentationContext(params, pc.presentationContextID, chosen, role);
    if (cond.bad()) return cond;
  }
  return EC_Normal;
}

namespace {
bool RunCommandLoop(Session& s, const std::atomic<bool>& stopping);
}  // namespace

void ReportAudit(const DimseConfig& config, const AssociationInfo& info, const std::string& event,
                 bool success, const std::string& failure_reason, const std::string& detail,
                 const std::string& patient_id, const std::string& patient_name,
                 const std::string& study_uid) {
  if (!config.audit) return;
  audit::AuditEvent e;
  e.event = event;
  e.success = success;
  e.failure_reason = failure_reason;
  e.user = info.calling_ae;
  e.source = info.peer;
  e.patient_id = patient_id;
  e.patient_name = patient_name;
  e.study_uid = study_uid;
  e.detail = detail;
  e.interface = "dimse";
  try {
    config.audit(e);
  } catch (const std::exception& ex) {
    log::Warn(std::string("DICOM audit event lost: ") + ex.what());
  } catch (...) {
    log::Warn("DICOM audit event lost");
  }
}

namespace {
void AuditStores(Session& s) {
  for (const auto& [study, n] : s.stored_by_study) {
    auto [pid, pname] = StudyPatient(s.services, study);
    ReportAudit(s.config, s.info, "store", true, "", "C-STORE: " + std::to_string(n) + " instances",
                pid, pname, study);
  }
  if (s.store_refused > 0) {
    ReportAudit(s.config, s.info, "store", false, "not authorized",
                "C-STORE: " + std::to_string(s.store_refused) + " instances refused", "", "", "");
  }
}
}  // namespace

void ServeAssociation(T_ASC_Association* assoc, const DimseConfig& config,
                      const DimseServices& services, const AssociationInfo& info,
                      const std::atomic<bool>& stopping) {
  Session s{assoc, config, services, info, info.calling_ae, {}, 0};
  bool release = false;
  try {
    release = RunCommandLoop(s, stopping);
  } catch (const std::exception& e) {
    // One peer's bad input ends its own association, never the server.
    log::Error("association with " + s.calling_ae + " aborted: " + e.what());
  } catch (...) {
    log::Error("association with " + s.calling_ae + " aborted: unknown exception");
  }
  AuditStores(s);
  if (release) {
    ASC_acknowledgeRelease(assoc);
  } else {
    ASC_abortAssociation(assoc);
  }
  ASC_dropSCPAssociation(assoc);
  ASC_destroyAssociation(&assoc);
}

namespace {
// Returns true when the peer asked for a release.
bool RunCommandLoop(Session& s, const std::atomic<bool>& stopping) {
  T_ASC_Association* assoc = s.assoc;
  const DimseConfig& config = s.config;
  int idle_seconds = 0;
  bool release = false;
  while (true) {
    T_DIMSE_Message msg;
    T_ASC_PresentationContextID pres = 0;
    OFCondition cond = DIMSE_receiveCommand(assoc, DIMSE_NONBLOCKING, 1, &pres, &msg, nullptr);
    if (cond == DIMSE_NODATAAVAILABLE) {
      if (stopping.load() || ++idle_seconds >= config.idle_timeout_seconds) break;
      continue;
    }
    idle_seconds = 0;
    if (cond == DUL_PEERREQUESTEDRELEASE) {
      release = true;
      break;
    }
    if (cond.bad()) {
      if (cond != DUL_PEERABORTEDASSOCIATION) {
        log::Warn("association with " + s.calling_ae + " ended: " + cond.text());
      }
      break;
    }
    switch (msg.CommandField) {
      case DIMSE_C_ECHO_RQ:
        cond = DIMSE_sendEchoResponse(assoc, pres, &msg.msg.CEchoRQ, STATUS_Success, nullptr);
        break;
      case DIMSE_C_STORE_RQ:
        cond = HandleStore(s, msg, pres);
        break;
      case DIMSE_C_FIND_RQ:
        cond = HandleFind(s, msg, pres);
        break;
      case DIMSE_C_MOVE_RQ:
        cond = HandleMove(s, msg, pres);
        break;
      case DIMSE_C_GET_RQ:
        cond = HandleGet(s, msg, pres);
        break;
      case DIMSE_N_CREATE_RQ:
        cond = HandleMppsCreate(assoc, pres, &msg.msg.NCreateRQ, config, s.services, s.info);
        break;
      case DIMSE_N_SET_RQ:
        cond = HandleMppsSet(assoc, pres, &msg.msg.NSetRQ, config, s.services, s.info);
        break;
      default:
        log::Warn("unsupported DIMSE command 0x" + ToHex(msg.CommandField) + " from " +
                  s.calling_ae + "; aborting the association");
        cond = DIMSE_BADCOMMANDTYPE;
        break;
    }
    if (cond.bad()) {
      log::Warn("DIMSE error with " + s.calling_ae + ": " + cond.text());
      break;
    }
  }
  return release;
}
}  // namespace

}  // namespace radflow::dimse
