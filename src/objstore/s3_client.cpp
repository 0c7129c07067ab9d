#include "objstore/s3_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "crypto/crypto.h"
#include "objstore/s3_xml.h"
#include "objstore/sigv4.h"

namespace radflow::objstore {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status Errno(const std::string& what, const std::string& path) {
  return {ErrorCode::kIoError, what + " " + path + ": " + std::strerror(errno)};
}

// Reads [offset, offset + length) of a file.
Result<std::string> ReadRange(const std::string& path, uint64_t offset, uint64_t length) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  std::string data(length, '\0');
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, data.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status st = n < 0 ? Errno("read", path) : Status(ErrorCode::kIoError, "short read " + path);
      ::close(fd);
      return st;
    }
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return data;
}

// One SHA-256 pass over a PUT body for both of its hashes: the signed payload hash (hex)
// and the x-amz-checksum-sha256 header (base64).
struct BodyHashes {
  std::string hex, base64;
};
BodyHashes HashBody(std::string_view data) {
  const crypto::Sha256Digest d = crypto::Sha256(data);
  return {crypto::Hex(d), crypto::Base64(crypto::AsBytes(d))};
}

// Idle curl handles: a reused handle keeps its connection cache, so that a stream of PUTs
// to one endpoint does not pay a TCP (and TLS) handshake each.
class HandlePool {
 public:
  ~HandlePool() {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }
  CURL* Take() {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        curl_easy_reset(h);  // options go, the connection cache stays
        return h;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* h) {
    std::lock_guard<std::mutex> g(mu_);
    if (idle_.size() < 16) {
      idle_.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

 private:
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

HandlePool& Handles() {
  static HandlePool* pool = new HandlePool;  // never destroyed: no order problem at exit
  return *pool;
}

}  // namespace

// ---- one HTTP exchange ---------------------------------------------------------------------

struct S3Client::Call {
  std::string method = "GET";
  std::string key;  // empty: the bucket itself
  KeyValues query;
  KeyValues headers;          // extra headers to send and sign (range, checksums)
  const std::string* body = nullptr;
  std::string payload_hash;   // hex SHA-256 of body; Perform fills it once when empty
  std::string out_path;       // GET: stream the body here (truncated on each attempt)
  bool idempotent = true;     // retried on 5xx and transport errors
  std::string what;           // "GetObject" for messages
  size_t max_body = 8u << 20; // an XML answer larger than this is refused
};

struct S3Client::Response {
  long status = 0;
  std::string body;                           // when not streamed to a file
  std::map<std::string, std::string> headers; // lower-case names
  uint64_t bytes_written = 0;
};

namespace {

struct Transfer {
  std::string* body = nullptr;
  size_t max_body = 0;
  bool overflow = false;
  int fd = -1;
  bool write_failed = false;
  long status = 0;  // from the status line, to know whether the body is an error document
  uint64_t written = 0;
  std::map<std::string, std::string>* headers = nullptr;
  const std::string* upload = nullptr;
  size_t upload_pos = 0;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->headers->clear();  // a 100 Continue, then the real status line
    size_t sp = line.find(' ');
    t->status = sp == std::string::npos ? 0 : std::atol(line.c_str() + sp + 1);
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) (*t->headers)[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  // A file sink takes only a successful answer's body; an error document goes to memory.
  if (t->fd >= 0 && t->status >= 200 && t->status < 300) {
    size_t done = 0;
    while (done < bytes) {
      ssize_t w = ::write(t->fd, data + done, bytes - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        t->write_failed = true;
        return 0;
      }
      done += static_cast<size_t>(w);
    }
    t->written += bytes;
    return bytes;
  }
  if (t->body->size() + bytes > t->max_body) {
    t->overflow = true;
    return 0;
  }
  t->body->append(data, bytes);
  return bytes;
}

size_t OnRead(char* buffer, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t left = t->upload->size() - t->upload_pos;
  const size_t take = std::min(left, size * n);
  std::memcpy(buffer, t->upload->data() + t->upload_pos, take);
  t->upload_pos += take;
  return take;
}

}  // namespace

S3Client::S3Client(S3Config config) : config_(std::move(config)) {
  std::string ep = config_.endpoint;
  size_t scheme_end = ep.find("://");
  scheme_ = scheme_end == std::string::npos ? "https" : ep.substr(0, scheme_end);
  host_ = scheme_end == std::string::npos ? ep : ep.substr(scheme_end + 3);
  while (!host_.empty() && host_.back() == '/') host_.pop_back();
}

std::string S3Client::Describe(const std::string& key) const { return "s3://" + config_.bucket + "/" + key; }

Status S3Client::FaultAt(const std::string& step) const {
  return fault_injection ? fault_injection(step) : Status::Ok();
}

Result<S3Client::Response> S3Client::PerformOnce(Call& call) const {
  GlobalInit();
  // Addressing: path-style puts the bucket in the path, virtual-hosted in the host name.
  const std::string host = config_.path_style ? host_ : config_.bucket + "." + host_;
  std::string path = config_.path_style ? "/" + UriEncode(config_.bucket, true) : "";
  path += "/" + UriEncode(call.key, false);
  std::string query = CanonicalQueryString(call.query);
  const std::string url = scheme_ + "://" + host + path + (query.empty() ? "" : "?" + query);

  const std::string& payload_hash = call.payload_hash;
  SigningRequest req;
  req.method = call.method;
  req.canonical_uri = path;
  req.query = call.query;
  req.payload_hash = payload_hash;
  const std::string amz_date = AmzDate(std::chrono::system_clock::now());
  req.headers = {{"host", host}, {"x-amz-date", amz_date}, {"x-amz-content-sha256", payload_hash}};
  if (!config_.credentials.session_token.empty()) {
    req.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
  }
  for (const auto& h : call.headers) req.headers.push_back(h);
  SigningParams params{config_.credentials.access_key, config_.credentials.secret_key, config_.region, "s3", amz_date};
  const SignedRequest signed_req = SignV4(req, params);

  std::unique_ptr<CURL, void (*)(CURL*)> curl(Handles().Take(), [](CURL* c) { Handles().Give(c); });
  if (!curl) return Status(ErrorCode::kInternal, "curl_easy_init failed");
  CURL* h = curl.get();
  Response resp;
  Transfer t;
  t.body = &resp.body;
  t.max_body = call.max_body;
  t.headers = &resp.headers;
  int fd = -1;
  if (!call.out_path.empty()) {
    fd = ::open(call.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("create", call.out_path);
    t.fd = fd;
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> list(nullptr, curl_slist_free_all);
  curl_slist* l = nullptr;
  // Every signed header is sent as signed, host included (curl would drop a default port).
  for (const auto& [name, value] : req.headers) l = curl_slist_append(l, (name + ": " + value).c_str());
  l = curl_slist_append(l, ("Authorization: " + signed_req.authorization).c_str());
  l = curl_slist_append(l, "Expect:");  // no 100-continue round trip for small parts
  list.reset(l);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.request_timeout_ms));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "radflow-objstore");
  if (call.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (call.method == "PUT") {
    static const std::string kEmpty;
    t.upload = call.body ? call.body : &kEmpty;
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &t);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t.upload->size()));
  } else if (call.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, call.body ? call.body->data() : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body ? call.body->size() : 0));
  } else if (call.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  }
  CURLcode rc = curl_easy_perform(h);
  if (fd >= 0) ::close(fd);
  resp.bytes_written = t.written;
  const std::string where = call.what + " " + Describe(call.key);
  if (t.write_failed) return Status(ErrorCode::kIoError, where + ": writing " + call.out_path + " failed");
  if (t.overflow) return Status(ErrorCode::kIoError, where + ": answer larger than expected");
  if (rc != CURLE_OK) {
    return Status(ErrorCode::kUnavailable, where + " (" + url + "): " + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

Result<S3Client::Response> S3Client::Perform(Call& call) const {
  const int attempts = call.idempotent ? std::max(1, config_.max_attempts) : 1;
  int backoff = config_.initial_backoff_ms;
  static thread_local std::mt19937 rng{std::random_device{}()};
  // Hashed once, not on every attempt (a retried 5 MiB part).
  if (call.payload_hash.empty()) {
    call.payload_hash = call.body ? crypto::Sha256Hex(*call.body) : std::string(kEmptyPayloadHash);
  }
  Status last;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    auto r = PerformOnce(call);
    bool retry = false;
    if (!r.ok()) {
      last = r.status();
      retry = r.status().code() == ErrorCode::kUnavailable;  // connect, timeout, reset
    } else if (r->status >= 200 && r->status < 300) {
      return r;
    } else {
      S3ErrorBody e = ParseS3Error(r->body);
      if (e.code.empty() && call.method == "HEAD") e.code = r->status == 404 ? "NotFound" : "";
      const ErrorCode code = ErrorCodeFor(e.code, r->status);
      std::string msg = call.what + " " + Describe(call.key) + ": HTTP " + std::to_string(r->status);
      if (!e.code.empty()) msg += " " + e.code;
      if (!e.message.empty()) msg += ": " + e.message;
      if (!e.request_id.empty()) msg += " (RequestId " + e.request_id + ")";
      last = Status(code, msg);
      retry = code == ErrorCode::kUnavailable;
    }
    if (!retry || attempt == attempts) break;
    std::uniform_int_distribution<int> jitter(0, backoff / 2 + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff + jitter(rng)));
    backoff *= 2;
  }
  return last;
}

