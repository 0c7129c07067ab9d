// Modality Worklist C-FIND SCP (PS3.4 K.4, K.6.1): the query's keys to orders::WorklistQuery,
// the matching orders to response identifiers holding exactly the requested attributes
// (K.6.1.2.2), and worklist item files (.wl) to orders for `radflow orders import`.
#include "dimse/mwl_scp.h"

#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcvr.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/log.h"
#include "dimse/association.h"
#include "orders/mwl_match.h"
#include "orders/order_service.h"

namespace radflow::dimse {

namespace {

using nlohmann::json;

DcmItem* SpsItem(DcmItem& ds) {
  DcmItem* sps = nullptr;
  if (ds.findAndGetSequenceItem(DCM_ScheduledProcedureStepSequence, sps, 0).good()) return sps;
  return nullptr;
}

std::string TagKey(const DcmTagKey& k) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04X%04X", k.getGroup(), k.getElement());
  return buf;
}

bool IsBinaryVr(DcmEVR vr) {
  return vr == EVR_OB || vr == EVR_OW || vr == EVR_OF || vr == EVR_OD || vr == EVR_OL ||
         vr == EVR_OV || vr == EVR_UN;
}

bool IsNumberVr(DcmEVR vr) {
  return vr == EVR_US || vr == EVR_UL || vr == EVR_SS || vr == EVR_SL || vr == EVR_FL ||
         vr == EVR_FD || vr == EVR_DS || vr == EVR_IS || vr == EVR_SV || vr == EVR_UV;
}

// DICOM JSON (PS3.18 F.2) of the elements of `item` that `keep` selects; binary values are
// not worklist attributes and are left out.
json ItemToJson(DcmItem& item, const std::function<bool(const DcmTagKey&)>& keep) {
  json out = json::object();
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* el = item.getElement(i);
    const DcmTagKey key = el->getTag();
    if (!keep(key)) continue;
    const DcmEVR vr = el->ident();
    if (IsBinaryVr(vr)) continue;
    json e = {{"vr", DcmVR(vr).getVRName()}};
    if (vr == EVR_SQ) {
      auto* seq = static_cast<DcmSequenceOfItems*>(el);
      json items = json::array();
      for (unsigned long n = 0; n < seq->card(); ++n) {
        items.push_back(ItemToJson(*seq->getItem(n), [](const DcmTagKey&) { return true; }));
      }
      if (!items.empty()) e["Value"] = items;
    } else {
      OFString v;
      if (el->getLength() > 0 && el->getOFStringArray(v).good() && !v.empty()) {
        json values = json::array();
        for (const auto& s : orders::SplitValues(v.c_str())) {
          if (vr == EVR_PN) {
            values.push_back(json{{"Alphabetic", s}});
          } else if (IsNumberVr(vr)) {
            try {
              values.push_back(std::stod(s));
            } catch (...) {
              values.push_back(s);
            }
          } else {
            values.push_back(s);
          }
        }
        e["Value"] = values;
      }
    }
    out[TagKey(key)] = e;
  }
  return out;
}

// Adds the elements of a DICOM JSON object to `item`, each only where `item` has none.
void AddJsonToItem(const json& j, DcmItem& item) {
  if (!j.is_object()) return;
  for (const auto& [key, e] : j.items()) {
    unsigned g = 0, el = 0;
    if (key.size() != 8 || std::sscanf(key.c_str(), "%4x%4x", &g, &el) != 2) continue;
    const DcmTagKey tag(static_cast<Uint16>(g), static_cast<Uint16>(el));
    if (item.tagExists(tag)) continue;
    const std::string vr_name = e.value("vr", "");
    DcmVR vr(vr_name.c_str());
    if (vr.getEVR() == EVR_SQ) {
      auto* seq = new DcmSequenceOfItems(DcmTag(tag, vr));
      if (e.contains("Value") && e["Value"].is_array()) {
        for (const auto& sub : e["Value"]) {
          auto* child = new DcmItem;
          AddJsonToItem(sub, *child);
          seq->insert(child);
        }
      }
      item.insert(seq, true);
      continue;
    }
    std::string joined;
    if (e.contains("Value") && e["Value"].is_array()) {
      bool first = true;
      for (const auto& v : e["Value"]) {
        if (!first) joined += '\\';
        first = false;
        if (v.is_object()) joined += v.value("Alphabetic", "");
        else if (v.is_string()) joined += v.get<std::string>();
        else if (v.is_number_integer()) joined += std::to_string(v.get<long long>());
        else if (v.is_number()) joined += std::to_string(v.get<double>());
      }
    }
    DcmTag t(tag, vr);
    item.putAndInsertString(t, joined.c_str());
  }
}

