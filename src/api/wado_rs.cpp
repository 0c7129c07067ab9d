// WADO-RS (PS3.18 10.4): studies, series and instances as multipart/related DICOM,
// metadata in the DICOM JSON model, frames, bulk data, rendered images and thumbnails.
#include <algorithm>
#include <fstream>
#include <memory>

#include "api/dicom_json.h"
#include "api/dicomweb.h"
#include "api/multipart.h"
#include "dicom/instance.h"
#include "dicom/json_model.h"
#include "pixel/frame_cache.h"
#include "pixel/pixel_data.h"
#include "query/matching.h"
#include "slide/slide_reader.h"

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
  if (!sop.empty() && !series.empty()) {
    // One instance (frames of a slide, its metadata): the index's prepared lookup by SOP
    // Instance UID, no query built and compiled per request.
    auto found = ctx.index->FindInstance(sop);
    if (!found.ok()) return found.status();
    if (!found.value() || found.value()->study_uid != study || found.value()->series_uid != series) {
      return Status(ErrorCode::kNotFound, "no instance " + sop);
    }
    return std::vector<InstanceLocation>{*found.value()};
  }
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
  // A few small generated parts (a slide viewer's tile requests): one body with a
  // Content-Length, sent in one write, rather than a chunked stream of several. Once the
  // parts produced pass kEagerBytes (decoded frames, a big bulk part) the rest streams.
  constexpr size_t kEagerParts = 16;
  constexpr size_t kEagerBytes = size_t{4} << 20;
  const bool eager = parts.size() <= kEagerParts &&
                     std::all_of(parts.begin(), parts.end(), [](const PartSource& p) { return p.file.empty(); });
  size_t produced = 0;
  std::string head;  // parts already produced, sent first when the rest streams
  if (eager) {
    for (; produced < parts.size() && head.size() <= kEagerBytes; ++produced) {
      auto bytes = parts[produced].bytes();
      if (!bytes.ok()) return ErrorResponse(bytes.status());
      head += PartHeader(boundary, parts[produced].content_type, bytes->size());
      head += bytes.value();
      head += "\r\n";
    }
    if (produced == parts.size()) {
      res.body = std::move(head);
      res.body += CloseDelimiter(boundary);
      return res;
    }
  }
  struct State {
    std::vector<PartSource> parts;
    size_t next = 0;
    std::string head;
    std::unique_ptr<std::ifstream> in;
    bool closed = false;
  };
  auto st = std::make_shared<State>();
  st->parts = std::move(parts);
  st->next = produced;
  st->head = std::move(head);
  res.stream = [st, boundary](std::string& chunk) -> bool {
    constexpr size_t kChunk = 1 << 20;
    if (!st->head.empty()) {
      chunk = std::move(st->head);
      st->head.clear();
      return true;
    }
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

// What transfer syntax the client asks DICOM objects in: "" when it names none, "*" for any
// (the stored one, compressed at rest or not).
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
    // Explicit/Implicit VR LE are produced by transcoding; any other syntax only when it is
    // what is stored (checked per instance by RetrieveDicom).
    return ts;
  }
  return Status(ErrorCode::kUnsupported, "Accept names no media type WADO-RS can return here "
                                         "(multipart/related; type=\"application/dicom\")");
}