// ---- operations --------------------------------------------------------------------------

Status S3Client::PutBytes(const std::string& key, const std::string& bytes) const {
  RADFLOW_RETURN_IF_ERROR(FaultAt("PutObject"));
  Call call;
  call.method = "PUT";
  call.key = key;
  call.body = &bytes;
  call.what = "PutObject";
  // S3 checks the signed payload hash (XAmzContentSHA256Mismatch) and stores the checksum.
  BodyHashes hashes = HashBody(bytes);
  call.payload_hash = std::move(hashes.hex);
  call.headers = {{"x-amz-checksum-sha256", std::move(hashes.base64)}, {"content-type", "application/octet-stream"}};
  auto r = Perform(call);
  return r.ok() ? Status::Ok() : r.status();
}

Status S3Client::PutFile(const std::string& key, const std::string& local_path) const {
  struct stat st {};
  if (::stat(local_path.c_str(), &st) != 0) return Errno("stat", local_path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > config_.multipart_threshold) return PutMultipart(key, local_path, size);
  auto bytes = ReadRange(local_path, 0, size);
  if (!bytes.ok()) return bytes.status();
  return PutBytes(key, bytes.value());
}

Result<std::string> S3Client::CreateMultipartUpload(const std::string& key) const {
  RADFLOW_RETURN_IF_ERROR(FaultAt("CreateMultipartUpload"));
  Call call;
  call.method = "POST";
  call.key = key;
  call.query = {{"uploads", ""}};
  call.headers = {{"x-amz-checksum-algorithm", "SHA256"}, {"content-type", "application/octet-stream"}};
  call.what = "CreateMultipartUpload";
  call.idempotent = false;  // a retry could leave a second, orphaned upload
  auto r = Perform(call);
  if (!r.ok()) return r.status();
  auto id = XmlElement(r->body, "UploadId");
  if (!id || id->empty()) {
    return Status(ErrorCode::kIoError, "CreateMultipartUpload " + Describe(key) + ": no UploadId in the answer");
  }
  return *id;
}

