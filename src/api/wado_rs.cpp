// WADO-RS (PS3.18 10.4): studies, series and instances as multipart/related DICOM,
// metadata in the DICOM JSON model, frames, bulk data, rendered images and thumbnails.
#include <fstream>
#include <memory>

#include "api/dicom_json.h"
#include "api/dicomweb.h"
#include "api/multipart.h"
#include "dicom/json_model.h"
#include "pixel/pixel_data.h"
#include "query/matching.h"

namespace radflow::api {

namespace t = dicom::tags;
using storage::InstanceLocation;

namespace {

constexpr const char* kExplicitLE = "1.2.840.10008.1.2.1";
constexpr const char* kImplicitLE = "1.2.840.10008.1.2";

struct MediaRange {
  std::string type;  // "multipart/related", "application/dicom", "*/*", ...
  std::map<std::string, std::string> params;
};

// Accept: comma-separated media ranges (quotes respected).
std::vector<MediaRange> ParseAccept(const std::string& header) {
  std::vector<MediaRange> out;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= header.size(); ++i) {
    if (i < header.size() && header[i] == '"') quoted = !quoted;
    if (i == header.size() || (header[i] == ',' && !quoted)) {
      auto p = ParseMediaType(std::string_view(header).substr(start, i - start));
      if (!p[""].empty()) {
        MediaRange r;
        r.type = p[""];
        p.erase("");
        r.params = std::move(p);
        out.push_back(std::move(r));
      }
      start = i + 1;
    }
  }
  if (out.empty()) out.push_back({"*/*", {}});
  return out;
}

http::Response Error(ErrorCode code, const std::string& message) {
  return http::Response::Error(Status(code, message));
}
// A representation radflow cannot produce is 406 on a GET (kUnsupported maps to 415,
// which is about request bodies).
http::Response ErrorResponse(const Status& status) {
  auto r = http::Response::Error(status);
  if (status.code() == ErrorCode::kUnsupported) r.status = 406;
  return r;
}
http::Response NotAcceptable(const std::string& message) {
  return ErrorResponse(Status(ErrorCode::kUnsupported, message));
}

// Media type of a frame in its stored encoding (PS3.18 Table 8.7.3-5).
std::string FrameMediaType(const std::string& ts) {
  if (ts == "1.2.840.10008.1.2.4.50" || ts == "1.2.840.10008.1.2.4.51" ||
      ts == "1.2.840.10008.1.2.4.57" || ts == "1.2.840.10008.1.2.4.70") return "image/jpeg";
  if (ts == "1.2.840.10008.1.2.4.80" || ts == "1.2.840.10008.1.2.4.81") return "image/jls";
  if (ts == "1.2.840.10008.1.2.4.90" || ts == "1.2.840.10008.1.2.4.91") return "image/jp2";
  if (ts == "1.2.840.10008.1.2.4.201" || ts == "1.2.840.10008.1.2.4.202" ||
      ts == "1.2.840.10008.1.2.4.203") return "image/jphc";
  if (ts == "1.2.840.10008.1.2.5") return "image/dicom-rle";
  return "";  // native: not served compressed
}

// The instances a retrieve path names, in order.
Result<std::vector<InstanceLocation>> Locate(const DicomWebContext& ctx, const std::string& study,
                                            const std::string& series, const std::string& sop) {
  std::vector<std::pair<dicom::Tag, std::string>> keys{{t::kStudyInstanceUID, study}};
  if (!series.empty()) keys.emplace_back(t::kSeriesInstanceUID, series);
  if (!sop.empty()) keys.emplace_back(t::kSOPInstanceUID, sop);
  auto q = query::BuildQuery(storage::ResourceLevel::kInstance, keys);
  if (!q.ok()) return q.status();
  auto found = ctx.index->Locate(q.value());
  if (!found.ok()) return found.status();
  if (found->empty()) {
    return Status(ErrorCode::kNotFound, sop.empty() ? (series.empty() ? "no study " + study : "no series " + series)
                                                   : "no instance " + sop);
  }
  return found;
}

std::string InstanceUrl(const DicomWebContext& ctx, const InstanceLocation& l) {
  return ctx.root + "/studies/" + l.study_uid + "/series/" + l.series_uid + "/instances/" + l.sop_uid;
}

// Streams a sequence of parts, each produced on demand, as one multipart body.
struct PartSource {
  std::string content_type;
  std::function<Result<std::string>()> bytes;  // whole part (frames, metadata: small)
  std::string file;                             // or a file, streamed in chunks
};

http::Response MultipartResponse(const std::string& type, std::vector<PartSource> parts) {
  // The first generated part is produced before the answer starts, so that a failure
  // (an undecodable frame, say) is still an error status rather than a truncated 200.
  if (!parts.empty() && parts.front().bytes) {
    auto first = parts.front().bytes();
    if (!first.ok()) return ErrorResponse(first.status());
    auto shared = std::make_shared<std::string>(std::move(first.value()));
    parts.front().bytes = [shared]() -> Result<std::string> { return std::move(*shared); };
  }
  auto boundary = NewBoundary();
  http::Response res;
  res.content_type = "multipart/related; type=\"" + type + "\"; boundary=" + boundary;
  struct State {
    std::vector<PartSource> parts;
    size_t next = 0;
    std::unique_ptr<std::ifstream> in;
    bool closed = false;
  };
  auto st = std::make_shared<State>();
  st->parts = std::move(parts);
  res.stream = [st, boundary](std::string& chunk) -> bool {
    constexpr size_t kChunk = 1 << 20;
    if (st->in) {
      chunk.resize(kChunk);
      st->in->read(chunk.data(), static_cast<std::streamsize>(kChunk));
      chunk.resize(static_cast<size_t>(st->in->gcount()));
      if (!*st->in) {
        st->in.reset();
        chunk += "\r\n";
      }
      return true;
    }
    if (st->next == st->parts.size()) {
      if (st->closed) return false;
      st->closed = true;
      chunk = CloseDelimiter(boundary);
      return false;
    }
    PartSource& p = st->parts[st->next++];
    if (!p.file.empty()) {
      st->in = std::make_unique<std::ifstream>(p.file, std::ios::binary);
      if (!*st->in) throw std::runtime_error("cannot open " + p.file);
      chunk = PartHeader(boundary, p.content_type);
      return true;
    }
    auto bytes = p.bytes();
    if (!bytes.ok()) throw std::runtime_error(bytes.status().ToString());
    chunk = PartHeader(boundary, p.content_type, bytes->size()) + bytes.value() + "\r\n";
    return true;
  };
  return res;
}

// What transfer syntax the client asks DICOM objects in: "" for as stored.
Result<std::string> NegotiateDicomSyntax(const std::string& accept) {
  for (const auto& r : ParseAccept(accept)) {
    std::string ts;
    if (r.type == "multipart/related") {
      auto type = r.params.count("type") ? r.params.at("type") : "application/dicom";
      if (type != "application/dicom") continue;
      ts = r.params.count("transfer-syntax") ? r.params.at("transfer-syntax") : "";
    } else if (r.type == "application/dicom" || r.type == "*/*" || r.type == "multipart/*") {
      ts = r.params.count("transfer-syntax") ? r.params.at("transfer-syntax") : "";
    } else {
      continue;
    }
    if (ts.empty() || ts == "*") return std::string();
    // Explicit/Implicit VR LE are produced by transcoding; any other syntax only when it is
    // what is stored (checked per instance by RetrieveDicom).
    return ts;
  }
  return Status(ErrorCode::kUnsupported, "Accept names no media type WADO-RS can return here "
                                         "(multipart/related; type=\"application/dicom\")");
}

http::Response RetrieveDicom(const DicomWebContext& ctx, const http::Request& req,
                             const std::vector<InstanceLocation>& instances) {
  auto ts = NegotiateDicomSyntax(req.Header("accept"));
  if (!ts.ok()) return NotAcceptable(ts.status().message());
  std::vector<PartSource> parts;
  for (const auto& l : instances) {
    const std::string path = ctx.blobs->AbsolutePath(l.blob_path);
    if (ts->empty() || ts.value() == l.transfer_syntax_uid) {
      parts.push_back({"application/dicom; transfer-syntax=" + l.transfer_syntax_uid, nullptr, path});
    } else if (ts.value() == kExplicitLE || ts.value() == kImplicitLE) {
      const std::string target = ts.value();
      parts.push_back({"application/dicom; transfer-syntax=" + target,
                       [path, target] { return pixel::TranscodeToUncompressed(path, target); }, ""});
    } else {
      return NotAcceptable("cannot transcode " + l.sop_uid + " from " + l.transfer_syntax_uid +
                           " to " + ts.value());
    }
  }
  return MultipartResponse("application/dicom", std::move(parts));
}

http::Response Metadata(const DicomWebContext& ctx, const std::vector<InstanceLocation>& instances) {
  std::string body = "[";
  for (size_t i = 0; i < instances.size(); ++i) {
    const auto& l = instances[i];
    dicom::JsonOptions options;
    options.bulk_base_uri = InstanceUrl(ctx, l) + "/bulk";
    auto json = dicom::InstanceToDicomJson(ctx.blobs->AbsolutePath(l.blob_path), options);
    if (!json.ok()) return http::Response::Error(json.status());
    if (i) body += ",";
    body += json.value();
  }
  body += "]";
  http::Response res;
  res.content_type = "application/dicom+json";
  res.body = std::move(body);
  return res;
}

Result<std::vector<int>> ParseFrameList(const std::string& list) {
  std::vector<int> frames;
  size_t start = 0;
  for (size_t i = 0; i <= list.size(); ++i) {
    if (i != list.size() && list[i] != ',') continue;
    std::string item = list.substr(start, i - start);
    start = i + 1;
    char* end = nullptr;
    long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1) {
      return Status(ErrorCode::kInvalidArgument, "frame numbers are 1-based integers, got '" + item + "'");
    }
    frames.push_back(static_cast<int>(v));
  }
  return frames;
}

