#include "objstore/blob_backend.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace radflow::objstore {

namespace {

// The /proc/self/mounts line whose mount point is the longest prefix of `path`.
void MountOf(const std::string& path, std::string* type, std::string* options) {
  std::ifstream in("/proc/self/mounts");
  std::string line;
  size_t best = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string dev, mnt, fstype, opts;
    if (!(f >> dev >> mnt >> fstype >> opts)) continue;
    const bool prefix = path == mnt || (path.rfind(mnt, 0) == 0 && (mnt == "/" || path[mnt.size()] == '/'));
    if (prefix && mnt.size() >= best) {
      best = mnt.size();
      *type = fstype;
      *options = opts;
    }
  }
}

bool HasOption(const std::string& options, const std::string& name) {
  std::istringstream in(options);
  std::string o;
  while (std::getline(in, o, ',')) {
    if (o == name) return true;
  }
  return false;
}

}  // namespace

Result<SharedRootReport> CheckSharedRoot(const std::string& root) {
  struct stat blobs {}, tmp {};
  const std::string tmp_dir = root + "/tmp";
  if (::stat(root.c_str(), &blobs) != 0) {
    return Status(ErrorCode::kIoError, "stat " + root + ": " + std::strerror(errno));
  }
  if (::stat(tmp_dir.c_str(), &tmp) != 0) {
    return Status(ErrorCode::kIoError, "stat " + tmp_dir + ": " + std::strerror(errno));
  }
  if (blobs.st_dev != tmp.st_dev) {
    return Status(ErrorCode::kInvalidArgument,
                  tmp_dir + " is on another filesystem than " + root +
                      ": a blob is published by rename(2), which cannot cross filesystems (EXDEV); "
                      "mount the shared storage so that its tmp/ is inside it");
  }
  SharedRootReport report;
  char real[PATH_MAX];
  std::string resolved = ::realpath(root.c_str(), real) ? real : root;
  MountOf(resolved, &report.filesystem, &report.mount_options);
  if (report.filesystem.rfind("nfs", 0) == 0) {
    if (HasOption(report.mount_options, "nocto")) {
      report.warnings.push_back(root + " is mounted with nocto: another node may see a published blob before "
                                       "its bytes (close-to-open consistency is needed)");
    }
    if (HasOption(report.mount_options, "soft")) {
      report.warnings.push_back(root + " is a soft NFS mount: a timeout can fail an fsync after the server took "
                                       "the write; use hard");
    }
    report.warnings.push_back("NFS: the server's export must be `sync` (an `async` export acknowledges COMMIT "
                              "before the data is on stable storage, and fsync then proves nothing)");
  }
  return report;
}

}  // namespace radflow::objstore
