#include "ai/remote/hub_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>
#include <optional>

#include "api/multipart.h"

namespace radflow::ai::remote {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Easy {
  CURL* h = nullptr;
  curl_slist* headers = nullptr;
  Easy() : h(curl_easy_init()) {}
  ~Easy() {
    if (headers) curl_slist_free_all(headers);
    if (h) curl_easy_cleanup(h);
  }
  void Header(const std::string& line) { headers = curl_slist_append(headers, line.c_str()); }
};

// What the write callback collects: the body (capped), or a multipart stream into a sink.
struct Sink {
  CURL* h = nullptr;  // the status and Content-Type are known (curl_easy_getinfo) before the body
  std::string body;
  size_t max_body = 4 << 20;
  const HubClient::PartSink* parts = nullptr;
  std::unique_ptr<api::MultipartParser> parser;
  Status error;  // a sink's or the parser's failure stops the transfer
};

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * n;
  if (sink->parts != nullptr && sink->parser == nullptr && sink->error.ok()) {
    // The first body bytes: a 2xx multipart answer goes to the parser, anything else is kept.
    long status = 0;
    char* type = nullptr;
    curl_easy_getinfo(sink->h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(sink->h, CURLINFO_CONTENT_TYPE, &type);
    auto media = api::ParseMediaType(type ? type : "");
    if (status >= 200 && status < 300 && media[""] == "multipart/related" && !media["boundary"].empty()) {
      api::MultipartParser::Callbacks cb{sink->parts->begin, sink->parts->data, sink->parts->end};
      sink->parser = std::make_unique<api::MultipartParser>(media["boundary"], cb);
    }
  }
  if (sink->parser) {
    Status s = sink->parser->Feed(std::string_view(data, bytes));
    if (!s.ok()) {
      sink->error = s;
      return 0;  // aborts the transfer
    }
    return bytes;
  }
  if (sink->body.size() + bytes > sink->max_body) {
    sink->error = Status(ErrorCode::kUnavailable, "the hub's answer exceeds " + std::to_string(sink->max_body) + " bytes");
    return 0;
  }
  sink->body.append(data, bytes);
  return bytes;
}

}  // namespace

std::string HubReply::ErrorText() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  return body.substr(0, 300);
}

HubClient::HubClient(std::string base_url, std::string token, std::string ca_file, double timeout_s)
    : base_url_(std::move(base_url)), token_(std::move(token)), ca_file_(std::move(ca_file)),
      timeout_ms_(static_cast<long>(timeout_s * 1000)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  GlobalInit();
}

namespace {

Result<HubReply> Perform(const std::string& url, const std::string& token, const std::string& ca_file, long timeout_ms,
                         const std::vector<std::string>& headers, const std::string* body,
                         const HubClient::PartSink* parts) {
  Easy e;
  if (!e.h) return Status(ErrorCode::kInternal, "curl_easy_init failed");
  Sink sink;
  sink.h = e.h;
  sink.parts = parts;
  e.Header("Authorization: Bearer " + token);
  for (const auto& h : headers) e.Header(h);
  e.Header("Expect:");  // no 100-continue round trip for STOW bodies
  curl_easy_setopt(e.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e.h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e.h, CURLOPT_FOLLOWLOCATION, 0L);
  // https: the peer and host name are verified (libcurl's defaults, stated); a private CA
  // through --ca.
  curl_easy_setopt(e.h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e.h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca_file.empty()) curl_easy_setopt(e.h, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(e.h, CURLOPT_NOSIGNAL, 1L);
  // JSON calls: a total timeout. A series or a STOW body may take long on a slow link: no
  // total limit, but a transfer slower than 1 kB/s for 60 s is abandoned.
  if (timeout_ms > 0) {
    curl_easy_setopt(e.h, CURLOPT_TIMEOUT_MS, timeout_ms);
  } else {
    curl_easy_setopt(e.h, CURLOPT_LOW_SPEED_LIMIT, 1000L);
    curl_easy_setopt(e.h, CURLOPT_LOW_SPEED_TIME, 60L);
  }
  curl_easy_setopt(e.h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(e.h, CURLOPT_USERAGENT, "radflow-worker");
  curl_easy_setopt(e.h, CURLOPT_HTTPHEADER, e.headers);
  if (body != nullptr) {
    curl_easy_setopt(e.h, CURLOPT_POST, 1L);
    curl_easy_setopt(e.h, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(e.h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  CURLcode rc = curl_easy_perform(e.h);
  if (!sink.error.ok()) return Status(sink.error.code(), url + ": " + sink.error.message());
  if (rc != CURLE_OK) return Status(ErrorCode::kUnavailable, url + ": " + curl_easy_strerror(rc));
  HubReply reply;
  curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &reply.status);
  char* type = nullptr;
  curl_easy_getinfo(e.h, CURLINFO_CONTENT_TYPE, &type);
  if (type) reply.content_type = type;
  reply.body = std::move(sink.body);
  if (sink.parser) {
    Status done = sink.parser->Finish();
    if (!done.ok()) return Status(done.code(), url + ": " + done.message());
  } else if (parts != nullptr && reply.status >= 200 && reply.status < 300 && reply.status != 204) {
    return Status(ErrorCode::kInvalidArgument, url + ": expected multipart/related, got '" + reply.content_type + "'");
  }
  return reply;
}

}  // namespace

Result<HubReply> HubClient::PostJson(const std::string& path, const nlohmann::json& body) const {
  const std::string text = body.dump();
  return Perform(base_url_ + path, token_, ca_file_, timeout_ms_,
                 {"Content-Type: application/json", "Accept: application/json"}, &text, nullptr);
}

Result<HubReply> HubClient::GetMultipart(const std::string& path, const std::string& accept,
                                         const PartSink& sink) const {
  return Perform(base_url_ + path, token_, ca_file_, 0, {"Accept: " + accept}, nullptr, &sink);
}

Result<HubReply> HubClient::Post(const std::string& path, const std::string& content_type,
                                 const std::string& body) const {
  return Perform(base_url_ + path, token_, ca_file_, 0,
                 {"Content-Type: " + content_type, "Accept: application/dicom+json"}, &body, nullptr);
}

}  // namespace radflow::ai::remote