Status S3Client::AbortMultipartUpload(const std::string& key, const std::string& upload_id) const {
  Call call;
  call.method = "DELETE";
  call.key = key;
  call.query = {{"uploadId", upload_id}};
  call.what = "AbortMultipartUpload";
  auto r = Perform(call);
  return r.ok() ? Status::Ok() : r.status();
}

Status S3Client::PutMultipart(const std::string& key, const std::string& local_path, uint64_t size) const {
  auto upload = CreateMultipartUpload(key);
  if (!upload.ok()) return upload.status();
  const std::string& upload_id = upload.value();
  struct Part {
    int number;
    std::string etag, checksum;
  };
  std::vector<Part> parts;
  const uint64_t part_size = std::max<uint64_t>(config_.part_size, 1);
  auto fail = [&](Status st) {
    // Nothing of a failed upload may stay behind (S3 bills stored parts until aborted).
    Status abort = AbortMultipartUpload(key, upload_id);
    if (!abort.ok()) return Status(st.code(), st.message() + "; and the abort failed too: " + abort.message());
    return st;
  };
  for (uint64_t offset = 0; offset < size; offset += part_size) {
    const int number = static_cast<int>(parts.size()) + 1;
    auto bytes = ReadRange(local_path, offset, std::min(part_size, size - offset));
    if (!bytes.ok()) return fail(bytes.status());
    Status injected = FaultAt("UploadPart " + std::to_string(number));
    if (!injected.ok()) return fail(injected);
    Call call;
    call.method = "PUT";
    call.key = key;
    call.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
    call.body = &bytes.value();
    BodyHashes hashes = HashBody(bytes.value());
    call.payload_hash = std::move(hashes.hex);
    Part part{number, "", std::move(hashes.base64)};
    call.headers = {{"x-amz-checksum-sha256", part.checksum}};
    call.what = "UploadPart " + std::to_string(number);
    auto r = Perform(call);
    if (!r.ok()) return fail(r.status());
    auto etag = r->headers.find("etag");
    if (etag == r->headers.end() || etag->second.empty()) {
      return fail(Status(ErrorCode::kIoError, call.what + " " + Describe(key) + ": no ETag in the answer"));
    }
    part.etag = etag->second;
    parts.push_back(std::move(part));
  }
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const auto& p : parts) {
    body += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>" + XmlEscape(p.etag) +
            "</ETag><ChecksumSHA256>" + p.checksum + "</ChecksumSHA256></Part>";
  }
  body += "</CompleteMultipartUpload>";
  Status injected = FaultAt("CompleteMultipartUpload");
  if (!injected.ok()) return fail(injected);
  Call call;
  call.method = "POST";
  call.key = key;
  call.query = {{"uploadId", upload_id}};
  call.body = &body;
  call.headers = {{"content-type", "application/xml"}};
  call.what = "CompleteMultipartUpload";
  auto r = Perform(call);
  if (!r.ok()) {
    // A retried Complete whose first attempt succeeded answers NoSuchUpload: the object is
    // there, whole, if it has the size we sent.
    if (r.status().code() == ErrorCode::kNotFound) {
      auto head = Head(key);
      if (head.ok() && head->size == size) return Status::Ok();
    }
    return fail(r.status());
  }
  // S3 can answer 200 and still fail the Complete, with an <Error> document in the body.
  S3ErrorBody e = ParseS3Error(r->body);
  if (!e.code.empty()) {
    return fail(Status(ErrorCodeFor(e.code, 500),
                       "CompleteMultipartUpload " + Describe(key) + ": HTTP 200 with " + e.code + ": " + e.message));
  }
  if (r->body.find("CompleteMultipartUploadResult") == std::string::npos) {
    return fail(Status(ErrorCode::kIoError, "CompleteMultipartUpload " + Describe(key) + ": unexpected answer"));
  }
  return Status::Ok();
}