void Put(DcmItem& item, const DcmTagKey& key, const std::string& value, bool even_empty = false) {
  if (value.empty() && !even_empty) return;
  item.putAndInsertString(key, value.c_str());
}

// One code sequence item (PS3.3 8.8: CodeValue, CodingSchemeDesignator, CodeMeaning).
void PutCode(DcmItem& parent, const DcmTagKey& seq, const std::string& code, const std::string& scheme,
             const std::string& meaning) {
  DcmItem* item = nullptr;
  if (parent.findOrCreateSequenceItem(seq, item, 0).bad() || !item) return;
  Put(*item, DCM_CodeValue, code);
  Put(*item, DCM_CodingSchemeDesignator, scheme.empty() ? "L" : scheme);
  Put(*item, DCM_CodeMeaning, meaning);
}

// The whole worklist item of an order (PS3.4 Table K.6-1): what the order holds, then the
// attributes of an imported item that the order does not model (worklist_json).
std::unique_ptr<DcmDataset> WorklistItemOf(const storage::OrderRow& o) {
  auto ds = std::make_unique<DcmDataset>();
  Put(*ds, DCM_AccessionNumber, o.accession_number);
  Put(*ds, DCM_ReferringPhysicianName, o.referring_physician);
  Put(*ds, DCM_PatientName, o.patient_name);
  Put(*ds, DCM_PatientID, o.patient_id);
  Put(*ds, DCM_IssuerOfPatientID, o.issuer_of_patient_id);
  Put(*ds, DCM_PatientBirthDate, o.birth_date);
  Put(*ds, DCM_PatientSex, o.sex);
  Put(*ds, DCM_StudyInstanceUID, o.study_uid);
  Put(*ds, DCM_RequestedProcedureDescription, o.procedure_text);
  Put(*ds, DCM_RequestedProcedureID, o.requested_procedure_id);
  Put(*ds, DCM_RequestedProcedurePriority, o.priority);
  Put(*ds, DCM_ReasonForTheRequestedProcedure, o.reason);
  Put(*ds, DCM_PlacerOrderNumberImagingServiceRequest, o.placer_order_number);
  Put(*ds, DCM_FillerOrderNumberImagingServiceRequest, o.filler_order_number);

  DcmItem* sps = nullptr;
  if (ds->findOrCreateSequenceItem(DCM_ScheduledProcedureStepSequence, sps, 0).good() && sps) {
    // The full item (K.6-1), empty where there is no value: what a universal sequence
    // match returns (C.2.2.2.6).
    Put(*sps, DCM_Modality, o.modality, true);
    Put(*sps, DCM_ScheduledStationAETitle, o.station_ae, true);
    Put(*sps, DCM_ScheduledProcedureStepStartDate, o.scheduled_at ? orders::LocalDicomDate(o.scheduled_at) : "", true);
    Put(*sps, DCM_ScheduledProcedureStepStartTime, o.scheduled_at ? orders::LocalDicomTime(o.scheduled_at) : "", true);
    const int64_t end = o.scheduled_at && o.duration_minutes > 0 ? o.scheduled_at + o.duration_minutes * 60000LL : 0;
    Put(*sps, DCM_ScheduledProcedureStepEndDate, end ? orders::LocalDicomDate(end) : "", true);
    Put(*sps, DCM_ScheduledProcedureStepEndTime, end ? orders::LocalDicomTime(end) : "", true);
    Put(*sps, DCM_ScheduledProcedureStepID, o.procedure_step_id, true);
    Put(*sps, DCM_ScheduledStationName, o.station_name, true);
    Put(*sps, DCM_ScheduledProcedureStepStatus, orders::StepStatusOf(o.status), true);
    // Only a protocol a technologist confirmed goes to the modality; a proposal is not one.
    if (!o.protocol_code.empty() && (o.protocol_state == "accepted" || o.protocol_state == "changed")) {
      PutCode(*sps, DCM_ScheduledProtocolCodeSequence, o.protocol_code, "L", o.protocol_name);
    }
  }
  if (!o.worklist_json.empty()) {
    try {
      json extra = json::parse(o.worklist_json);
      // The SPS extras live in the first item of (0040,0100) in the JSON.
      const std::string sps_key = TagKey(DCM_ScheduledProcedureStepSequence);
      if (sps && extra.contains(sps_key) && extra[sps_key].contains("Value") &&
          extra[sps_key]["Value"].is_array() && !extra[sps_key]["Value"].empty()) {
        AddJsonToItem(extra[sps_key]["Value"][0], *sps);
      }
      extra.erase(sps_key);
      AddJsonToItem(extra, *ds);
    } catch (const std::exception& e) {
      log::Warn("order " + std::to_string(o.id) + ": unreadable worklist_json: " + e.what());
    }
  }
  // The imported item's own code sequence and RequestingPhysician (0032,1032) when it had
  // them; else the order's procedure code and physician.
  if (!o.procedure_code.empty() && !ds->tagExists(DCM_RequestedProcedureCodeSequence)) {
    PutCode(*ds, DCM_RequestedProcedureCodeSequence, o.procedure_code, o.procedure_scheme, o.procedure_text);
  }
  if (!ds->tagExists(DCM_RequestingPhysician)) Put(*ds, DCM_RequestingPhysician, o.referring_physician);
  return ds;
}

