// A node-local read-through cache of immutable blobs: files under a directory, bounded in
// bytes, least recently used evicted first, one download per key at a time (the others
// wait for it). radflow's blob names are unique and never rewritten, so a cached copy is
// never stale; another node's Remove leaves a copy here that nobody asks for until LRU
// takes it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"

namespace radflow::objstore {

class ReadCache {
 public:
  // Fills `path` (a fresh file in the cache's staging folder) with the blob's bytes.
  using Fetch = std::function<Status(const std::string& relative, const std::string& path)>;

  // Creates dir (and dir/.staging); entries left by an earlier run are taken in, oldest
  // first by modification time. A path handed out is not evicted for min_age (a reader
  // opens it right after LocalPath returns; once open, an unlink does not disturb it).
  static Result<std::unique_ptr<ReadCache>> Open(const std::string& dir, uint64_t max_bytes, Fetch fetch,
                                                 std::chrono::milliseconds min_age = std::chrono::seconds(30));

  // The cached file's path; on a miss, downloads it first (single-flight per key).
  Result<std::string> LocalPath(const std::string& relative);
  // Moves a file that is already complete (a blob just uploaded) into the cache.
  Status Adopt(const std::string& relative, const std::string& file);
  // Drops an entry (the blob was removed).
  void Forget(const std::string& relative);

  uint64_t bytes() const;
  size_t entries() const;
  bool Contains(const std::string& relative) const;
  uint64_t misses() const;
  std::string staging_dir() const { return dir_ + "/.staging"; }
  std::string PathOf(const std::string& relative) const { return dir_ + "/" + relative; }

 private:
  ReadCache(std::string dir, uint64_t max_bytes, Fetch fetch, std::chrono::milliseconds min_age)
      : dir_(std::move(dir)), max_bytes_(max_bytes), fetch_(std::move(fetch)), min_age_(min_age) {}
  struct Entry {
    uint64_t size = 0;
    std::chrono::steady_clock::time_point last_use;
    std::list<std::string>::iterator lru;
  };
  struct Flight {
    bool done = false;
    Status status;
  };
  Status Insert(const std::string& relative, const std::string& staged);  // mu_ held
  void EvictLocked();
  void TouchLocked(const std::string& relative, Entry& e);
  // Drops an entry's bookkeeping (map, LRU list, byte count); its file is the caller's.
  void EraseLocked(std::map<std::string, Entry>::iterator e);

  const std::string dir_;
  const uint64_t max_bytes_;
  const Fetch fetch_;
  const std::chrono::milliseconds min_age_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front: most recently used
  std::map<std::string, std::shared_ptr<Flight>> flights_;
  uint64_t bytes_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace radflow::objstore
