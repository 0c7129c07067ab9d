#include "storage/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string_view>
#include <unordered_set>

namespace fs = std::filesystem;

namespace radflow::storage {

namespace {

std::string RandomHex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s(n, '0');
  uint64_t bits = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i % 16 == 0) bits = rng();
    s[i] = kHex[bits & 0xF];
    bits >>= 4;
  }
  return s;
}

Status Errno(const std::string& what, const std::string& path) {
  return {ErrorCode::kIoError, what + " " + path + ": " + std::strerror(errno)};
}

Status SyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  int rc = (flags & O_DIRECTORY) ? ::fsync(fd) : ::fdatasync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync", path);
  return Status::Ok();
}

// A node id names a folder under root/tmp: one path component of a safe alphabet.
bool ValidNodeId(const std::string& id) {
  if (id.empty() || id.size() > 128 || id == "." || id == "..") return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

Result<FolderBlobStore> FolderBlobStore::Open(const std::string& root, bool remove_stale_temp,
                                              const std::string& node_id) {
  if (!node_id.empty() && !ValidNodeId(node_id)) {
    return {ErrorCode::kInvalidArgument, "node id \"" + node_id +
                                             "\" is not a folder name (letters, digits, '-', '_', '.')"};
  }
  const fs::path temp = node_id.empty() ? fs::path(root) / "tmp" : fs::path(root) / "tmp" / node_id;
  std::error_code ec;
  fs::create_directories(temp, ec);
  if (ec) return {ErrorCode::kIoError, "cannot create " + temp.string() + ": " + ec.message()};
  if (remove_stale_temp) {
    // Files only: on a root without node ids, other nodes' folders (tmp/<id>/) stay.
    for (const auto& e : fs::directory_iterator(temp, ec)) {
      if (e.is_regular_file(ec)) fs::remove(e.path(), ec);
    }
  }
  const std::string abs_root = fs::absolute(root).lexically_normal().string();
  FolderBlobStore store(abs_root, fs::absolute(temp).lexically_normal().string(), node_id);
  static const char* kHex = "0123456789abcdef";
  bool created = false;
  for (int i = 0; i < 256; ++i) {
    std::string dir = store.root_ + "/" + kHex[i >> 4] + kHex[i & 15];
    if (::mkdir(dir.c_str(), 0755) == 0) created = true;
    else if (errno != EEXIST) return Errno("mkdir", dir);
  }
  if (created) RADFLOW_RETURN_IF_ERROR(SyncPath(store.root_, O_DIRECTORY));
  return store;
}

std::string FolderBlobStore::NewTempPath() const {
  return temp_dir_ + "/" + RandomHex(24) + ".part";
}

namespace {
constexpr std::string_view kUnnamedPrefix = "/proc/self/fd/";

// The descriptors NewUnnamedTemp handed out and nobody has given up yet: a path is an
// unnamed temporary only if it names one of them exactly, so that no other path (an AI
// worker names its results) can make DiscardTemp close a descriptor it does not own.
std::mutex g_unnamed_mu;
std::unordered_set<int> g_unnamed;

// The descriptor of an unnamed temporary, or -1.
int UnnamedFd(const std::string& temp_path) {
  if (temp_path.compare(0, kUnnamedPrefix.size(), kUnnamedPrefix) != 0) return -1;
  const char* first = temp_path.data() + kUnnamedPrefix.size();
  const char* last = temp_path.data() + temp_path.size();
  int fd = -1;
  auto [end, ec] = std::from_chars(first, last, fd);
  if (ec != std::errc() || end != last || first == last) return -1;  // digits only
  std::lock_guard<std::mutex> g(g_unnamed_mu);
  return g_unnamed.count(fd) ? fd : -1;
}
}  // namespace

std::string FolderBlobStore::NewUnnamedTemp() const {
  if (Shared()) return NewTempPath();
  int fd = ::open(temp_dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) return NewTempPath();  // EOPNOTSUPP, EISDIR: no O_TMPFILE here
  std::lock_guard<std::mutex> g(g_unnamed_mu);
  g_unnamed.insert(fd);
  return std::string(kUnnamedPrefix) + std::to_string(fd);
}

bool BlobStore::IsUnnamedTemp(const std::string& temp_path) { return UnnamedFd(temp_path) >= 0; }

void BlobStore::DiscardTemp(const std::string& temp_path) {
  const int fd = UnnamedFd(temp_path);
  if (fd < 0) {
    ::unlink(temp_path.c_str());
    return;
  }
  {
    std::lock_guard<std::mutex> g(g_unnamed_mu);
    g_unnamed.erase(fd);
  }
  ::close(fd);
}

Result<std::string> BlobStore::WriteTemp(std::string_view bytes) const {
  std::string path = NewTempPath();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", path);
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Errno("write", path);
      ::close(fd);
      ::unlink(path.c_str());
      return st;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd);
  return path;
}

