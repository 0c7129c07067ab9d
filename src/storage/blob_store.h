// BlobStore: the stored Part-10 files, on the local filesystem. A blob is written to a
// temporary file, fsync'ed, renamed into place and its directory fsync'ed, so that a blob
// that exists under its final name is complete and durable.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/status.h"

namespace radflow::storage {

class BlobStore {
 public:
  // Creates root/ and root/tmp if needed. With remove_stale_temp, temporary files from an
  // earlier crash are removed (they were never acknowledged) — only for the one process that
  // owns the data directory (the server, `check --repair`): another process's in-flight
  // stores live there too.
  static Result<BlobStore> Open(const std::string& root, bool remove_stale_temp = true);

  // A fresh path under root/tmp for a writer (a DIMSE receiver, an HTTP part) to fill.
  std::string NewTempPath() const;
  // Writes bytes to a fresh temporary file; returns its path.
  Result<std::string> WriteTemp(std::string_view bytes) const;

  // A new, unique relative path for a blob ("ab/<32 hex>.dcm").
  std::string NewBlobName() const;
  // Makes the temporary file durable under `relative` (from NewBlobName): fdatasync,
  // rename, fsync of the directory. On failure the temporary file is left for the caller.
  Status CommitAs(const std::string& temp_path, const std::string& relative) const;
  // The two halves of CommitAs: the data made durable (fdatasync of the temporary file),
  // then the name (rename to `relative`, fsync of its directory).
  Status SyncTemp(const std::string& temp_path) const;
  Status PublishAs(const std::string& temp_path, const std::string& relative) const;
  // CommitAs under a new name, which is returned.
  Result<std::string> Commit(const std::string& temp_path) const;

  std::string AbsolutePath(const std::string& relative) const;
  Result<std::string> Read(const std::string& relative) const;
  Status Remove(const std::string& relative) const;
  // fsync(2) of a directory, so that entries created or removed in it are durable.
  static Status SyncDirectory(const std::string& path);
  // True if the two files have identical bytes.
  static Result<bool> SameContent(const std::string& a, const std::string& b);

  // Calls fn(relative_path, size) for every file under the root but tmp/: the committed
  // blobs, and anything else someone put there (which `check` reports).
  Status ForEach(const std::function<void(const std::string&, uint64_t)>& fn) const;

  const std::string& root() const { return root_; }

 private:
  explicit BlobStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace radflow::storage
