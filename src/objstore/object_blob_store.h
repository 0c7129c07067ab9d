// Blobs in an S3-compatible object store (docs/storage-backends.md). A blob is written to
// a node-local temporary file under --data, uploaded to PREFIX/<relative> (one PutObject up
// to the multipart threshold, a multipart upload above it), and SyncTempAs returns Ok only
// after S3 answered 200: the object is durable before the index row that names it is
// committed, and so before the sender's acknowledgement. Reads go through a node-local
// read-through cache (ReadCache) so that the path-based readers open a local file.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <vector>
#include <memory>
#include <string>

#include "storage/blob_store.h"
#include "objstore/read_cache.h"
#include "objstore/s3_client.h"

namespace radflow::objstore {

struct ObjectBlobStoreOptions {
  // Node-local folders (under --data): temporary files, and the read cache.
  std::string temp_dir;
  std::string cache_dir;
  uint64_t cache_bytes = 4ull << 30;
  std::chrono::milliseconds cache_min_age = std::chrono::seconds(30);
  // Remove what an earlier crash left in temp_dir: only for the process that owns the data
  // directory (the server, `check --repair`); another process's stores live there too.
  bool remove_stale_temp = true;
  // The cache is this process's alone (a CLI command beside a running server): removed
  // when the store is destroyed, so that two processes never share one cache's bookkeeping.
  bool private_cache = false;
};

class ObjectBlobStore : public storage::BlobStore {
 public:
  // Checks that the bucket answers (a ListObjectsV2 of one key under the prefix) so that a
  // wrong endpoint, bucket or key fails at start-up, naming S3's error.
  static Result<std::unique_ptr<ObjectBlobStore>> Open(S3Config config, std::string prefix,
                                                       ObjectBlobStoreOptions options);
  ~ObjectBlobStore() override;

  std::string NewTempPath() const override;
  std::string TempDir() const override { return options_.temp_dir; }
  Status SyncTempAs(const std::string& temp_path, const std::string& relative) const override;
  Status PublishAs(const std::string& temp_path, const std::string& relative) const override;
  Result<std::string> LocalPath(const std::string& relative) const override;
  // A byte range of a blob without caching the whole of it (a frame of a large
  // multi-frame object).
  Result<std::string> ReadRange(const std::string& relative, uint64_t offset, uint64_t length) const;
  // HeadObject's size (never the cached copy's: the object may be gone).
  Result<uint64_t> Size(const std::string& relative) const override;
  Status Remove(const std::string& relative) const override;
  Status List(const std::function<void(const storage::BlobEntry&)>& fn) const override;
  bool Shared() const override { return true; }
  std::string Describe() const override;

  // Multipart uploads under the prefix begun before `older_than` ago: a node that crashed
  // mid-upload leaves one, which S3 bills until it is aborted (`radflow check`).
  struct StaleUpload {
    std::string relative, upload_id;
    std::chrono::system_clock::time_point initiated;
  };
  Result<std::vector<StaleUpload>> StaleUploads(std::chrono::seconds older_than) const;
  Status AbortUpload(const StaleUpload& upload) const;

  std::string KeyOf(const std::string& relative) const { return prefix_.empty() ? relative : prefix_ + "/" + relative; }
  S3Client& client() const { return *client_; }
  ReadCache& cache() const { return *cache_; }

 private:
  ObjectBlobStore(std::unique_ptr<S3Client> client, std::string prefix, ObjectBlobStoreOptions options)
      : client_(std::move(client)), prefix_(std::move(prefix)), options_(std::move(options)) {}
  std::unique_ptr<S3Client> client_;
  std::string prefix_;
  ObjectBlobStoreOptions options_;
  std::unique_ptr<ReadCache> cache_;
};

// "--storage": "" (DATA/blobs, this node's alone), a directory (a folder several nodes
// share: temporary files in DIR/tmp/<node_id>/), or s3://BUCKET/PREFIX with the endpoint
// from --s3-endpoint (else AWS's regional endpoint), the region from AWS_REGION /
// AWS_DEFAULT_REGION (default us-east-1), path-style unless RADFLOW_S3_VIRTUAL_HOSTED=1, and
// the credentials from S3Credentials::FromEnvironment. data_dir keeps the node-local
// folders (DATA/tmp/objstore, DATA/blob-cache).
struct StorageLocation {
  std::string storage;      // "", DIR or s3://BUCKET/PREFIX
  std::string s3_endpoint;  // optional
  std::string data_dir;
  std::string node_id;      // a shared folder's temporary folder name (server::ResolveNodeId)
  bool owner = false;       // this process holds the data directory: it may sweep stale temps
  uint64_t cache_bytes = 4ull << 30;
};
Result<std::unique_ptr<storage::BlobStore>> OpenBlobStore(const StorageLocation& where);

// The parse of S3's ISO 8601 timestamps ("2026-12-07T23:40:00.000Z"); nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> ParseS3Time(const std::string& text);

}  // namespace radflow::objstore