DcmElement* CloneElement(DcmElement* el) { return static_cast<DcmElement*>(el->clone()); }

// The requested attributes of `source` (K.6.1.2.2: exactly the keys of the request; a
// requested key without value comes back empty). A sequence key with no item or one empty
// item is universal: every attribute of every item comes back (C.2.2.2.6).
void Project(DcmItem& request, DcmItem& source, DcmItem& out) {
  for (unsigned long i = 0; i < request.card(); ++i) {
    DcmElement* rq = request.getElement(i);
    const DcmTagKey key = rq->getTag();
    if (key == DCM_SpecificCharacterSet || key == DCM_QueryRetrieveLevel) continue;
    if (key.getGroup() == 0x0002 || key.getElement() == 0x0000) continue;  // meta, group lengths
    if (rq->ident() == EVR_SQ) {
      auto* rq_seq = static_cast<DcmSequenceOfItems*>(rq);
      auto* out_seq = new DcmSequenceOfItems(rq->getTag());
      DcmSequenceOfItems* src_seq = nullptr;
      if (source.findAndGetSequence(key, src_seq).good() && src_seq) {
        const bool universal = rq_seq->card() == 0 || rq_seq->getItem(0)->card() == 0;
        for (unsigned long n = 0; n < src_seq->card(); ++n) {
          DcmItem* src_item = src_seq->getItem(n);
          if (universal) {
            out_seq->insert(static_cast<DcmItem*>(src_item->clone()));
          } else {
            auto* item = new DcmItem;
            Project(*rq_seq->getItem(0), *src_item, *item);
            out_seq->insert(item);
          }
        }
      }
      out.insert(out_seq, true);
      continue;
    }
    DcmElement* src = nullptr;
    if (source.findAndGetElement(key, src, OFFalse).good() && src && src->getLength() > 0) {
      out.insert(CloneElement(src), true);
    } else {
      out.insertEmptyElement(rq->getTag(), true);
    }
  }
}

