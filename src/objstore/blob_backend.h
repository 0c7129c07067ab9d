// What a blob root on a shared filesystem needs (CheckSharedRoot). The blob interface
// itself is storage::BlobStore (storage/blob_store.h), with its folder implementation
// there and the object-store one in object_blob_store.h.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace radflow::objstore {

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