http::Response Frames(const DicomWebContext& ctx, const http::Request& req,
                      const InstanceLocation& l, const std::string& list) {
  auto frames = ParseFrameList(list);
  if (!frames.ok()) return http::Response::Error(frames.status());
  const std::string path = ctx.blobs->AbsolutePath(l.blob_path);
  auto info = pixel::ReadImageInfo(path);
  if (!info.ok()) return http::Response::Error(info.status());
  for (int f : frames.value()) {
    if (f > info->number_of_frames) {
      return Error(ErrorCode::kNotFound, "frame " + std::to_string(f) + " of " +
                                             std::to_string(info->number_of_frames));
    }
  }
  // Stored bitstream when the client takes it (transfer-syntax=* or the stored syntax),
  // else pixels decoded to Explicit VR Little Endian.
  const std::string stored_type = FrameMediaType(l.transfer_syntax_uid);
  bool compressed = false;
  std::string part_type;  // empty: nothing the client accepts
  for (const auto& r : ParseAccept(req.Header("accept"))) {
    std::string type = r.type;
    std::string ts = r.params.count("transfer-syntax") ? r.params.at("transfer-syntax") : "";
    if (type == "multipart/related") {
      type = r.params.count("type") ? r.params.at("type") : "application/octet-stream";
    }
    if (!stored_type.empty() && (ts == "*" || ts == l.transfer_syntax_uid) &&
        (type == stored_type || type == "application/octet-stream" || type == "*/*")) {
      compressed = true;
      part_type = stored_type + "; transfer-syntax=" + l.transfer_syntax_uid;
      break;
    }
    if ((type == "application/octet-stream" || type == "*/*") &&
        (ts.empty() || ts == "*" || ts == kExplicitLE)) {
      part_type = std::string("application/octet-stream; transfer-syntax=") + kExplicitLE;
      break;
    }
  }
  if (part_type.empty()) return NotAcceptable("frames are available as application/octet-stream, or as " +
                                        (stored_type.empty() ? std::string("stored (uncompressed)") : stored_type));
  const auto read = compressed ? &pixel::EncodedFrame : &pixel::DecodeFrame;
  std::vector<PartSource> parts;
  for (int f : frames.value()) {
    const int index = f - 1;
    parts.push_back({part_type, [read, path, index] { return read(path, index); }, ""});
  }
  return MultipartResponse(compressed ? stored_type : "application/octet-stream", std::move(parts));
}