bool HasNonAscii(DcmItem& item) {
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* el = item.getElement(i);
    if (el->ident() == EVR_SQ) {
      auto* seq = static_cast<DcmSequenceOfItems*>(el);
      for (unsigned long n = 0; n < seq->card(); ++n) {
        if (HasNonAscii(*seq->getItem(n))) return true;
      }
      continue;
    }
    if (!el->isaString()) continue;
    OFString v;
    if (el->getOFStringArray(v).good()) {
      for (unsigned char c : v) {
        if (c >= 0x80) return true;
      }
    }
  }
  return false;
}

}  // namespace

Result<orders::WorklistQuery> WorklistQueryFromIdentifier(DcmDataset& request) {
  orders::WorklistQuery q;
  q.patient_id = DatasetString(&request, DCM_PatientID);
  q.issuer_of_patient_id = DatasetString(&request, DCM_IssuerOfPatientID);
  q.patient_name = DatasetString(&request, DCM_PatientName);
  q.accession_number = DatasetString(&request, DCM_AccessionNumber);
  q.requested_procedure_id = DatasetString(&request, DCM_RequestedProcedureID);
  q.study_uid = DatasetString(&request, DCM_StudyInstanceUID);
  q.referring_physician = DatasetString(&request, DCM_ReferringPhysicianName);
  q.priority = DatasetString(&request, DCM_RequestedProcedurePriority);
  q.patient_sex = DatasetString(&request, DCM_PatientSex);
  q.birth_date = DatasetString(&request, DCM_PatientBirthDate);
  if (DcmItem* sps = SpsItem(request)) {
    q.station_ae = DatasetString(sps, DCM_ScheduledStationAETitle);
    q.modality = DatasetString(sps, DCM_Modality);
    q.start_date = DatasetString(sps, DCM_ScheduledProcedureStepStartDate);
    q.start_time = DatasetString(sps, DCM_ScheduledProcedureStepStartTime);
    q.performing_physician = DatasetString(sps, DCM_ScheduledPerformingPhysicianName);
    q.step_id = DatasetString(sps, DCM_ScheduledProcedureStepID);
    q.step_status = DatasetString(sps, DCM_ScheduledProcedureStepStatus);
  }
  RADFLOW_RETURN_IF_ERROR(orders::ValidateQuery(q));
  return q;
}

DcmDataset* WorklistResponse(DcmDataset& request, const storage::OrderRow& order) {
  auto item = WorklistItemOf(order);
  auto* rsp = new DcmDataset;
  Project(request, *item, *rsp);
  // Order values are UTF-8; pure ASCII needs no SpecificCharacterSet (PS3.5 6.1.2.3).
  if (HasNonAscii(*rsp)) {
    rsp->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
  } else if (request.tagExists(DCM_SpecificCharacterSet)) {
    rsp->insertEmptyElement(DCM_SpecificCharacterSet);
  }
  return rsp;
}

