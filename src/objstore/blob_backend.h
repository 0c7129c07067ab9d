// Where the stored Part-10 files live, behind one interface: the local or shared filesystem
// (storage::BlobStore, which a shared NFS path also uses) or an S3-compatible object store
// (ObjectBlobStore). The server switches its callers from storage::BlobStore to this in a
// later step (docs/storage-backends.md, "What is left").
//
// The durability contract is BlobStore's: a writer fills a node-local temporary file
// (NewTempPath), SyncTempAs makes its bytes durable under the name it will get, PublishAs
// makes that name visible; only then is the index row committed and the sender answered.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/blob_store.h"

namespace radflow::objstore {

class BlobBackend {
 public:
  virtual ~BlobBackend() = default;

  // A fresh node-local path for a writer to fill (a DIMSE receiver, an HTTP part).
  virtual std::string NewTempPath() const = 0;
  // A new unique relative name ("ab/<32 hex>.dcm").
  virtual std::string NewBlobName() const = 0;
  // The bytes made durable. Filesystem: fdatasync of the temporary file (the name comes in
  // PublishAs). Object store: the upload itself, to its final key, which returns only once
  // S3 acknowledged the PUT (or CompleteMultipartUpload); nobody reads that key before the
  // index names it.
  virtual Status SyncTempAs(const std::string& temp_path, const std::string& relative) = 0;
  // The name made durable. Filesystem: rename and directory fsync. Object store: nothing
  // remote is left to do; the temporary file moves into the read cache (a just-stored blob
  // is read soon: SeriesStable, AI jobs). On success the temporary file is gone.
  virtual Status PublishAs(const std::string& temp_path, const std::string& relative) = 0;
  // Both, under a name of our own, which is returned.
  Result<std::string> Commit(const std::string& temp_path);
  Status CommitAs(const std::string& temp_path, const std::string& relative);

  // A local file with the blob's bytes for the path-based readers (frame cache, WADO-RS,
  // the AI engine): the file itself, or a read-through cached copy downloaded on a miss.
  virtual Result<std::string> LocalPath(const std::string& relative) = 0;
  Result<std::string> Read(const std::string& relative);
  virtual Status Remove(const std::string& relative) = 0;
  // Every stored blob (relative name, size), for `radflow check`.
  virtual Status ForEach(const std::function<void(const std::string&, uint64_t)>& fn) const = 0;
  // "file:/srv/radflow/blobs", "s3://bucket/prefix (endpoint …)" for logs.
  virtual std::string Describe() const = 0;
};

// The filesystem backend over storage::BlobStore (a local disk or a shared mount).
class FileBlobBackend : public BlobBackend {
 public:
  explicit FileBlobBackend(storage::BlobStore store) : store_(std::move(store)) {}
  std::string NewTempPath() const override { return store_.NewTempPath(); }
  std::string NewBlobName() const override { return store_.NewBlobName(); }
  Status SyncTempAs(const std::string& temp_path, const std::string&) override { return store_.SyncTemp(temp_path); }
  Status PublishAs(const std::string& temp_path, const std::string& relative) override {
    return store_.PublishAs(temp_path, relative);
  }
  Result<std::string> LocalPath(const std::string& relative) override;
  Status Remove(const std::string& relative) override { return store_.Remove(relative); }
  Status ForEach(const std::function<void(const std::string&, uint64_t)>& fn) const override {
    return store_.ForEach(fn);
  }
  std::string Describe() const override { return "file:" + store_.root(); }
  const storage::BlobStore& store() const { return store_; }

 private:
  storage::BlobStore store_;
};

// What a blob root on a shared filesystem must give for the temp → fsync → rename
// discipline, checked at start-up: root/tmp on the same filesystem as the blob folders
// (rename(2) across filesystems fails with EXDEV) is an error; on NFS, a `nocto` mount
// (close-to-open consistency is what makes another node see a renamed file whole) or a
// `soft` one is a warning, and so is the reminder that the export must be `sync`.
struct SharedRootReport {
  std::string filesystem;  // "ext4", "nfs4", "xfs" … from /proc/self/mounts
  std::string mount_options;
  std::vector<std::string> warnings;
};
Result<SharedRootReport> CheckSharedRoot(const std::string& root);

}  // namespace radflow::objstore