http::Response Bulk(const DicomWebContext& ctx, const InstanceLocation& l, const std::string& tag_hex) {
  auto tag = dicom::ParseTag(tag_hex);
  if (!tag || tag_hex.size() != 8) return Error(ErrorCode::kInvalidArgument, "bulk data tag must be 8 hex digits");
  const std::string path = ctx.blobs->AbsolutePath(l.blob_path);
  std::vector<PartSource> parts;
  const dicom::Tag tg = *tag;
  if (tg == t::kPixelData && !FrameMediaType(l.transfer_syntax_uid).empty()) {
    // Encapsulated pixel data: served decoded, all frames.
    parts.push_back({std::string("application/octet-stream; transfer-syntax=") + kExplicitLE,
                     [path]() -> Result<std::string> {
                       auto frames = pixel::DecodeFrames(path);
                       if (!frames.ok()) return frames.status();
                       std::string all;
                       for (const auto& f : frames.value()) all += f;
                       return all;
                     },
                     ""});
  } else {
    auto value = dicom::ReadBulkValue(path, tg);
    if (!value.ok()) return http::Response::Error(value.status());
    auto shared = std::make_shared<std::string>(std::move(value.value()));
    parts.push_back({"application/octet-stream", [shared]() -> Result<std::string> { return *shared; }, ""});
  }
  return MultipartResponse("application/octet-stream", std::move(parts));
}