Result<storage::OrderRow> ReadWorklistItem(const std::string& path) {
  DcmFileFormat file;
  OFCondition cond = file.loadFile(path.c_str());
  if (cond.bad()) {
    return {ErrorCode::kInvalidDicom, path + ": not a readable DICOM dataset: " + cond.text()};
  }
  DcmDataset& ds = *file.getDataset();
  cond = ds.convertToUTF8();
  if (cond.bad()) {
    return {ErrorCode::kInvalidDicom, path + ": SpecificCharacterSet '" + DatasetString(&ds, DCM_SpecificCharacterSet) +
                                          "' cannot be converted to UTF-8: " + cond.text()};
  }
  DcmItem* sps = SpsItem(ds);
  if (!sps) {
    return {ErrorCode::kMissingAttribute,
            path + ": no ScheduledProcedureStepSequence (0040,0100) item: not a worklist item"};
  }
  storage::OrderRow o;
  o.source = "dicom";
  o.status = "scheduled";
  o.accession_number = DatasetString(&ds, DCM_AccessionNumber);
  o.referring_physician = DatasetString(&ds, DCM_ReferringPhysicianName);
  o.patient_name = DatasetString(&ds, DCM_PatientName);
  o.patient_id = DatasetString(&ds, DCM_PatientID);
  o.issuer_of_patient_id = DatasetString(&ds, DCM_IssuerOfPatientID);
  o.birth_date = DatasetString(&ds, DCM_PatientBirthDate);
  o.sex = DatasetString(&ds, DCM_PatientSex);
  o.study_uid = DatasetString(&ds, DCM_StudyInstanceUID);
  o.procedure_text = DatasetString(&ds, DCM_RequestedProcedureDescription);
  o.requested_procedure_id = DatasetString(&ds, DCM_RequestedProcedureID);
  o.reason = DatasetString(&ds, DCM_ReasonForTheRequestedProcedure);
  o.placer_order_number = DatasetString(&ds, DCM_PlacerOrderNumberImagingServiceRequest);
  o.filler_order_number = DatasetString(&ds, DCM_FillerOrderNumberImagingServiceRequest);
  std::set<DcmTagKey> modelled = {
      DCM_SpecificCharacterSet, DCM_AccessionNumber, DCM_ReferringPhysicianName, DCM_PatientName,
      DCM_PatientID, DCM_IssuerOfPatientID, DCM_PatientBirthDate, DCM_PatientSex, DCM_StudyInstanceUID,
      DCM_RequestedProcedureDescription, DCM_RequestedProcedureID, DCM_RequestedProcedurePriority,
      DCM_ReasonForTheRequestedProcedure, DCM_PlacerOrderNumberImagingServiceRequest,
      DCM_FillerOrderNumberImagingServiceRequest};
  DcmItem* code = nullptr;
  if (ds.findAndGetSequenceItem(DCM_RequestedProcedureCodeSequence, code, 0).good() && code) {
    o.procedure_code = DatasetString(code, DCM_CodeValue);
    o.procedure_scheme = DatasetString(code, DCM_CodingSchemeDesignator);
    if (o.procedure_text.empty()) o.procedure_text = DatasetString(code, DCM_CodeMeaning);
    // Kept as it was when the order cannot give it back the same (a meaning of its own).
    if (DatasetString(code, DCM_CodeMeaning) == o.procedure_text && !o.procedure_scheme.empty()) {
      modelled.insert(DCM_RequestedProcedureCodeSequence);
    }
  }
  const std::string priority = DatasetString(&ds, DCM_RequestedProcedurePriority);
  if (!priority.empty()) {
    static const std::set<std::string> kPriorities = {"STAT", "HIGH", "ROUTINE", "MEDIUM", "LOW"};
    if (!kPriorities.count(priority)) {
      return {ErrorCode::kInvalidArgument, path + ": RequestedProcedurePriority (0040,1003) '" + priority +
                                               "' is not STAT, HIGH, ROUTINE, MEDIUM or LOW"};
    }
    o.priority = priority;
  }
  o.modality = DatasetString(sps, DCM_Modality);
  o.station_ae = DatasetString(sps, DCM_ScheduledStationAETitle);
  o.station_name = DatasetString(sps, DCM_ScheduledStationName);
  o.procedure_step_id = DatasetString(sps, DCM_ScheduledProcedureStepID);
  const std::string date = DatasetString(sps, DCM_ScheduledProcedureStepStartDate);
  const std::string time = DatasetString(sps, DCM_ScheduledProcedureStepStartTime);
  if (!date.empty()) {
    o.scheduled_at = orders::FromLocalDicom(date, time);
    if (o.scheduled_at == -1) {
      return {ErrorCode::kInvalidArgument, path + ": ScheduledProcedureStepStartDate/Time (0040,0002/0003) '" +
                                               date + " " + time + "' is not a date and time"};
    }
  }
  const int64_t end = orders::FromLocalDicom(DatasetString(sps, DCM_ScheduledProcedureStepEndDate),
                                             DatasetString(sps, DCM_ScheduledProcedureStepEndTime));
  if (o.scheduled_at && end > o.scheduled_at) o.duration_minutes = static_cast<int>((end - o.scheduled_at) / 60000);
  const std::set<DcmTagKey> sps_modelled = {
      DCM_Modality, DCM_ScheduledStationAETitle, DCM_ScheduledStationName, DCM_ScheduledProcedureStepID,
      DCM_ScheduledProcedureStepStartDate, DCM_ScheduledProcedureStepStartTime,
      DCM_ScheduledProcedureStepEndDate, DCM_ScheduledProcedureStepEndTime,
      DCM_ScheduledProcedureStepStatus};

  json extra = ItemToJson(ds, [&](const DcmTagKey& k) {
    return !modelled.count(k) && k != DCM_ScheduledProcedureStepSequence;
  });
  json sps_extra = ItemToJson(*sps, [&](const DcmTagKey& k) { return !sps_modelled.count(k); });
  if (!sps_extra.empty()) {
    extra[TagKey(DCM_ScheduledProcedureStepSequence)] = {{"vr", "SQ"}, {"Value", json::array({sps_extra})}};
  }
  if (!extra.empty()) o.worklist_json = extra.dump();
  return o;
}

