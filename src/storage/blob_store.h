// BlobStore: where the stored Part-10 files ("blobs") live, behind one interface that every
// reader and writer uses (docs/storage-backends.md). Two implementations: FolderBlobStore
// (below: DATA/blobs, or a folder several nodes share, e.g. NFS) and objstore's
// ObjectBlobStore (an S3-compatible object store; objstore depends on storage, not the
// reverse; server::Hub picks one from --storage).
//
// Writing: a writer fills a node-local temporary file (NewTempPath / NewUnnamedTemp),
// SyncTempAs makes its bytes durable under the name it will get, PublishAs makes that name
// visible. Reading: LocalPath gives a local file with the blob's bytes (the file itself, or
// a copy in the node-local read cache), or an error Status when the blob cannot be had.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace radflow::storage {

class FolderBlobStore;

// One stored blob, as a listing gives it.
struct BlobEntry {
  std::string relative;
  uint64_t size = 0;
  std::chrono::system_clock::time_point modified;  // mtime, or S3's LastModified
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // A folder store (FolderBlobStore::Open): `root`'s blobs, temporary files in root/tmp
  // (or root/tmp/<node_id> when several nodes share the root).
  static Result<FolderBlobStore> Open(const std::string& root, bool remove_stale_temp = true,
                                      const std::string& node_id = "");

  // A fresh node-local path for a writer (a DIMSE receiver, an HTTP part) to fill.
  virtual std::string NewTempPath() const = 0;
  // The folder those paths are in (this node's own): for other writers' working files
  // (the AI engine's), which are then stored through ingest.
  virtual std::string TempDir() const = 0;
  // An unnamed temporary file (Linux O_TMPFILE), as "/proc/self/fd/N", which a writer
  // opens like any path (truncating); where there is none (NFS, a shared root, S3), a
  // NewTempPath. See IsUnnamedTemp / DiscardTemp.
  virtual std::string NewUnnamedTemp() const { return NewTempPath(); }
  // True for a path from NewUnnamedTemp not yet given up (its descriptor is owned by
  // whoever holds the path); any other path, /proc or not, is a named file.
  static bool IsUnnamedTemp(const std::string& temp_path);
  // Gives a temporary file up: unlinks a named one, closes an unnamed one's descriptor.
  static void DiscardTemp(const std::string& temp_path);
  // Writes bytes to a fresh temporary file; returns its path.
  Result<std::string> WriteTemp(std::string_view bytes) const;

  // A new, unique relative path for a blob ("ab/<32 hex>.dcm"; the same on every backend,
  // so an index moves between them unchanged).
  static std::string NewBlobName();
  // The bytes made durable under `relative`. Folder: fdatasync of the temporary file (the
  // name comes with PublishAs). Object store: the upload to its final key, Ok only on S3's
  // 200. On failure the temporary file is left for the caller.
  virtual Status SyncTempAs(const std::string& temp_path, const std::string& relative) const = 0;
  // The name made durable. Folder: rename (or link, for an unnamed temporary) and fsync of
  // its directory. Object store: nothing remote; the file moves into the read cache. The
  // caller then gives the temporary up with DiscardTemp either way.
  virtual Status PublishAs(const std::string& temp_path, const std::string& relative) const = 0;
  // Both halves.
  Status CommitAs(const std::string& temp_path, const std::string& relative) const;
  // CommitAs under a new name, which is returned.
  Result<std::string> Commit(const std::string& temp_path) const;

  // A local file with the blob's bytes, for the path-based readers. Object store: a copy
  // in the bounded node-local read cache, downloaded on a miss; a file a reader has open
  // stays readable when the cache evicts it (unlink semantics). NotFound (or the store's
  // error) when the blob cannot be had: never a path to a missing file.
  virtual Result<std::string> LocalPath(const std::string& relative) const = 0;
  Result<std::string> Read(const std::string& relative) const;
  // The stored size (stat, or HeadObject: the store's, not a cached copy's); NotFound when
  // there is no such blob.
  virtual Result<uint64_t> Size(const std::string& relative) const = 0;
  virtual Status Remove(const std::string& relative) const = 0;
  // Calls fn for every stored blob (folder: every file under the root but tmp/, and
  // anything else someone put there, which `check` reports).
  virtual Status List(const std::function<void(const BlobEntry&)>& fn) const = 0;
  // The same, as (relative path, size).
  Status ForEach(const std::function<void(const std::string&, uint64_t)>& fn) const;
  // Whether other nodes read these blobs (a shared folder, S3): then a blob must be durable
  // at its final name before its index row commits (docs/storage-backends.md, "Order of
  // durability"), and no node may remove index rows it thinks interrupted.
  virtual bool Shared() const = 0;
  // "file:/srv/radflow/blobs", "s3://bucket/prefix (endpoint …)" for logs.
  virtual std::string Describe() const = 0;

  // fsync(2) of a directory, so that entries created or removed in it are durable.
  static Status SyncDirectory(const std::string& path);
  // True if the two files have identical bytes.
  static Result<bool> SameContent(const std::string& a, const std::string& b);
};

// Blobs in a folder: write to a temporary file, fdatasync, rename (or link) into place,
// fsync of the directory, so that a blob that exists under its final name is complete and
// durable.
class FolderBlobStore : public BlobStore {
 public:
  // Creates root/ and its temporary folder if needed: root/tmp, or root/tmp/<node_id> when
  // a node id is given (a root that several nodes share: rename(2) stays on one
  // filesystem, and each node's files stay apart). With remove_stale_temp, the temporary
  // files an earlier crash left in this node's folder are removed (never acknowledged):
  // only for the one process that owns the data directory (the server, `check --repair`).
  // Another node's folder is never touched.
  static Result<FolderBlobStore> Open(const std::string& root, bool remove_stale_temp = true,
                                      const std::string& node_id = "");

  std::string NewTempPath() const override;
  std::string TempDir() const override { return temp_dir_; }
  // O_TMPFILE in the temporary folder; on a shared root (a node id), always a named file:
  // O_TMPFILE is node-local, NFS has none, and the blob is linked before its row commits.
  std::string NewUnnamedTemp() const override;
  Status SyncTempAs(const std::string& temp_path, const std::string&) const override { return SyncTemp(temp_path); }
  Status SyncTemp(const std::string& temp_path) const;
  Status PublishAs(const std::string& temp_path, const std::string& relative) const override;
  Result<std::string> LocalPath(const std::string& relative) const override;
  Result<uint64_t> Size(const std::string& relative) const override;
  Status Remove(const std::string& relative) const override;
  Status List(const std::function<void(const BlobEntry&)>& fn) const override;
  bool Shared() const override { return !node_id_.empty(); }
  std::string Describe() const override { return "file:" + root_; }

  // The path a blob has (or would have) in the folder, whether or not it exists.
  std::string AbsolutePath(const std::string& relative) const;
  const std::string& root() const { return root_; }
  const std::string& temp_dir() const { return temp_dir_; }

 private:
  FolderBlobStore(std::string root, std::string temp_dir, std::string node_id)
      : root_(std::move(root)), temp_dir_(std::move(temp_dir)), node_id_(std::move(node_id)) {}
  std::string root_;
  std::string temp_dir_;
  std::string node_id_;
};

inline Result<FolderBlobStore> BlobStore::Open(const std::string& root, bool remove_stale_temp,
                                               const std::string& node_id) {
  return FolderBlobStore::Open(root, remove_stale_temp, node_id);
}

}  // namespace radflow::storage
