// BlobStore: the stored Part-10 files, on the local filesystem. A blob is written to a
// temporary file (named, or unnamed with O_TMPFILE), fsync'ed, renamed (or linked) into
// place and its directory fsync'ed, so that a blob that exists under its final name is
// complete and durable.
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
  // An unnamed temporary file (Linux O_TMPFILE in root/tmp), as "/proc/self/fd/N", which
  // a writer opens like any path (truncating). It has no directory entry until PublishAs
  // links it into place: a crash leaves nothing behind, and its fdatasync has no parent
  // directory to write. Where the filesystem lacks O_TMPFILE, a NewTempPath.
  std::string NewUnnamedTemp() const;
  // True for a path from NewUnnamedTemp not yet given up (its descriptor is owned by
  // whoever holds the path); any other path, /proc or not, is a named file.
  static bool IsUnnamedTemp(const std::string& temp_path);
  // Gives a temporary file up: unlinks a named one, closes an unnamed one's descriptor.
  static void DiscardTemp(const std::string& temp_path);
  // Writes bytes to a fresh temporary file; returns its path.
  Result<std::string> WriteTemp(std::string_view bytes) const;

  // A new, unique relative path for a blob ("ab/<32 hex>.dcm").
  std::string NewBlobName() const;
  // Makes the temporary file durable under `relative` (from NewBlobName): fdatasync,
  // rename, fsync of the directory. On failure the temporary file is left for the caller.
  Status CommitAs(const std::string& temp_path, const std::string& relative) const;
  // The two halves of CommitAs: the data made durable (fdatasync of the temporary file),
  // then the name (rename to `relative`, or link for an unnamed temporary file; fsync of
  // its directory). Either way the caller then gives the temporary up with DiscardTemp
  // (for an unnamed one, that closes its descriptor; a renamed one is already gone).
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