Status S3Client::GetToFile(const std::string& key, const std::string& local_path,
                           std::optional<ByteRange> range) const {
  Call call;
  call.method = "GET";
  call.key = key;
  call.out_path = local_path;
  call.what = "GetObject";
  if (range) {
    if (range->length == 0) return Status(ErrorCode::kInvalidArgument, "empty byte range of " + Describe(key));
    call.headers = {{"range", "bytes=" + std::to_string(range->offset) + "-" +
                                  std::to_string(range->offset + range->length - 1)}};
  }
  auto r = Perform(call);
  if (!r.ok()) {
    ::unlink(local_path.c_str());  // no empty or partial file named like the object
    return r.status();
  }
  // A body shorter than Content-Length is a transport error curl reports; a range that runs
  // past the end is answered with fewer bytes, which the caller sees in the file's size.
  auto len = r->headers.find("content-length");
  if (len != r->headers.end() && std::to_string(r->bytes_written) != len->second) {
    ::unlink(local_path.c_str());
    return Status(ErrorCode::kIoError, "GetObject " + Describe(key) + ": " + std::to_string(r->bytes_written) +
                                           " bytes received of " + len->second);
  }
  return Status::Ok();
}

Result<std::string> S3Client::GetBytes(const std::string& key, std::optional<ByteRange> range) const {
  Call call;
  call.method = "GET";
  call.key = key;
  call.what = "GetObject";
  call.max_body = 256u << 20;
  if (range) {
    if (range->length == 0) return std::string();
    call.headers = {{"range", "bytes=" + std::to_string(range->offset) + "-" +
                                  std::to_string(range->offset + range->length - 1)}};
  }
  auto r = Perform(call);
  if (!r.ok()) return r.status();
  return std::move(r->body);
}

