// STOW-RS (PS3.18 10.5): multipart/related; type="application/dicom" request bodies,
// streamed part by part into temporary files and stored through IngestService::Store.
// Memory use does not depend on the size of the request or of a part.
#include <cstdio>
#include <memory>

#include "api/dicom_json.h"
#include "api/dicomweb.h"
#include "api/multipart.h"

namespace radflow::api {

namespace {

struct PartOutcome {
  bool ok = false;
  std::string sop_class_uid, sop_instance_uid, study_uid, series_uid;
  uint16_t failure_reason = 0;
  std::string message;
};

nlohmann::json ReferencedItem(const DicomWebContext& ctx, const PartOutcome& p) {
  nlohmann::json item = nlohmann::json::object();
  if (!p.sop_class_uid.empty()) item["00081150"] = {{"vr", "UI"}, {"Value", {p.sop_class_uid}}};
  if (!p.sop_instance_uid.empty()) item["00081155"] = {{"vr", "UI"}, {"Value", {p.sop_instance_uid}}};
  if (p.ok) {
    // The instance's own RetrieveURL (PS3.18 10.5.3.1).
    item["00081190"] = {{"vr", "UR"}, {"Value", {ctx.root + "/studies/" + p.study_uid + "/series/" +
                                                 p.series_uid + "/instances/" + p.sop_instance_uid}}};
  } else {
    item["00081197"] = {{"vr", "US"}, {"Value", {p.failure_reason}}};  // FailureReason
  }
  return item;
}

}  // namespace

http::Response StowStore(const DicomWebContext& ctx, const http::Request& req,
                         http::BodyReader& body, const std::string& study_uid) {
  auto ct = ParseMediaType(req.Header("content-type"));
  if (ct[""] != "multipart/related" || (ct.count("type") && ct["type"] != "application/dicom")) {
    auto r = http::Response::Error(Status(ErrorCode::kUnsupported,
        "Content-Type must be multipart/related; type=\"application/dicom\" (got '" +
        req.Header("content-type") + "')"));
    r.status = 415;
    return r;
  }
  if (ct["boundary"].empty()) {
    return http::Response::Error(Status(ErrorCode::kInvalidArgument, "multipart Content-Type has no boundary"));
  }
  if (!study_uid.empty() && !dicom::IsValidUid(study_uid)) {
    return http::Response::Error(Status(ErrorCode::kInvalidArgument, "not a UID: '" + study_uid + "'"));
  }

  std::vector<PartOutcome> outcomes;
  std::string temp;
  FILE* out = nullptr;
  std::string part_error;  // a part refused before storing (its media type)
  auto close_part = [&] {
    if (out) std::fclose(out);
    out = nullptr;
  };
  MultipartParser::Callbacks cb;
  cb.part_begin = [&](const std::map<std::string, std::string>& headers) -> Status {
    part_error.clear();
    auto it = headers.find("content-type");
    if (it != headers.end()) {
      auto type = ParseMediaType(it->second)[""];
      if (type != "application/dicom") part_error = "part media type " + type + " is not application/dicom";
    }
    temp = ctx.ingest->NewTempPath();
    out = std::fopen(temp.c_str(), "wb");
    if (!out) return Status(ErrorCode::kIoError, "cannot create " + temp);
    return Status::Ok();
  };
  cb.part_data = [&](std::string_view data) -> Status {
    if (std::fwrite(data.data(), 1, data.size(), out) != data.size()) {
      return Status(ErrorCode::kIoError, "cannot write " + temp);
    }
    return Status::Ok();
  };
  cb.part_end = [&]() -> Status {
    bool flushed = std::fflush(out) == 0;
    close_part();
    PartOutcome p;
    if (!part_error.empty() || !flushed) {
      std::remove(temp.c_str());
      p.failure_reason = 0xC000;  // cannot understand (PS3.4 B.2.3)
      p.message = flushed ? part_error : "cannot write the part";
    } else {
      ingest::Origin origin{ingest::Origin::Kind::kStowRs, req.Header("x-forwarded-for"), "", study_uid};
      ingest::StoreResult identified;
      auto r = ctx.ingest->Store(temp, origin, &identified);
      p.ok = r.ok();
      p.sop_class_uid = identified.sop_class_uid;
      p.sop_instance_uid = identified.sop_instance_uid;
      p.study_uid = identified.study_instance_uid;
      p.series_uid = identified.series_instance_uid;
      if (!r.ok()) {
        p.failure_reason = r.status().dimse_status();
        p.message = r.status().message();
      }
    }
    outcomes.push_back(std::move(p));
    return Status::Ok();
  };
  MultipartParser parser(ct["boundary"], std::move(cb));
  std::vector<char> buffer(256 * 1024);
  Status st;
  for (;;) {
    auto n = body.Read(buffer.data(), buffer.size());
    if (!n.ok()) {
      st = n.status();
      break;
    }
    if (n.value() == 0) {
      st = parser.Finish();
      break;
    }
    st = parser.Feed(std::string_view(buffer.data(), n.value()));
    if (!st.ok()) break;
  }
  if (out) {
    close_part();
    std::remove(temp.c_str());
  }
  // Parts stored before a malformed ending stay stored (they were acknowledged to nobody,
  // but losing them would be worse); the response says the request was malformed.
  if (!st.ok()) {
    auto r = http::Response::Error(Status(ErrorCode::kInvalidArgument, "malformed multipart body: " +
                                                                          st.message() + " (" +
                                                                          std::to_string(outcomes.size()) +
                                                                          " part(s) processed)"));
    r.status = 400;
    return r;
  }
  if (outcomes.empty()) {
    return http::Response::Error(Status(ErrorCode::kInvalidArgument, "multipart body has no parts"));
  }

  nlohmann::json res = nlohmann::json::object();
  nlohmann::json referenced = nlohmann::json::array(), failed = nlohmann::json::array();
  for (const auto& p : outcomes) (p.ok ? referenced : failed).push_back(ReferencedItem(ctx, p));
  if (!study_uid.empty()) res["00081190"] = {{"vr", "UR"}, {"Value", {ctx.root + "/studies/" + study_uid}}};
  if (!referenced.empty()) res["00081199"] = {{"vr", "SQ"}, {"Value", referenced}};
  if (!failed.empty()) res["00081198"] = {{"vr", "SQ"}, {"Value", failed}};
  http::Response r;
  r.content_type = "application/dicom+json";
  r.body = res.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // The reasons, for people: the JSON model has no place for text (PS3.18 10.5.3.1).
  std::string reasons;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].ok) continue;
    std::string m = outcomes[i].message;
    for (auto& c : m) if (c == '"' || c < 0x20) c = ' ';
    reasons += (reasons.empty() ? "" : "; ") + ("part " + std::to_string(i + 1) + ": " + m);
    if (reasons.size() > 2000) break;
  }
  if (!reasons.empty()) r.headers.emplace_back("Warning", "299 radflow \"" + reasons + "\"");
  // PS3.18 10.5.3: 200 all stored, 202 some failed, 409 none stored.
  r.status = failed.empty() ? 200 : (referenced.empty() ? 409 : 202);
  return r;
}

}  // namespace radflow::api