namespace {

struct WorklistFindContext {
  const DimseServices* services = nullptr;
  const AssociationInfo* info = nullptr;
  bool started = false, refused = false;
  Status error;
  std::vector<storage::OrderRow> rows;
  size_t next = 0;
  std::string patient_id, patient_name;
  DcmDataset* detail = nullptr;  // handed to DCMTK, which deletes it
};

void WorklistFindCallback(void* data, OFBool cancelled, T_DIMSE_C_FindRQ*, DcmDataset* request, int,
                          T_DIMSE_C_FindRSP* rsp, DcmDataset** response, DcmDataset** detail) {
  auto* ctx = static_cast<WorklistFindContext*>(data);
  *response = nullptr;
  if (!ctx->started) {
    ctx->started = true;
    ctx->patient_id = DatasetString(request, DCM_PatientID);
    ctx->patient_name = DatasetString(request, DCM_PatientName);
    if (!ctx->info->allow.query) {
      ctx->refused = true;
      rsp->DimseStatus = 0x0124;  // PS3.7 C.5: Refused - Not Authorized
      SetErrorComment(&ctx->detail, "not authorized to query (docs/dicom-access.md)");
      *detail = ctx->detail;
      return;
    }
    auto q = request ? WorklistQueryFromIdentifier(*request)
                     : Result<orders::WorklistQuery>(ErrorCode::kInvalidArgument, "no identifier");
    if (!q.ok()) {
      ctx->error = q.status();
    } else {
      auto rows = ctx->services->orders->Worklist(q.value());
      if (rows.ok()) ctx->rows = std::move(rows.value());
      else ctx->error = rows.status();
    }
  }
  if (!ctx->error.ok()) {
    // PS3.4 K.4.1.1.4 (C.4.1.1.4): 0xA900 identifier does not match SOP class, 0xC000 unable to process.
    rsp->DimseStatus = ctx->error.code() == ErrorCode::kInvalidArgument ? STATUS_FIND_Error_DataSetDoesNotMatchSOPClass
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
  *response = WorklistResponse(*request, ctx->rows[ctx->next++]);
  rsp->DimseStatus = STATUS_Pending;
}

}  // namespace

OFCondition HandleWorklistFind(T_ASC_Association* assoc, T_ASC_PresentationContextID pres,
                               T_DIMSE_C_FindRQ* request, const DimseConfig& config,
                               const DimseServices& services, const AssociationInfo& info) {
  WorklistFindContext ctx;
  ctx.services = &services;
  ctx.info = &info;
  OFCondition cond = DIMSE_findProvider(assoc, pres, request, WorklistFindCallback, &ctx, DIMSE_BLOCKING, 0);
  const bool ok = !ctx.refused && ctx.error.ok();
  // Audited as a query (docs/audit.md), one record per C-FIND.
  ReportAudit(config, info, "query", ok,
              ctx.refused ? "not authorized" : ctx.error.ok() ? "" : ctx.error.message(),
              "C-FIND MWL" + (ok ? ": " + std::to_string(ctx.rows.size()) + " matches" : std::string()),
              ctx.patient_id, ctx.patient_name, "");
  return cond;
}

}  // namespace radflow::dimse