http::Response RetrieveDicom(const DicomWebContext& ctx, const http::Request& req,
                             const std::vector<InstanceLocation>& instances) {
  auto negotiated = NegotiateDicomSyntax(req.Header("accept"));
  if (!negotiated.ok()) return NotAcceptable(negotiated.status().message());
  const bool any_syntax = negotiated.value() == "*";
  const std::string ts = any_syntax ? std::string() : negotiated.value();  // "": as stored
  std::vector<PartSource> parts;
  for (const auto& l : instances) {
    auto local = ctx.blobs->LocalPath(l.blob_path);  // S3: fetched into the read cache
    if (!local.ok()) return http::Response::Error(local.status());
    const std::string& path = local.value();
    // Compressed at rest (docs/compression.md): a client that names no syntax gets the one
    // the instance arrived in, decoded here, as before compression; `*` takes it as stored.
    const bool as_arrived = l.CompressedAtRest() && ts.empty() && !any_syntax;
    const std::string wanted = as_arrived ? l.original_transfer_syntax_uid : ts;
    if (!as_arrived && (ts.empty() || ts == l.transfer_syntax_uid)) {
      parts.push_back({"application/dicom; transfer-syntax=" + l.transfer_syntax_uid, nullptr, path});
    } else if (wanted == kExplicitLE || wanted == kImplicitLE) {
      const std::string target = wanted;
      parts.push_back({"application/dicom; transfer-syntax=" + target,
                       [path, target] { return pixel::TranscodeToUncompressed(path, target); }, ""});
    } else {
      return NotAcceptable("cannot transcode " + l.sop_uid + " from " + l.transfer_syntax_uid +
                           " to " + ts);
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
    auto local = ctx.blobs->LocalPath(l.blob_path);
    if (!local.ok()) return http::Response::Error(local.status());
    auto json = dicom::InstanceToDicomJson(local.value(), options);
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

// The transfer syntax a frame media type means when the client names none (PS3.18
// Table 8.7.3-5 defaults).
std::string DefaultFrameSyntax(const std::string& type) {
  if (type == "image/jpeg") return "1.2.840.10008.1.2.4.50";
  if (type == "image/jls") return "1.2.840.10008.1.2.4.80";
  if (type == "image/jp2") return "1.2.840.10008.1.2.4.90";
  if (type == "image/jphc") return "1.2.840.10008.1.2.4.201";
  if (type == "image/dicom-rle") return "1.2.840.10008.1.2.5";
  return "";
}

// A frame list's answer: the stored bitstream (compressed, or native bytes as stored) when
// the client takes the stored transfer syntax; else pixels decoded to Explicit VR Little
// Endian (application/octet-stream). Frames are read through the process-wide frame-offset
// cache (pixel::SharedFrameCache): one scan of the file per instance, then a pread a frame.
http::Response Frames(const DicomWebContext& ctx, const http::Request& req,
                      const InstanceLocation& l, const std::string& list) {
  auto frames = ParseFrameList(list);
  if (!frames.ok()) return http::Response::Error(frames.status());
  auto local = ctx.blobs->LocalPath(l.blob_path);
  if (!local.ok()) return http::Response::Error(local.status());
  const std::string path = local.value();
  // Any scan failure but a missing file takes the DCMTK path (EncodedFrame/DecodeFrame),
  // which reads more than the scanner does; the cache logged the failure once.
  auto layout = pixel::SharedFrameCache().Layout(path);
  if (!layout.ok() && layout.status().code() == ErrorCode::kNotFound) {
    return http::Response::Error(layout.status());
  }
  std::shared_ptr<const pixel::FrameLayout> cached = layout.ok() ? layout.value() : nullptr;
  int number_of_frames = 0;
  if (cached) {
    number_of_frames = cached->info.number_of_frames;
  } else {
    auto info = pixel::ReadImageInfo(path);
    if (!info.ok()) return http::Response::Error(info.status());
    number_of_frames = info->number_of_frames;
  }
  for (int f : frames.value()) {
    if (f > number_of_frames) {
      return Error(ErrorCode::kNotFound, "frame " + std::to_string(f) + " of " +
                                             std::to_string(number_of_frames));
    }
  }
  const std::string& stored_ts = l.transfer_syntax_uid;
  const std::string stored_type = FrameMediaType(stored_ts);
  bool as_stored = false;
  std::string part_type;  // empty: nothing the client accepts
  std::string refused;    // why the last media range could not be served
  for (const auto& r : ParseAccept(req.Header("accept"))) {
    std::string type = r.type;
    std::string ts = r.params.count("transfer-syntax") ? r.params.at("transfer-syntax") : "";
    if (type == "multipart/related") {
      type = r.params.count("type") ? r.params.at("type") : "application/octet-stream";
    } else if (type == "multipart/*") {
      type = r.params.count("type") ? r.params.at("type") : "";  // "": any part type
    }
    // */* without a transfer syntax keeps meaning decoded pixels (as before issue 17).
    // image/* matches only a stored image type (the bitstream as stored); multipart/* with
    // no type takes the frames as stored, whatever they are.
    const bool star = type == "*/*";
    const bool image_any = type == "image/*";
    const bool stored_any = type.empty();
    const bool any = star || stored_any;
    const bool octet = type == "application/octet-stream";
    // Compressed at rest: the frames in the syntax they arrived in are the decoded ones,
    // for whoever asks for that syntax or for "the frames as stored" without naming one.
    if (l.CompressedAtRest() && (octet || stored_any) &&
        (ts == l.original_transfer_syntax_uid || (stored_any && ts.empty()))) {
      part_type = "application/octet-stream; transfer-syntax=" + l.original_transfer_syntax_uid;
      break;
    }
    if (!stored_type.empty() && (type == stored_type || octet || any || image_any)) {
      const bool takes_stored = ts == "*" || ts == stored_ts ||
                                (ts.empty() && ((type == stored_type && DefaultFrameSyntax(type) == stored_ts) ||
                                                image_any || stored_any));
      if (takes_stored) {
        as_stored = true;
        part_type = stored_type + "; transfer-syntax=" + stored_ts;
        break;
      }
    }
    if (stored_type.empty() && (octet || any) && (ts == "*" || ts == stored_ts || (stored_any && ts.empty())) &&
        stored_ts != "1.2.840.10008.1.2.2") {
      as_stored = true;  // native frames as stored (little endian)
      part_type = "application/octet-stream; transfer-syntax=" + stored_ts;
      break;
    }
    if ((octet || any) && (ts.empty() || ts == "*" || ts == kExplicitLE)) {
      part_type = std::string("application/octet-stream; transfer-syntax=") + kExplicitLE;
      break;
    }
    refused = "'" + (stored_any ? std::string("multipart/*") : type) + (ts.empty() ? "" : "; transfer-syntax=" + ts) + "' is not available: ";
  }
  if (part_type.empty()) {
    return NotAcceptable(refused + "the frames of " + l.sop_uid + " are stored as " + stored_ts +
                         (stored_type.empty() ? std::string(" (uncompressed)") : " (" + stored_type + ")") +
                         "; they are available as that media type with transfer-syntax=" + stored_ts +
                         " or *, or decoded as application/octet-stream (transfer-syntax=" + kExplicitLE + ")");
  }
  std::vector<PartSource> parts;
  for (int f : frames.value()) {
    const int index = f - 1;
    // Native little-endian frames are their decoded bytes already: the cache serves them too.
    const bool native_cached = cached && !cached->encapsulated && stored_type.empty();
    if (cached && (as_stored || native_cached)) {
      parts.push_back({part_type, [path, cached, index, as_stored]() -> Result<std::string> {
                         auto frame = pixel::FrameCache::ReadFrame(path, *cached, index);
                         if (!pixel::FrameCache::IsStale(frame.status())) return frame;
                         // The blob changed after the layout was read: located again, or DCMTK.
                         frame = pixel::SharedFrameCache().Frame(path, index);
                         if (frame.ok() || frame.status().code() == ErrorCode::kNotFound) return frame;
                         return as_stored ? pixel::EncodedFrame(path, index) : pixel::DecodeFrame(path, index);
                       },
                       ""});
    } else if (as_stored) {
      parts.push_back({part_type, [path, index] { return pixel::EncodedFrame(path, index); }, ""});
    } else {
      parts.push_back({part_type, [path, index] { return pixel::DecodeFrame(path, index); }, ""});
    }
  }
  const std::string multipart_type = as_stored && !stored_type.empty() ? stored_type : "application/octet-stream";
  return MultipartResponse(multipart_type, std::move(parts));
}

http::Response Bulk(const DicomWebContext& ctx, const InstanceLocation& l, const std::string& tag_hex) {
  auto tag = dicom::ParseTag(tag_hex);
  if (!tag || tag_hex.size() != 8) return Error(ErrorCode::kInvalidArgument, "bulk data tag must be 8 hex digits");
  auto local = ctx.blobs->LocalPath(l.blob_path);
  if (!local.ok()) return http::Response::Error(local.status());
  const std::string path = local.value();
  std::vector<PartSource> parts;
  const dicom::Tag tg = *tag;
  if (tg == t::kPixelData && !FrameMediaType(l.transfer_syntax_uid).empty()) {
    // Encapsulated pixel data: served decoded, all frames, in memory: a whole slide level
    // (thousands of tiles) is refused and left to /frames.
    auto info = pixel::ReadImageInfo(path);
    if (!info.ok()) return http::Response::Error(info.status());
    constexpr uint64_t kMaxDecodedBulk = uint64_t{256} << 20;
    const uint64_t decoded = uint64_t(info->rows) * uint64_t(info->columns) *
                             uint64_t(info->samples_per_pixel) * uint64_t((info->bits_allocated + 7) / 8) *
                             uint64_t(info->number_of_frames);
    if (decoded > kMaxDecodedBulk) {
      // 400, not 406: no Accept header would make it available (docs/wsi.md).
      return Error(ErrorCode::kInvalidArgument, "Pixel Data of " + l.sop_uid + " is " + std::to_string(decoded >> 20) +
                           " MB decoded (" + std::to_string(info->number_of_frames) +
                           " frames), more than the 256 MB served in one part: retrieve its /frames");
    }
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
  auto local = ctx.blobs->LocalPath(l.blob_path);
  if (!local.ok()) return http::Response::Error(local.status());
  auto image = pixel::RenderFrame(local.value(), frame, o);
  if (!image.ok()) return http::Response::Error(image.status());
  http::Response res;
  res.content_type = o.media_type;
  res.body = std::move(image.value());
  return res;
}

// The files of the level `l` belongs to (path, SOP Instance UID), its own first: with a
// ConcatenationUID (PS3.3 C.7.6.16.2.2), the series' instances of the same concatenation
// too (read from each file's header: the index does not hold it; a slide series is small).
Result<std::vector<std::pair<std::string, std::string>>> LevelFiles(const DicomWebContext& ctx,
                                                                    const InstanceLocation& l) {
  constexpr dicom::Tag kConcatenationUID = dicom::MakeTag(0x0020, 0x9161);
  auto concatenation = [](const std::string& path) -> std::string {
    auto parsed = dicom::ParsePart10File(path);
    if (!parsed.ok()) return "";
    std::string v = parsed->attributes.Get(kConcatenationUID);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\0')) v.pop_back();
    return v;
  };
  auto own = ctx.blobs->LocalPath(l.blob_path);
  if (!own.ok()) return own.status();
  std::vector<std::pair<std::string, std::string>> out{{own.value(), l.sop_uid}};
  const std::string uid = concatenation(out.front().first);
  if (uid.empty()) return out;
  auto series = Locate(ctx, l.study_uid, l.series_uid, "");
  if (!series.ok()) return series.status();
  for (const auto& other : series.value()) {
    if (other.sop_uid == l.sop_uid) continue;
    auto path = ctx.blobs->LocalPath(other.blob_path);
    if (!path.ok()) return path.status();
    if (concatenation(path.value()) == uid) out.emplace_back(path.value(), other.sop_uid);
  }
  return out;
}

// radflow extension (docs/wsi.md): GET .../instances/{level}/rendered?region=x,y,w,h
// [&viewport=W,H][&quality=Q] renders pixels [x, x+w) x [y, y+h) of a slide level's Total
// Pixel Matrix (PS3.3 C.8.12.4, 0-based), composed from its tiles by slide::ReadRegion;
// outside the matrix is white. viewport scales the region to fit (aspect kept).
http::Response RenderedRegion(const DicomWebContext& ctx, const http::Request& req,
                              const InstanceLocation& l) {
  auto ints = [](const std::string& v) {
    std::vector<long> out;
    size_t start = 0;
    for (size_t i = 0; i <= v.size(); ++i) {
      if (i < v.size() && v[i] != ',') continue;
      std::string item = v.substr(start, i - start);
      start = i + 1;
      char* end = nullptr;
      long n = std::strtol(item.c_str(), &end, 10);
      if (item.empty() || *end != '\0') return std::vector<long>{};
      out.push_back(n);
    }
    return out;
  };
  pixel::RenderOptions o;
  std::vector<long> region;
  for (const auto& [name, value] : req.query) {
    if (name == "region") {
      region = ints(value);
      if (region.size() != 4 || region[2] < 1 || region[3] < 1 || region[2] > 65536 || region[3] > 65536 ||
          std::labs(region[0]) > (1L << 30) || std::labs(region[1]) > (1L << 30)) {
        return Error(ErrorCode::kInvalidArgument, "region must be x,y,width,height (integers, width and height 1..65536)");
      }
    } else if (name == "viewport") {
      auto v = ints(value);
      if (v.size() != 2 || v[0] < 1 || v[1] < 1 || v[0] > 8192 || v[1] > 8192) {
        return Error(ErrorCode::kInvalidArgument, "viewport must be vw,vh (1..8192)");
      }
      o.width = static_cast<int>(v[0]);
      o.height = static_cast<int>(v[1]);
    } else if (name == "quality") {
      auto v = ints(value);
      if (v.size() != 1 || v[0] < 1 || v[0] > 100) return Error(ErrorCode::kInvalidArgument, "quality must be 1..100");
      o.quality = static_cast<int>(v[0]);
    }
  }
  for (const auto& r : ParseAccept(req.Header("accept"))) {
    if (r.type == "image/png" || r.type == "image/jpeg") {
      o.media_type = r.type;
      break;
    }
    if (r.type == "*/*" || r.type == "image/*") break;
  }
  if (o.width == 0 && o.height == 0 && region[2] * region[3] > 4096L * 4096L) {
    return Error(ErrorCode::kInvalidArgument, "a region over 16 megapixels needs a viewport");
  }
  auto files = LevelFiles(ctx, l);
  if (!files.ok()) return ErrorResponse(files.status());
  std::vector<std::string> paths;
  for (const auto& [path, uid] : files.value()) paths.push_back(path);
  // Messages name instances by SOP Instance UID, never by blob path.
  auto client_text = [&](std::string m) {
    for (const auto& [path, uid] : files.value()) {
      for (size_t at; (at = m.find(path)) != std::string::npos;) m.replace(at, path.size(), uid);
    }
    return m;
  };
  auto slide = slide::ReadSlideSeries(paths);
  if (!slide.ok()) {
    return ErrorResponse(Status(slide.status().code(), "region of " + l.sop_uid + ": " + client_text(slide.status().message())));
  }
  const std::string own_path = paths.front();
  const slide::SlideLevel* level = nullptr;
  for (const auto& lv : slide->levels) {
    if (lv.sop_instance_uid == l.sop_uid || lv.path == own_path) level = &lv;
    for (const auto& part : lv.parts) {
      if (part.path == own_path) level = &lv;  // any part of a concatenation names its level
    }
  }
  if (level == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "region applies to a slide level (ImageType VOLUME); " +
                                                  l.sop_uid + " is not one");
  }
  auto image = slide::ReadRegion(*level, static_cast<int>(region[0]), static_cast<int>(region[1]),
                                 static_cast<int>(region[2]), static_cast<int>(region[3]));
  if (!image.ok()) return ErrorResponse(Status(image.status().code(), client_text(image.status().message())));
  auto encoded = pixel::EncodeRendered(image->pixels.data(), image->width, image->height, image->samples, o);
  if (!encoded.ok()) return http::Response::Error(encoded.status());
  http::Response res;
  res.content_type = o.media_type;
  res.body = std::move(encoded.value());
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
    if (action == "rendered" && req.query.count("region")) {
      if (sop.empty()) return Error(ErrorCode::kInvalidArgument, "region applies to an instance (a slide level)");
      return RenderedRegion(ctx, req, l);
    }
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
