// STOW-RS (PS3.18 10.5): multipart/related; type="application/dicom" request bodies,
// streamed part by part into temporary files and stored through IngestService::Store.
// Memory use does not depend on the size of the request or of a part.
//
// A part is stored on a small per-request pool while the next one is received, at most
// kInFlight at once (its fsyncs and index commit overlap the socket reads), announced by
// the Media Storage SOP Instance UID of its file meta so that it takes the ingest's fast
// path (data sync in parallel with the parse), as a C-STORE does. Parts naming the same
// UID are never stored concurrently: the second waits for the first (duplicate policy).
#include <algorithm>
#include <cstdio>
#include <deque>
#include <future>
#include <memory>
#include <optional>

#include "api/dicom_json.h"
#include "api/dicomweb.h"
#include "api/multipart.h"
#include "base/thread_pool.h"

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

constexpr size_t kInFlight = 4;     // parts being stored while the next is received
constexpr size_t kMetaPeek = 16384;  // bytes of a part kept to read its file meta from

// (0002,0003) Media Storage SOP Instance UID from the start of a Part-10 stream (group 0002
// is always Explicit VR Little Endian), "" when it is not there: the part is then stored
// with no announcement (the careful path) once the parts before it are done.
std::string MediaStorageSopUid(std::string_view b) {
  if (b.size() < 132 || b.substr(128, 4) != "DICM") return "";
  size_t at = 132;
  auto u16 = [&](size_t i) { return uint16_t(uint8_t(b[i]) | uint8_t(b[i + 1]) << 8); };
  while (at + 8 <= b.size() && u16(at) == 0x0002) {
    const uint16_t element = u16(at + 2);
    const std::string_view vr = b.substr(at + 4, 2);
    size_t length = 0, value = 0;
    // PS3.5 7.1.2: the VRs with a reserved field and a 4-byte length.
    if (vr == "OB" || vr == "OD" || vr == "OF" || vr == "OL" || vr == "OV" || vr == "OW" || vr == "SQ" ||
        vr == "SV" || vr == "UC" || vr == "UN" || vr == "UR" || vr == "UT" || vr == "UV") {
      if (at + 12 > b.size()) return "";
      length = u16(at + 8) | size_t{u16(at + 10)} << 16;
      value = at + 12;
    } else {
      length = u16(at + 6);
      value = at + 8;
    }
    if (value + length > b.size()) return "";
    if (element == 0x0003) {
      std::string uid(b.substr(value, length));
      while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) uid.pop_back();
      return dicom::IsValidUid(uid) ? uid : "";
    }
    at = value + length;
  }
  return "";
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

  std::vector<PartOutcome> outcomes;  // of the parts settled, in request order
  struct Pending {
    std::string uid;  // announced; "" stored unannounced
    std::future<PartOutcome> outcome;
  };
  std::deque<Pending> pending;  // being stored, in request order
  auto settle_front = [&] {
    outcomes.push_back(pending.front().outcome.get());
    pending.pop_front();
  };
  auto settle_all = [&] {
    while (!pending.empty()) settle_front();
  };
  std::string temp, head;
  FILE* out = nullptr;
  std::string part_error;  // a part refused before storing (its media type)
  auto close_part = [&] {
    if (out) std::fclose(out);
    out = nullptr;
  };
  ThreadPool pool(kInFlight);  // declared after `pending`: its tasks finish before it goes
  const ingest::Origin request_origin{ingest::Origin::Kind::kStowRs, req.Header("x-forwarded-for"), "",
                                      study_uid};
  MultipartParser::Callbacks cb;
  cb.part_begin = [&](const std::map<std::string, std::string>& headers) -> Status {
    part_error.clear();
    head.clear();
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
    if (head.size() < kMetaPeek) head.append(data.substr(0, kMetaPeek - head.size()));
    if (std::fwrite(data.data(), 1, data.size(), out) != data.size()) {
      return Status(ErrorCode::kIoError, "cannot write " + temp);
    }
    return Status::Ok();
  };
  cb.part_end = [&]() -> Status {
    bool flushed = std::fflush(out) == 0;
    close_part();
    if (!part_error.empty() || !flushed) {
      std::remove(temp.c_str());
      PartOutcome p;
      p.failure_reason = 0xC000;  // cannot understand (PS3.4 B.2.3)
      p.message = flushed ? part_error : "cannot write the part";
      std::promise<PartOutcome> done;
      done.set_value(std::move(p));
      pending.push_back({"", done.get_future()});
      return Status::Ok();
    }
    ingest::Origin origin = request_origin;
    origin.announced_sop_instance_uid = MediaStorageSopUid(head);
    const std::string& uid = origin.announced_sop_instance_uid;
    // Unannounced: alone. Announced: after any part with the same UID, within kInFlight.
    if (uid.empty()) settle_all();
    while (!pending.empty() && (pending.size() >= kInFlight ||
                                std::any_of(pending.begin(), pending.end(),
                                            [&](const Pending& p) { return p.uid == uid; }))) {
      settle_front();
    }
    auto future = pool.Submit([&ctx, origin, path = temp]() {
      PartOutcome p;
      ingest::StoreResult identified;
      // An exception is this part's failure: rethrown by settle_front it would abandon the
      // request's other parts and their outcomes.
      std::optional<Result<ingest::StoreResult>> stored;
      try {
        stored.emplace(ctx.ingest->Store(path, origin, &identified));
      } catch (const std::exception& e) {
        std::remove(path.c_str());
        p.failure_reason = 0x0110;  // processing failure (PS3.4 B.2.3)
        p.message = std::string("processing failure: ") + e.what();
        return p;
      }
      const auto& r = *stored;
      p.ok = r.ok();
      p.sop_class_uid = identified.sop_class_uid;
      p.sop_instance_uid = identified.sop_instance_uid;
      p.study_uid = identified.study_instance_uid;
      p.series_uid = identified.series_instance_uid;
      if (!r.ok()) {
        p.failure_reason = r.status().dimse_status();
        p.message = r.status().message();
      }
      return p;
    });
    pending.push_back({uid, std::move(future)});
    if (uid.empty()) settle_all();
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
  settle_all();
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