Result<ObjectInfo> S3Client::Head(const std::string& key) const {
  Call call;
  call.method = "HEAD";
  call.key = key;
  call.what = "HeadObject";
  auto r = Perform(call);
  if (!r.ok()) return r.status();
  ObjectInfo info;
  info.key = key;
  if (auto it = r->headers.find("content-length"); it != r->headers.end()) info.size = std::stoull(it->second);
  if (auto it = r->headers.find("etag"); it != r->headers.end()) info.etag = it->second;
  if (auto it = r->headers.find("last-modified"); it != r->headers.end()) info.last_modified = it->second;
  return info;
}

Status S3Client::Delete(const std::string& key) const {
  Call call;
  call.method = "DELETE";
  call.key = key;
  call.what = "DeleteObject";
  auto r = Perform(call);
  if (!r.ok() && r.status().code() == ErrorCode::kNotFound) return Status::Ok();
  return r.ok() ? Status::Ok() : r.status();
}

Status S3Client::List(const std::string& prefix, const std::function<void(const ObjectInfo&)>& fn,
                      int max_keys) const {
  std::string token;
  for (;;) {
    Call call;
    call.method = "GET";
    call.what = "ListObjectsV2";
    call.query = {{"list-type", "2"}, {"max-keys", std::to_string(max_keys)}};
    if (!prefix.empty()) call.query.emplace_back("prefix", prefix);
    if (!token.empty()) call.query.emplace_back("continuation-token", token);
    auto r = Perform(call);
    if (!r.ok()) return r.status();
    for (std::string_view block : XmlBlocks(r->body, "Contents")) {
      ObjectInfo info;
      info.key = XmlElement(block, "Key").value_or("");
      info.size = std::strtoull(XmlElement(block, "Size").value_or("0").c_str(), nullptr, 10);
      info.etag = XmlElement(block, "ETag").value_or("");
      info.last_modified = XmlElement(block, "LastModified").value_or("");
      fn(info);
    }
    const bool truncated = XmlElement(r->body, "IsTruncated").value_or("false") == "true";
    if (!truncated) return Status::Ok();
    token = XmlElement(r->body, "NextContinuationToken").value_or("");
    if (token.empty()) {
      return Status(ErrorCode::kIoError, "ListObjectsV2 " + Describe(prefix) +
                                             ": truncated answer without NextContinuationToken");
    }
  }
}

Status S3Client::ListPage(const std::string& prefix) const {
  Call call;
  call.method = "GET";
  call.what = "ListObjectsV2";
  call.query = {{"list-type", "2"}, {"max-keys", "1"}};
  if (!prefix.empty()) call.query.emplace_back("prefix", prefix);
  auto r = Perform(call);
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::vector<MultipartUploadInfo>> S3Client::ListMultipartUploads(const std::string& prefix) const {
  std::vector<MultipartUploadInfo> out;
  std::string key_marker, upload_marker;
  for (;;) {
    Call call;
    call.method = "GET";
    call.what = "ListMultipartUploads";
    call.query = {{"uploads", ""}};
    if (!prefix.empty()) call.query.emplace_back("prefix", prefix);
    if (!key_marker.empty()) call.query.emplace_back("key-marker", key_marker);
    if (!upload_marker.empty()) call.query.emplace_back("upload-id-marker", upload_marker);
    auto r = Perform(call);
    if (!r.ok()) return r.status();
    for (std::string_view block : XmlBlocks(r->body, "Upload")) {
      out.push_back({XmlElement(block, "Key").value_or(""), XmlElement(block, "UploadId").value_or(""),
                     XmlElement(block, "Initiated").value_or("")});
    }
    if (XmlElement(r->body, "IsTruncated").value_or("false") != "true") return out;
    key_marker = XmlElement(r->body, "NextKeyMarker").value_or("");
    upload_marker = XmlElement(r->body, "NextUploadIdMarker").value_or("");
    if (key_marker.empty() && upload_marker.empty()) return out;
  }
}

}  // namespace radflow::objstore