// PS3.18 8.3.5.1: window=center,width[,function], viewport=vw,vh, quality=1..100.
http::Response Rendered(const DicomWebContext& ctx, const http::Request& req,
                        const InstanceLocation& l, int frame, bool thumbnail) {
  pixel::RenderOptions o;
  if (thumbnail) {
    o.width = o.height = 128;
  }
  for (const auto& [name, value] : req.query) {
    std::vector<double> nums;
    size_t start = 0;
    for (size_t i = 0; i <= value.size(); ++i) {
      if (i == value.size() || value[i] == ',') {
        std::string item = value.substr(start, i - start);
        start = i + 1;
        char* end = nullptr;
        double d = std::strtod(item.c_str(), &end);
        if (!item.empty() && *end == '\0') nums.push_back(d);
      }
    }
    if (name == "window") {
      if (nums.size() < 2 || nums[1] <= 0) return Error(ErrorCode::kInvalidArgument, "window must be center,width[,function] with width > 0");
      o.window_center = nums[0];
      o.window_width = nums[1];
    } else if (name == "viewport") {
      if (nums.size() < 2 || nums[0] < 1 || nums[1] < 1 || nums[0] > 8192 || nums[1] > 8192) return Error(ErrorCode::kInvalidArgument, "viewport must be vw,vh (1..8192)");
      o.width = static_cast<int>(nums[0]);
      o.height = static_cast<int>(nums[1]);
    } else if (name == "quality") {
      if (nums.size() != 1 || nums[0] < 1 || nums[0] > 100) return Error(ErrorCode::kInvalidArgument, "quality must be 1..100");
      o.quality = static_cast<int>(nums[0]);
    }
  }
  o.media_type = "image/jpeg";
  for (const auto& r : ParseAccept(req.Header("accept"))) {
    if (r.type == "image/png" || r.type == "image/jpeg") {
      o.media_type = r.type;
      break;
    }
    if (r.type == "*/*" || r.type == "image/*") break;
  }
  auto image = pixel::RenderFrame(ctx.blobs->AbsolutePath(l.blob_path), frame, o);
  if (!image.ok()) return http::Response::Error(image.status());
  http::Response res;
  res.content_type = o.media_type;
  res.body = std::move(image.value());
  return res;
}

}  // namespace

http::Response WadoRetrieve(const DicomWebContext& ctx, const http::Request& req,
                            const std::vector<std::string>& seg) {
  // studies/{s}[/series/{se}[/instances/{i}]][/<action>[/...]]
  if (seg.size() < 2 || seg[0] != "studies") return Error(ErrorCode::kNotFound, "no such WADO-RS resource: " + req.path);
  std::string study = seg[1], series, sop;
  size_t k = 2;
  if (k + 1 < seg.size() && seg[k] == "series") {
    series = seg[k + 1];
    k += 2;
    if (k + 1 < seg.size() && seg[k] == "instances") {
      sop = seg[k + 1];
      k += 2;
    }
  }
  for (const auto& uid : {study, series, sop}) {
    if (!uid.empty() && !dicom::IsValidUid(uid)) return Error(ErrorCode::kInvalidArgument, "not a UID: '" + uid + "'");
  }
  const std::string action = k < seg.size() ? seg[k] : "";
  auto instances = Locate(ctx, study, series, sop);
  if (!instances.ok()) return http::Response::Error(instances.status());
  const auto& all = instances.value();

  if (action.empty() && k == seg.size()) return RetrieveDicom(ctx, req, all);
  if (action == "metadata" && k + 1 == seg.size()) return Metadata(ctx, all);
  if (action == "thumbnail" || action == "rendered") {
    // A study or series is represented by its middle instance (PS3.18 10.4.1.1.4).
    const auto& l = sop.empty() ? all[all.size() / 2] : all.front();
    return Rendered(ctx, req, l, 0, action == "thumbnail");
  }
  if (sop.empty()) return Error(ErrorCode::kNotFound, "no such WADO-RS resource: " + req.path);
  const auto& l = all.front();
  if (action == "frames" && k + 2 <= seg.size()) {
    const std::string list = k + 1 < seg.size() ? seg[k + 1] : "";
    if (k + 3 == seg.size() && (seg[k + 2] == "rendered" || seg[k + 2] == "thumbnail")) {
      auto frames = ParseFrameList(list);
      if (!frames.ok()) return http::Response::Error(frames.status());
      return Rendered(ctx, req, l, frames->front() - 1, seg[k + 2] == "thumbnail");
    }
    if (k + 2 == seg.size()) return Frames(ctx, req, l, list);
  }
  if (action == "bulk" && k + 2 == seg.size()) return Bulk(ctx, l, seg[k + 1]);
  return Error(ErrorCode::kNotFound, "no such WADO-RS resource: " + req.path);
}

}  // namespace radflow::api
