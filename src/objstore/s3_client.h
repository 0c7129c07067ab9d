// An S3 client for radflow's object-store blob backend (docs/storage-backends.md): AWS
// Signature V4 over libcurl, path-style or virtual-hosted addressing, PutObject up to a
// threshold and multipart upload above it, GetObject (whole or a byte range) into a local
// file, HeadObject, DeleteObject, ListObjectsV2 with continuation. libcurl stays in
// s3_client.cpp. Errors name the S3 error code and message from the answer's XML.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::objstore {

struct S3Credentials {
  std::string access_key, secret_key, session_token;
  // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the shared
  // credentials file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials), section
  // AWS_PROFILE (default "default"). NotFound naming both places when neither has a key.
  static Result<S3Credentials> FromEnvironment();
  // One profile of a credentials file (INI: [profile] aws_access_key_id = …).
  static Result<S3Credentials> FromFile(const std::string& path, const std::string& profile);
};

struct S3Config {
  // Scheme, host and optional port: "https://s3.eu-central-1.amazonaws.com",
  // "http://127.0.0.1:9000". No path.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  // Path-style (endpoint/bucket/key): what MinIO, Ceph RGW and s3rver expect by default.
  // Virtual-hosted (bucket.endpoint/key): what AWS prefers; needs DNS for bucket.host.
  bool path_style = true;
  S3Credentials credentials;
  uint64_t multipart_threshold = 16ull << 20;  // objects above this go multipart
  uint64_t part_size = 16ull << 20;            // S3's minimum part (but the last) is 5 MiB
  int max_attempts = 4;            // for idempotent requests on 5xx, 429 and transport errors
  int initial_backoff_ms = 100;    // doubled on each retry (with jitter)
  int connect_timeout_ms = 5000;
  int request_timeout_ms = 300000;  // one request, a 16 MiB part included
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;
  std::string last_modified;
};

struct MultipartUploadInfo {
  std::string key, upload_id;
  std::string initiated;  // ISO 8601, as S3 gives it ("" if the server omits it)
};

// A byte range of an object: [offset, offset + length).
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// "s3://BUCKET/PREFIX" → bucket and prefix (without leading or trailing '/'). InvalidArgument
// for anything else.
Result<std::pair<std::string, std::string>> ParseS3Url(const std::string& url);

// Maps an S3 error code (and the HTTP status when there is no code) to a Status code:
// NoSuchKey/NoSuchBucket/NoSuchUpload/404 NotFound, AccessDenied 403 PermissionDenied,
// SignatureDoesNotMatch/InvalidAccessKeyId/ExpiredToken/RequestTimeTooSkewed Unauthenticated,
// 5xx/SlowDown Unavailable, the rest InvalidArgument (4xx) or IoError.
ErrorCode ErrorCodeFor(const std::string& s3_code, long http_status);

class S3Client {
 public:
  explicit S3Client(S3Config config);

  // Single PutObject up to multipart_threshold, multipart above; Ok only once S3 answered
  // 200 to the PUT or to CompleteMultipartUpload (whose 200 can carry an <Error>, which is
  // checked). A failed multipart upload is aborted. Each part carries x-amz-checksum-sha256
  // and the signed payload hash.
  Status PutFile(const std::string& key, const std::string& local_path) const;
  Status PutBytes(const std::string& key, const std::string& bytes) const;
  // Streams the object (or a range of it) into local_path (truncated first).
  Status GetToFile(const std::string& key, const std::string& local_path,
                   std::optional<ByteRange> range = std::nullopt) const;
  Result<std::string> GetBytes(const std::string& key, std::optional<ByteRange> range = std::nullopt) const;
  Result<ObjectInfo> Head(const std::string& key) const;
  // Ok also when the key does not exist (S3 answers 204 either way).
  Status Delete(const std::string& key) const;
  // Every object under prefix, page by page (max_keys each, continuation tokens).
  Status List(const std::string& prefix, const std::function<void(const ObjectInfo&)>& fn,
              int max_keys = 1000) const;

  // One ListObjectsV2 page of at most one key: proves endpoint, bucket and credentials.
  Status ListPage(const std::string& prefix) const;

  // The multipart steps, public for tests and for cleaning up after a crash.
  Result<std::string> CreateMultipartUpload(const std::string& key) const;
  Status AbortMultipartUpload(const std::string& key, const std::string& upload_id) const;
  Result<std::vector<MultipartUploadInfo>> ListMultipartUploads(const std::string& prefix) const;

  const S3Config& config() const { return config_; }
  // "s3://bucket/key" for messages.
  std::string Describe(const std::string& key) const;

  // A hook that tests use to make a step fail: called with the step's name ("UploadPart 2",
  // "Complete") before it is sent; a non-Ok status fails the step as if S3 had.
  std::function<Status(const std::string&)> fault_injection;

 private:
  struct Call;
  struct Response;
  Result<Response> Perform(Call& call) const;
  Result<Response> PerformOnce(Call& call) const;
  Status PutMultipart(const std::string& key, const std::string& local_path, uint64_t size) const;
  Status FaultAt(const std::string& step) const;

  S3Config config_;
  std::string scheme_, host_;  // from the endpoint: "http", "127.0.0.1:9000"
};

}  // namespace radflow::objstore
