// Blobs in an S3-compatible object store (docs/storage-backends.md). A blob is written to
// a node-local temporary file under --data, uploaded to PREFIX/<relative> (one PutObject up
// to the multipart threshold, a multipart upload above it), and SyncTempAs returns Ok only
// after S3 answered 200: the object is durable before the index row that names it is
// committed, and so before the sender's acknowledgement. Reads go through a node-local
// read-through cache (ReadCache) so that the path-based readers open a local file.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "objstore/blob_backend.h"
#include "objstore/read_cache.h"
#include "objstore/s3_client.h"

namespace radflow::objstore {

struct ObjectBlobStoreOptions {
  // Node-local folders (under --data): temporary files, and the read cache.
  std::string temp_dir;
  std::string cache_dir;
  uint64_t cache_bytes = 4ull << 30;
  std::chrono::milliseconds cache_min_age = std::chrono::seconds(30);
};

class ObjectBlobStore : public BlobBackend {
 public:
  // Checks that the bucket answers (a ListObjectsV2 of one key under the prefix) so that a
  // wrong endpoint, bucket or key fails at start-up, naming S3's error.
  static Result<std::unique_ptr<ObjectBlobStore>> Open(S3Config config, std::string prefix,
                                                       ObjectBlobStoreOptions options);

  std::string NewTempPath() const override;
  std::string NewBlobName() const override;
  Status SyncTempAs(const std::string& temp_path, const std::string& relative) override;
  Status PublishAs(const std::string& temp_path, const std::string& relative) override;
  Result<std::string> LocalPath(const std::string& relative) override;
  // A byte range of a blob without caching the whole of it (a frame of a large
  // multi-frame object).
  Result<std::string> ReadRange(const std::string& relative, uint64_t offset, uint64_t length) const;
  Status Remove(const std::string& relative) override;
  Status ForEach(const std::function<void(const std::string&, uint64_t)>& fn) const override;
  std::string Describe() const override;

  std::string KeyOf(const std::string& relative) const { return prefix_.empty() ? relative : prefix_ + "/" + relative; }
  S3Client& client() { return *client_; }
  ReadCache& cache() { return *cache_; }

 private:
  ObjectBlobStore(std::unique_ptr<S3Client> client, std::string prefix, ObjectBlobStoreOptions options)
      : client_(std::move(client)), prefix_(std::move(prefix)), options_(std::move(options)) {}
  std::unique_ptr<S3Client> client_;
  std::string prefix_;
  ObjectBlobStoreOptions options_;
  std::unique_ptr<ReadCache> cache_;
};

// "--storage": a directory (the filesystem backend, shared or not) or s3://BUCKET/PREFIX
// with the endpoint from --s3-endpoint (else AWS's regional endpoint), the region from
// AWS_REGION / AWS_DEFAULT_REGION (default us-east-1), path-style unless
// RADFLOW_S3_VIRTUAL_HOSTED=1, and the credentials from S3Credentials::FromEnvironment.
// data_dir keeps the node-local folders (DATA/tmp/objstore, DATA/blob-cache).
struct StorageLocation {
  std::string storage;      // DIR or s3://BUCKET/PREFIX
  std::string s3_endpoint;  // optional
  std::string data_dir;
  uint64_t cache_bytes = 4ull << 30;
};
Result<std::unique_ptr<BlobBackend>> OpenBlobBackend(const StorageLocation& where);

}  // namespace radflow::objstore
