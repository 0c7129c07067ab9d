#include "objstore/read_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "base/random_hex.h"

namespace fs = std::filesystem;

namespace radflow::objstore {

Result<std::unique_ptr<ReadCache>> ReadCache::Open(const std::string& dir, uint64_t max_bytes, Fetch fetch,
                                                   std::chrono::milliseconds min_age) {
  std::error_code ec;
  fs::create_directories(fs::path(dir) / ".staging", ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot create cache " + dir + ": " + ec.message());
  // Half-written downloads of an earlier run.
  for (const auto& e : fs::directory_iterator(fs::path(dir) / ".staging", ec)) fs::remove(e.path(), ec);
  std::unique_ptr<ReadCache> cache(new ReadCache(fs::absolute(dir).lexically_normal().string(), max_bytes,
                                                 std::move(fetch), min_age));
  struct Found {
    std::string relative;
    uint64_t size;
    fs::file_time_type mtime;
  };
  std::vector<Found> found;
  for (auto it = fs::recursive_directory_iterator(cache->dir_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory()) {
      if (it->path().filename() == ".staging") it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    found.push_back({fs::relative(it->path(), cache->dir_).string(), it->file_size(), it->last_write_time()});
  }
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  std::lock_guard<std::mutex> g(cache->mu_);
  const auto long_ago = std::chrono::steady_clock::now() - min_age - std::chrono::hours(1);
  for (const auto& f : found) {  // oldest first: each goes to the front, the newest ends there
    cache->lru_.push_front(f.relative);
    cache->entries_[f.relative] = Entry{f.size, long_ago, cache->lru_.begin()};
    cache->bytes_ += f.size;
  }
  cache->EvictLocked();
  return cache;
}

void ReadCache::TouchLocked(const std::string& relative, Entry& e) {
  lru_.erase(e.lru);
  lru_.push_front(relative);
  e.lru = lru_.begin();
  e.last_use = std::chrono::steady_clock::now();
}

void ReadCache::EraseLocked(std::map<std::string, Entry>::iterator e) {
  bytes_ -= e->second.size;
  lru_.erase(e->second.lru);
  entries_.erase(e);
}

void ReadCache::EvictLocked() {
  const auto now = std::chrono::steady_clock::now();
  // From the least recently used end; entries handed out within min_age stay (the cache may
  // run over its bound for that long).
  for (auto it = lru_.end(); bytes_ > max_bytes_ && it != lru_.begin();) {
    --it;
    auto e = entries_.find(*it);
    if (now - e->second.last_use < min_age_) continue;
    std::error_code ec;
    fs::remove(PathOf(*it), ec);
    ++it;  // EraseLocked drops the node it was on
    EraseLocked(e);
  }
}

Status ReadCache::Insert(const std::string& relative, const std::string& staged) {
  std::error_code ec;
  const uint64_t size = fs::file_size(staged, ec);
  if (ec) return Status(ErrorCode::kIoError, "cannot stat " + staged + ": " + ec.message());
  const std::string final_path = PathOf(relative);
  fs::create_directories(fs::path(final_path).parent_path(), ec);
  // rename(2) within the cache's filesystem: a reader sees the whole file or none.
  if (::rename(staged.c_str(), final_path.c_str()) != 0) {
    return Status(ErrorCode::kIoError, "rename " + staged + " to " + final_path + ": " + std::strerror(errno));
  }
  if (auto old = entries_.find(relative); old != entries_.end()) EraseLocked(old);
  lru_.push_front(relative);
  entries_[relative] = Entry{size, std::chrono::steady_clock::now(), lru_.begin()};
  bytes_ += size;
  EvictLocked();
  return Status::Ok();
}

Result<std::string> ReadCache::LocalPath(const std::string& relative) {
  if (relative.empty() || relative.find("..") != std::string::npos || relative[0] == '/') {
    return Status(ErrorCode::kInvalidArgument, "bad blob name " + relative);
  }
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto e = entries_.find(relative);
      if (e != entries_.end()) {
        TouchLocked(relative, e->second);
        return PathOf(relative);
      }
      auto f = flights_.find(relative);
      if (f == flights_.end()) break;
      auto waiting = f->second;
      cv_.wait(lock, [&] { return waiting->done; });
      if (!waiting->status.ok()) return waiting->status;  // the leader's failure, for all
    }
    flight = std::make_shared<Flight>();
    flights_[relative] = flight;
    ++misses_;
  }
  // The leader downloads outside the lock.
  const std::string staged = staging_dir() + "/" + RandomHex(24);
  Status st = fetch_(relative, staged);
  std::unique_lock<std::mutex> lock(mu_);
  if (st.ok()) st = Insert(relative, staged);
  if (!st.ok()) {
    std::error_code ec;
    fs::remove(staged, ec);
  }
  flight->done = true;
  flight->status = st;
  flights_.erase(relative);
  cv_.notify_all();
  if (!st.ok()) return st;
  return PathOf(relative);
}

Status ReadCache::Adopt(const std::string& relative, const std::string& file) {
  std::lock_guard<std::mutex> g(mu_);
  return Insert(relative, file);
}

void ReadCache::Forget(const std::string& relative) {
  std::lock_guard<std::mutex> g(mu_);
  auto e = entries_.find(relative);
  if (e == entries_.end()) return;
  std::error_code ec;
  fs::remove(PathOf(relative), ec);
  EraseLocked(e);
}

uint64_t ReadCache::bytes() const {
  std::lock_guard<std::mutex> g(mu_);
  return bytes_;
}
size_t ReadCache::entries() const {
  std::lock_guard<std::mutex> g(mu_);
  return entries_.size();
}
bool ReadCache::Contains(const std::string& relative) const {
  std::lock_guard<std::mutex> g(mu_);
  return entries_.count(relative) > 0;
}
uint64_t ReadCache::misses() const {
  std::lock_guard<std::mutex> g(mu_);
  return misses_;
}

}  // namespace radflow::objstore