std::string BlobStore::NewBlobName() {
  // One level of 256 directories, created at Open: no directory is created on the hot
  // path. The random name keeps concurrent writers of the same SOP Instance UID apart.
  std::string name = RandomHex(32);
  return name.substr(0, 2) + "/" + name + ".dcm";
}

Status FolderBlobStore::SyncTemp(const std::string& temp_path) const {
  return SyncPath(temp_path, O_RDONLY);
}

Status FolderBlobStore::PublishAs(const std::string& temp_path, const std::string& relative) const {
  std::string final_path = root_ + "/" + relative;
  if (IsUnnamedTemp(temp_path)) {
    // open(2), O_TMPFILE: linkat through /proc gives the unnamed file its name.
    if (::linkat(AT_FDCWD, temp_path.c_str(), AT_FDCWD, final_path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      return Errno("link", final_path);
    }
  } else if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    return Errno("rename", final_path);
  }
  // The new name is durable only once its directory is (rename(2) and fsync(2)).
  return SyncPath(root_ + "/" + relative.substr(0, 2), O_DIRECTORY);
}

Status BlobStore::CommitAs(const std::string& temp_path, const std::string& relative) const {
  RADFLOW_RETURN_IF_ERROR(SyncTempAs(temp_path, relative));
  return PublishAs(temp_path, relative);
}

Result<std::string> BlobStore::Commit(const std::string& temp_path) const {
  std::string relative = NewBlobName();
  RADFLOW_RETURN_IF_ERROR(CommitAs(temp_path, relative));
  return relative;
}

std::string FolderBlobStore::AbsolutePath(const std::string& relative) const {
  return root_ + "/" + relative;
}

Result<std::string> FolderBlobStore::LocalPath(const std::string& relative) const {
  std::string path = AbsolutePath(relative);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return {errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIoError,
            "blob " + relative + " in " + root_ + ": " + std::strerror(errno)};
  }
  return path;
}

Result<uint64_t> FolderBlobStore::Size(const std::string& relative) const {
  struct stat st {};
  if (::stat(AbsolutePath(relative).c_str(), &st) != 0) {
    return {errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIoError,
            "blob " + relative + " in " + root_ + ": " + std::strerror(errno)};
  }
  return static_cast<uint64_t>(st.st_size);
}

Result<std::string> BlobStore::Read(const std::string& relative) const {
  auto path = LocalPath(relative);
  if (!path.ok()) return path.status();
  std::ifstream in(path.value(), std::ios::binary);
  if (!in) return {ErrorCode::kNotFound, "blob not found: " + relative};
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return data;
}

Status BlobStore::SyncDirectory(const std::string& path) { return SyncPath(path, O_DIRECTORY); }

Status FolderBlobStore::Remove(const std::string& relative) const {
  if (::unlink(AbsolutePath(relative).c_str()) != 0 && errno != ENOENT) {
    return Errno("unlink", AbsolutePath(relative));
  }
  return Status::Ok();
}

Result<bool> BlobStore::SameContent(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  auto sa = fs::file_size(a, ec1), sb = fs::file_size(b, ec2);
  if (ec1 || ec2) return {ErrorCode::kIoError, "cannot stat " + (ec1 ? a : b)};
  if (sa != sb) return false;
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  if (!fa || !fb) return {ErrorCode::kIoError, "cannot open " + (!fa ? a : b)};
  std::vector<char> ba(1 << 16), bb(1 << 16);
  while (fa && fb) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    if (fa.gcount() != fb.gcount()) return false;
    if (std::memcmp(ba.data(), bb.data(), static_cast<size_t>(fa.gcount())) != 0) return false;
  }
  return true;
}

Status BlobStore::ForEach(const std::function<void(const std::string&, uint64_t)>& fn) const {
  return List([&](const BlobEntry& e) { fn(e.relative, e.size); });
}

Status FolderBlobStore::List(const std::function<void(const BlobEntry&)>& fn) const {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory()) {
      if (it.depth() == 0 && it->path().filename() == "tmp") it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0) continue;  // removed meanwhile (another node)
    BlobEntry e;
    e.relative = fs::relative(it->path(), root_).string();
    e.size = static_cast<uint64_t>(st.st_size);
    e.modified = std::chrono::system_clock::from_time_t(st.st_mtime);
    fn(e);
  }
  if (ec) return {ErrorCode::kIoError, "cannot list " + root_ + ": " + ec.message()};
  return Status::Ok();
}

}  // namespace radflow::storage
